//! The Vault source: a Vault (or OpenBao) Kubernetes secrets engine mints
//! the ServiceAccount token (`POST MOUNT/creds/ROLE`). A plain client over
//! the HTTP stack the API clients use (kube's, with the same bounds on every
//! answer, proxy rules and TLS), and the calls the source needs: the
//! engine's cluster (`MOUNT/config`), a credential, a lease's revocation and
//! the Vault token's own lookup. The Vault token comes from `VAULT_TOKEN`,
//! `BAO_TOKEN`, else `~/.vault-token` (what `vault login` and `bao login`
//! write); it is sent in the `X-Vault-Token` header only.

use http::{Method, Request, StatusCode};
use kube::Client;
use kube::client::Body;
use serde::Deserialize;

use super::admin::segment;
use super::bounded;
use super::client_config::{apply_timeouts, pem_certs};
use super::error::{chain, find};
use super::proxy::{self, ProxyEnv};
pub use super::vault_error::VaultError;
pub use super::vault_token::token_fingerprint;
use crate::options::VaultRef;
use crate::secret::{Token, VaultToken};

/// Which cluster an engine mints for (its mount's config).
pub struct EngineCluster {
    /// `kubernetes_host`.
    pub server: String,
    /// `kubernetes_ca_cert` (PEM).
    pub ca_pem: Vec<u8>,
}

/// A credential the engine minted.
pub struct VaultCreds {
    pub token: Token,
    pub lease_id: String,
    pub lease_secs: u64,
    pub service_account: String,
    pub namespace: String,
}

/// A client for one Vault server.
pub struct VaultClient {
    client: Client,
    /// The server, and its namespace when there is one, for messages.
    pub(super) address: String,
    /// `X-Vault-Namespace`.
    namespace: Option<http::HeaderValue>,
}

/// Vault's answer envelope.
#[derive(Deserialize)]
pub(super) struct Answer<T> {
    pub(super) data: Option<T>,
    /// A login's token.
    #[serde(default)]
    pub(super) auth: Option<Auth>,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    warnings: Option<Vec<String>>,
}

/// What a login answers (`auth`).
#[derive(Deserialize)]
pub(super) struct Auth {
    pub(super) client_token: VaultToken,
    /// Seconds the token lives; 0: it does not expire.
    #[serde(default)]
    pub(super) lease_duration: u64,
    #[serde(default)]
    pub(super) renewable: bool,
}

