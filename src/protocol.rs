//! The client-go ExecCredential protocol (client.authentication.k8s.io v1 and
//! v1beta1): reading `KUBERNETES_EXEC_INFO` and writing the answer.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::rfc3339;
use crate::credential::Credential;
use crate::secret::PrivateKey;
use crate::secret::Token;

pub const EXEC_INFO_ENV: &str = "KUBERNETES_EXEC_INFO";
pub const V1: &str = "client.authentication.k8s.io/v1";
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// Errors reading the plugin's input.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The variable is not JSON or not an ExecCredential.
    #[error(
        "malformed {EXEC_INFO_ENV}: {0}; this variable is set by kubectl/client-go, unset it when running by hand"
    )]
    Malformed(String),
    /// An apiVersion this plugin does not speak.
    #[error(
        "unsupported ExecCredential apiVersion {0:?} in {EXEC_INFO_ENV}; set the kubeconfig exec entry's apiVersion to {V1} (or {V1BETA1})"
    )]
    UnsupportedVersion(String),
}

/// What kubectl told us about the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// The apiVersion to answer in.
    pub api_version: &'static str,
    pub interactive: bool,
    /// Present when the exec entry sets `provideClusterInfo: true`.
    pub cluster: Option<ClusterInfo>,
}

/// `spec.cluster` of the ExecCredential input (the fields we use).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClusterInfo {
    pub server: String,
    #[serde(rename = "certificate-authority-data", default)]
    pub certificate_authority_data: Option<String>,
    /// A CA file path: what the Python client sends (the kubeconfig's
    /// cluster entry as it is); it runs the plugin in the kubeconfig's directory.
    #[serde(rename = "certificate-authority", default)]
    pub certificate_authority: Option<String>,
    #[serde(rename = "tls-server-name", default)]
    pub tls_server_name: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    pub insecure_skip_tls_verify: bool,
    #[serde(rename = "proxy-url", default)]
    pub proxy_url: Option<String>,
}

#[derive(Deserialize)]
struct RawInput {
    kind: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    spec: Option<RawSpec>,
}

#[derive(Deserialize)]
struct RawSpec {
    #[serde(default)]
    interactive: bool,
    cluster: Option<ClusterInfo>,
}

impl ExecInfo {
    /// Parses the variable's value; `None` (clients older than 1.20) means v1beta1.
    pub fn parse(value: Option<&str>) -> Result<ExecInfo, ProtocolError> {
        let Some(value) = value else {
            return Ok(ExecInfo {
                api_version: V1BETA1,
                interactive: false,
                cluster: None,
            });
        };
        let raw: RawInput = serde_json::from_str(value)
            .map_err(|e| ProtocolError::Malformed(crate::parse_error::json(&e)))?;
        if raw.kind.as_deref() != Some("ExecCredential") {
            return Err(ProtocolError::Malformed(format!(
                "kind is {:?}, expected \"ExecCredential\"",
                raw.kind.unwrap_or_default()
            )));
        }
        let api_version = match raw.api_version.as_deref() {
            Some(V1) => V1,
            Some(V1BETA1) => V1BETA1,
            other => {
                return Err(ProtocolError::UnsupportedVersion(
                    other.unwrap_or_default().to_string(),
                ));
            }
        };
        let spec = raw.spec.unwrap_or(RawSpec {
            interactive: false,
            cluster: None,
        });
        Ok(ExecInfo {
            api_version,
            interactive: spec.interactive,
            cluster: spec.cluster,
        })
    }

    /// Reads `KUBERNETES_EXEC_INFO` from the environment. Only an unset
    /// variable means "an old client": a blank or non-UTF-8 one is an error,
    /// never silently the admin context's cluster.
    pub fn from_env() -> Result<ExecInfo, ProtocolError> {
        match std::env::var_os(EXEC_INFO_ENV) {
            None => ExecInfo::parse(None),
            Some(v) => match v.to_str() {
                None => Err(ProtocolError::Malformed("it is not UTF-8".into())),
                Some(s) if s.trim().is_empty() => {
                    Err(ProtocolError::Malformed("it is set but empty".into()))
                }
                Some(s) => ExecInfo::parse(Some(s)),
            },
        }
    }
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'static str,
    status: OutputStatus<'a>,
}