impl VaultClient {
    /// A client for `v`'s server: its CA bundle (else the system's roots),
    /// the proxy client-go would use for that URL, the API clients' bounds.
    pub fn new(v: &VaultRef) -> Result<VaultClient, VaultError> {
        let config_err = |detail: String| VaultError::Config {
            address: v.address.clone(),
            detail,
        };
        let uri: http::Uri = v
            .address
            .parse()
            .map_err(|e| config_err(format!("the address does not parse ({e})")))?;
        let mut config = kube::Config::new(uri.clone());
        if let Some(ca) = &v.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| config_err(format!("cannot read --vault-ca {}: {e}", ca.display())))?;
            config.root_cert = Some(
                pem_certs(&pem)
                    .map_err(|e| config_err(format!("--vault-ca {}: {e}", ca.display())))?,
            );
        }
        config.proxy_url = proxy::select(None, &uri, &ProxyEnv::from_env())
            .map_err(|e| config_err(e.to_string()))?;
        apply_timeouts(&mut config);
        let client = bounded::client(config).map_err(|e| config_err(chain(&e)))?;
        let namespace = match &v.namespace {
            Some(ns) => Some(
                http::HeaderValue::from_str(ns)
                    .map_err(|_| config_err(format!("namespace {ns:?} cannot go in a header")))?,
            ),
            None => None,
        };
        Ok(VaultClient {
            client,
            address: v.server(),
            namespace,
        })
    }

    /// Sends one request; the status and the body read whole (bounded).
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&VaultToken>,
        body: Option<serde_json::Value>,
    ) -> Result<(StatusCode, bytes::Bytes), VaultError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("X-Vault-Request", "true");
        if let Some(ns) = &self.namespace {
            req = req.header("X-Vault-Namespace", ns.clone());
        }
        // The one place the Vault token is read: into its header, marked
        // sensitive so that no layer logs it.
        if let Some(token) = token {
            let mut value =
                http::HeaderValue::from_str(token.expose()).map_err(|_| VaultError::Config {
                    address: self.address.clone(),
                    detail: "the Vault token holds characters a header cannot carry".into(),
                })?;
            value.set_sensitive(true);
            req = req.header("X-Vault-Token", value);
        }
        let body = match body {
            Some(b) => {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&b).expect("a JSON value serializes"))
            }
            None => Body::empty(),
        };
        let req = req.body(body).expect("a request from a valid path");
        let res = self.client.send(req).await.map_err(|e| self.transport(e))?;
        let code = res.status();
        let bytes = res
            .into_body()
            .collect_bytes()
            .await
            .map_err(|e| self.transport(e))?;
        Ok((code, bytes))
    }

    fn transport(&self, e: kube::Error) -> VaultError {
        let address = self.address.clone();
        if let Some(b) = find::<bounded::Bounds>(&e) {
            return VaultError::Unreachable {
                address,
                detail: b.to_string(),
            };
        }
        if find::<rustls::Error>(&e).is_some() {
            VaultError::Tls {
                address,
                detail: chain(&e),
            }
        } else {
            VaultError::Unreachable {
                address,
                detail: chain(&e),
            }
        }
    }

    pub(super) fn decode<T: serde::de::DeserializeOwned>(
        &self,
        action: &str,
        bytes: &[u8],
    ) -> Result<T, VaultError> {
        serde_json::from_slice(bytes).map_err(|e| VaultError::BadAnswer {
            address: self.address.clone(),
            action: action.into(),
            detail: crate::parse_error::json(&e),
        })
    }

    /// An error answer to `action`, for which the token needed `needs`.
    pub(super) fn refused(
        &self,
        action: &str,
        needs: &str,
        code: StatusCode,
        body: &[u8],
    ) -> VaultError {
        let message = super::vault_error::message(body);
        match code.as_u16() {
            403 => VaultError::Denied {
                address: self.address.clone(),
                action: action.into(),
                needs: needs.into(),
            },
            code => VaultError::Failed {
                address: self.address.clone(),
                action: action.into(),
                code,
                message,
            },
        }
    }

    /// The cluster the engine at `mount` mints for.
    pub async fn engine_cluster(
        &self,
        token: &VaultToken,
        mount: &str,
    ) -> Result<EngineCluster, VaultError> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(default)]
            kubernetes_host: String,
            #[serde(default)]
            kubernetes_ca_cert: String,
        }
        let action = format!("read {mount}/config");
        let (code, body) = self
            .call(Method::GET, &v1(mount, &["config"]), Some(token), None)
            .await?;
        if code == StatusCode::NOT_FOUND {
            return Err(VaultError::NoEngine {
                address: self.address.clone(),
                mount: mount.into(),
            });
        }
        if !code.is_success() {
            return Err(self.refused(&action, &format!("read on {mount}/config"), code, &body));
        }
        let answer: Answer<Config> = self.decode(&action, &body)?;
        let config = answer.data.ok_or_else(|| VaultError::EngineConfig {
            address: self.address.clone(),
            mount: mount.into(),
            detail: "has no config".into(),
        })?;
        let missing = |what: &str| VaultError::EngineConfig {
            address: self.address.clone(),
            mount: mount.into(),
            detail: format!("names no {what} (it would use those of the pod Vault runs in)"),
        };
        if config.kubernetes_host.is_empty() {
            return Err(missing("kubernetes_host"));
        }
        if config.kubernetes_ca_cert.trim().is_empty() {
            return Err(missing("kubernetes_ca_cert"));
        }
        Ok(EngineCluster {
            server: config.kubernetes_host,
            ca_pem: config.kubernetes_ca_cert.into_bytes(),
        })
    }

    /// A token from `role` for a ServiceAccount in `namespace`, living
    /// `ttl_secs` (the role may cap it), for `audiences` (none: the API
    /// server's).
    pub async fn creds(
        &self,
        token: &VaultToken,
        v: &VaultRef,
        namespace: &str,
        ttl_secs: u64,
        audiences: &[String],
    ) -> Result<VaultCreds, VaultError> {
        #[derive(Deserialize)]
        struct Creds {
            service_account_token: Token,
            #[serde(default)]
            service_account_name: String,
            #[serde(default)]
            service_account_namespace: String,
        }
        let (mount, role) = (&v.mount, &v.role);
        let action = format!("mint through {mount}/creds/{role}");
        let mut body = serde_json::json!({
            "kubernetes_namespace": namespace,
            "ttl": format!("{ttl_secs}s"),
        });
        if !audiences.is_empty() {
            body["audiences"] = audiences.join(",").into();
        }
        let (code, answer) = self
            .call(
                Method::POST,
                &v1(mount, &["creds", role]),
                Some(token),
                Some(body),
            )
            .await?;
        if !code.is_success() {
            let message = super::vault_error::message(&answer);
            let address = self.address.clone();
            return Err(
                if message.contains(&format!("role '{role}' does not exist")) {
                    VaultError::UnknownRole {
                        address,
                        mount: mount.clone(),
                        role: role.clone(),
                    }
                } else if message.contains("allowed_kubernetes_namespace") {
                    VaultError::NamespaceNotAllowed {
                        address,
                        mount: mount.clone(),
                        role: role.clone(),
                        namespace: namespace.into(),
                    }
                } else if message.contains("serviceaccount/ca.crt") {
                    VaultError::EngineConfig {
                        address,
                        mount: mount.clone(),
                        detail: "has no kubernetes_ca_cert".into(),
                    }
                } else if message.contains("is forbidden: User") || message.contains("Unauthorized")
                {
                    VaultError::EngineRefused {
                        address,
                        mount: mount.clone(),
                        detail: message,
                    }
                } else if message.contains("duration less than") {
                    VaultError::TooShort { address }
                } else if code == StatusCode::NOT_FOUND && message.contains("no handler") {
                    VaultError::NoEngine {
                        address,
                        mount: mount.clone(),
                    }
                } else {
                    self.refused(
                        &action,
                        &format!("update on {mount}/creds/{role}"),
                        code,
                        &answer,
                    )
                },
            );
        }
        let answer: Answer<Creds> = self.decode(&action, &answer)?;
        for w in answer.warnings.iter().flatten() {
            tracing::info!(
                "Vault: {}",
                super::vault_error::message(
                    serde_json::json!({ "errors": [w] }).to_string().as_bytes()
                )
            );
        }
        let creds = answer.data.ok_or_else(|| VaultError::BadAnswer {
            address: self.address.clone(),
            action: action.clone(),
            detail: "no data".into(),
        })?;
        Ok(VaultCreds {
            token: creds.service_account_token,
            lease_id: answer.lease_id,
            lease_secs: answer.lease_duration,
            service_account: creds.service_account_name,
            namespace: creds.service_account_namespace,
        })
    }

    /// Revokes `lease_id` (`sys/leases/revoke`); a lease Vault no longer
    /// knows (expired, revoked) counts as revoked.
    pub async fn revoke(&self, token: &VaultToken, lease_id: &str) -> Result<(), VaultError> {
        let body = serde_json::json!({ "lease_id": lease_id });
        let (code, answer) = self
            .call(
                Method::PUT,
                "/v1/sys/leases/revoke",
                Some(token),
                Some(body),
            )
            .await?;
        if code.is_success() {
            return Ok(());
        }
        let message = super::vault_error::message(&answer);
        if code == StatusCode::BAD_REQUEST && message.contains("invalid lease") {
            return Ok(());
        }
        Err(self.refused(
            "revoke the lease",
            "update on sys/leases/revoke",
            code,
            &answer,
        ))
    }
}

/// `/v1/MOUNT/PARTS...`, every segment percent-escaped (names are checked
/// before they get here, `names.rs`: this is the second wall).
pub(super) fn v1(mount: &str, parts: &[&str]) -> String {
    let mut path = String::from("/v1");
    for s in mount.split('/').chain(parts.iter().copied()) {
        path.push('/');
        path.push_str(&segment(s));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_every_name_in_its_segment() {
        assert_eq!(
            v1("kubernetes", &["creds", "dep"]),
            "/v1/kubernetes/creds/dep"
        );
        assert_eq!(v1("k8s/prod", &["config"]), "/v1/k8s/prod/config");
        assert_eq!(
            v1("kubernetes", &["creds", "../../sys/leases?x"]),
            "/v1/kubernetes/creds/..%2F..%2Fsys%2Fleases%3Fx"
        );
        assert_eq!(v1("..", &["config"]), "/v1/%2E%2E/config");
    }
}