#[derive(Serialize)]
struct OutputStatus<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a Token>,
    #[serde(
        rename = "clientCertificateData",
        skip_serializing_if = "Option::is_none"
    )]
    client_certificate_data: Option<&'a str>,
    #[serde(rename = "clientKeyData", skip_serializing_if = "Option::is_none")]
    client_key_data: Option<&'a PrivateKey>,
    #[serde(rename = "expirationTimestamp")]
    expiration_timestamp: String,
}

/// The ExecCredential answer: the only thing `get` writes to stdout. A
/// token, or a client certificate and its key (PEM).
pub fn exec_credential(
    api_version: &str,
    credential: &Credential,
    expires: OffsetDateTime,
) -> String {
    let cert = credential.certificate();
    let out = Output {
        api_version,
        kind: "ExecCredential",
        status: OutputStatus {
            token: credential.token(),
            client_certificate_data: cert.map(|c| c.certificate.as_str()),
            client_key_data: cert.map(|c| &c.key),
            expiration_timestamp: rfc3339(expires),
        },
    };
    // Serializing plain strings cannot fail.
    serde_json::to_string(&out).expect("ExecCredential serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_variable_is_v1beta1() {
        let info = ExecInfo::parse(None).unwrap();
        assert_eq!(info.api_version, V1BETA1);
        assert!(info.cluster.is_none());
    }

    #[test]
    fn parses_v1_with_cluster() {
        let info = ExecInfo::parse(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,"cluster":{"server":"https://127.0.0.1:6443","certificate-authority-data":"Zm9v","config":null}}}"#,
        ))
        .unwrap();
        assert_eq!(info.api_version, V1);
        assert!(!info.interactive);
        let c = info.cluster.unwrap();
        assert_eq!(c.server, "https://127.0.0.1:6443");
        assert_eq!(c.certificate_authority_data.as_deref(), Some("Zm9v"));
    }

    #[test]
    fn parses_v1beta1_without_cluster() {
        let info = ExecInfo::parse(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true}}"#,
        ))
        .unwrap();
        assert_eq!(info.api_version, V1BETA1);
        assert!(info.interactive);
        assert!(info.cluster.is_none());
    }

    #[test]
    fn rejects_other_versions() {
        let err = ExecInfo::parse(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}"#,
        ))
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("v1alpha1") && msg.contains("client.authentication.k8s.io/v1"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_garbage_and_wrong_kind() {
        assert!(matches!(
            ExecInfo::parse(Some("{not json")),
            Err(ProtocolError::Malformed(_))
        ));
        let err = ExecInfo::parse(Some(r#"{"kind":"Pod","apiVersion":"v1"}"#)).unwrap_err();
        assert!(err.to_string().contains("\"Pod\""), "{err}");
    }

    #[test]
    fn output_has_same_version_and_expiry() {
        let t = Credential::Token(Token::new("abc.def.ghi"));
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let out: serde_json::Value = serde_json::from_str(&exec_credential(V1, &t, at)).unwrap();
        assert_eq!(out["apiVersion"], V1);
        assert_eq!(out["kind"], "ExecCredential");
        assert_eq!(out["status"]["token"], "abc.def.ghi");
        assert_eq!(out["status"]["expirationTimestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(out["status"].as_object().unwrap().len(), 2);
    }

    #[test]
    fn a_certificate_goes_out_as_certificate_and_key_data() {
        let c = Credential::Certificate(crate::credential::ClientCertificate {
            certificate: "-----BEGIN CERTIFICATE-----\nC\n".into(),
            key: PrivateKey::new("-----BEGIN PRIVATE KEY-----\nK\n"),
        });
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let out: serde_json::Value =
            serde_json::from_str(&exec_credential(V1BETA1, &c, at)).unwrap();
        let status = out["status"].as_object().unwrap();
        assert_eq!(
            status["clientCertificateData"],
            "-----BEGIN CERTIFICATE-----\nC\n"
        );
        assert_eq!(status["clientKeyData"], "-----BEGIN PRIVATE KEY-----\nK\n");
        assert!(!status.contains_key("token"));
        assert_eq!(status["expirationTimestamp"], "2023-11-14T22:13:20Z");
    }
}
