//! [`Admin`]: a client built from the named admin context only (client
//! certs, a token or another exec plugin, whatever that context uses). What
//! it can do lives beside it: TokenRequest ([`super::token_request`]), the
//! classic token Secret ([`super::legacy_secret`]), CSRs ([`super::csr`]),
//! access and token reviews ([`super::reviews`]) and discovery
//! ([`super::discovery`]).

use std::path::Path;

use base64::Engine;
use kube::config::{AuthInfo, Cluster};
use kube::{Client, Config};
use serde::de::DeserializeOwned;

use super::client_config::{apply_timeouts, pem_certs};
use super::error::{Action, Caller, KubeApiError, chain as chain_of, map_error};
use super::exec_plugin;
use super::proxy::{self, ProxyEnv};
use super::token_client::{self, TokenClient};
use crate::cluster_identity::{ClusterIdentity, normalize_server, read_ca};
use crate::credential::Credential;
use crate::kubeconfig::ResolvedContext;
use crate::parse_error;

/// A minted credential and what the server said about it.
pub struct Minted {
    pub credential: Credential,
    /// The Secret the token came from or is bound to.
    pub secret: Option<String>,
    /// `ca.crt` of a legacy token Secret.
    pub ca_crt: Option<Vec<u8>>,
    /// The server's clock minus ours (seconds), from the mint's answer.
    pub clock_offset: Option<i64>,
    /// A Vault lease the credential was issued under (`--source vault`).
    pub lease: Option<String>,
}

/// A client for the admin context.
pub struct Admin {
    pub(super) client: Client,
    pub(super) identity: ClusterIdentity,
    pub(super) config: Config,
    pub(super) context: String,
    pub(super) server: String,
    pub(super) who: String,
}

impl Admin {
    /// Builds the client for the admin context `ctx` (from
    /// [`Kubeconfigs::resolve`](crate::kubeconfig::Kubeconfigs::resolve), so
    /// it reads exactly what kubectl reads). Runs the context's exec plugin
    /// once, with the recursion chain `chain` in its environment; with
    /// `headless` (nobody would see a prompt), only a plugin that never
    /// prompts, ended with its process group at that deadline. Call it
    /// inside a tokio runtime context.
    pub fn connect(
        ctx: &ResolvedContext,
        chain: Option<&str>,
        headless: Option<std::time::Instant>,
    ) -> Result<Admin, KubeApiError> {
        let cfg_err = |detail: String| KubeApiError::Config {
            context: ctx.name.clone(),
            detail,
        };
        let cluster: Cluster = typed(
            &ctx.cluster,
            "cluster",
            &ctx.cluster_name,
            &ctx.cluster_file,
        )
        .map_err(cfg_err)?;
        let mut user: AuthInfo = match &ctx.user_file {
            Some(file) => typed(&ctx.user, "user", &ctx.user_name, file).map_err(cfg_err)?,
            None => AuthInfo::default(),
        };
        if let Some(provider) = &user.auth_provider {
            return Err(KubeApiError::AuthProvider {
                context: ctx.name.clone(),
                provider: provider.name.clone(),
                instead: auth_provider_replacement(&provider.name),
            });
        }
        let server = cluster
            .server
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| cfg_err(format!("its cluster {:?} has no server", ctx.cluster_name)))?;
        let uri: http::Uri = server
            .parse()
            .map_err(|e| cfg_err(format!("its server URL does not parse ({e})")))?;
        let ca_pem = read_ca(
            cluster.certificate_authority_data.as_deref(),
            cluster.certificate_authority.as_deref(),
        )
        .map_err(|e| cfg_err(e.to_string()))?;
        let insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        let identity = ClusterIdentity::new(
            server,
            ca_pem.as_deref(),
            cluster.tls_server_name.as_deref(),
            insecure,
        )
        .map_err(|e| cfg_err(e.to_string()))?;
        if let Some(exec) = user.exec.take() {
            match exec_plugin::run(&exec, &cluster, ca_pem.as_deref(), chain, headless)
                .map_err(cfg_err)?
            {
                exec_plugin::Credential::Token(t) => {
                    user.token = Some(t.expose().to_string().into())
                }
                exec_plugin::Credential::Certificate { cert, key } => {
                    let b64 = base64::engine::general_purpose::STANDARD;
                    user.client_certificate_data = Some(b64.encode(cert));
                    user.client_key_data = Some(b64.encode(key.expose()).into());
                }
            }
        }
        let proxy = proxy::select(cluster.proxy_url.as_deref(), &uri, &ProxyEnv::from_env())
            .map_err(|e| cfg_err(e.to_string()))?;
        if let Some(p) = &proxy {
            tracing::debug!(proxy = %proxy::redact(&p.to_string()), "admin connections go through a proxy");
        }
        let mut config = Config::new(uri);
        if let Some(pem) = &ca_pem {
            config.root_cert = Some(pem_certs(pem).map_err(cfg_err)?);
        }
        config.accept_invalid_certs = insecure;
        // An empty tls-server-name is unset, as kubectl reads it.
        config.tls_server_name = cluster.tls_server_name.clone().filter(|n| !n.is_empty());
        config.disable_compression = cluster.disable_compression.unwrap_or(false);
        config.proxy_url = proxy;
        config.auth_info = user;
        if let Some(ns) = &ctx.namespace {
            config.default_namespace = ns.clone();
        }
        apply_timeouts(&mut config);
        let client = super::bounded::client(config.clone()).map_err(|e| cfg_err(chain_of(&e)))?;
        Ok(Admin {
            client,
            identity,
            server: normalize_server(server),
            config,
            who: format!("admin context {:?}", ctx.name),
            context: ctx.name.clone(),
        })
    }

    /// The cluster the admin context talks to: what a token it mints is bound to.
    pub fn identity(&self) -> &ClusterIdentity {
        &self.identity
    }

    /// The admin context's server URL, normalized.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub(super) fn caller(&self) -> Caller<'_> {
        Caller {
            server: &self.server,
            who: &self.who,
            context: Some(&self.context),
        }
    }

    /// Maps a kube error of the call `a` made with the admin credentials.
    pub(super) fn map<'a>(
        &'a self,
        a: Action<'a>,
    ) -> impl FnOnce(kube::Error) -> KubeApiError + 'a {
        move |e| map_error(e, &self.caller(), a)
    }

    pub(super) fn bad_answer(&self, detail: impl Into<String>) -> KubeApiError {
        KubeApiError::BadAnswer {
            server: self.server.clone(),
            detail: detail.into(),
        }
    }

    /// Whether a credential minted on `bound` may be sent to this admin
    /// context's cluster (in a request's body, as a TokenReview does, or as
    /// its credentials): the cluster binding, in its one direction.
    pub fn may_receive(&self, bound: &ClusterIdentity, who: &str) -> Result<(), KubeApiError> {
        token_client::check_binding(bound, &self.identity, who)
    }

    /// A client that authenticates with `credential` (minted on `bound`)
    /// instead of the admin credentials, for the same server and CA; refused
    /// when the admin context now leads somewhere the binding forbids.
    pub fn with_credential(
        &self,
        credential: &Credential,
        bound: &ClusterIdentity,
        who: &str,
    ) -> Result<TokenClient, KubeApiError> {
        self.may_receive(bound, who)?;
        let mut config = self.config.clone();
        config.auth_info = token_client::auth_info(credential);
        config.headers.clear();
        let client = super::bounded::client(config).map_err(|e| KubeApiError::Config {
            context: self.context.clone(),
            detail: chain_of(&e),
        })?;
        Ok(TokenClient::from_client(client, &self.server, who))
    }

    /// Who the admin context is, by the server (SelfSubjectReview).
    pub async fn whoami(
        &self,
    ) -> Result<k8s_openapi::api::authentication::v1::UserInfo, KubeApiError> {
        let asked = TokenClient::from_client(self.client.clone(), &self.server, &self.who)
            .whoami()
            .await;
        // Rejected: the admin context's credentials, to be renewed there.
        asked.map_err(|e| match e {
            KubeApiError::Unauthorized { who, server, .. } => KubeApiError::Unauthorized {
                who,
                server,
                hint: super::error::renew_hint(Some(&self.context)),
            },
            e => e,
        })
    }
}

/// A path segment built from a name: percent-escaped (everything but
/// letters, digits, '-', '_' and '~'; '.' too when the segment is all
/// dots), so that no name can add a segment, a query or a step up. Names
/// are checked before they get here (`names.rs`); this is the second wall.
pub(super) fn segment(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP_DOTS: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'~')
        .remove(b'.');
    if s.bytes().all(|b| b == b'.') {
        return utf8_percent_encode(s, NON_ALPHANUMERIC)
            .to_string()
            .replace('.', "%2E");
    }
    utf8_percent_encode(s, KEEP_DOTS).to_string()
}

/// Deserializes a `cluster:` or `user:` body into kube's type. On a type
/// error, the message names the file, line and column (found by reading the
/// file again) and the kind of error: never the value there.
fn typed<T: DeserializeOwned>(
    body: &serde_yaml::Value,
    what: &str,
    name: &str,
    file: &Path,
) -> Result<T, String> {
    serde_yaml::from_value(body.clone()).map_err(|e| {
        let located = std::fs::read_to_string(file)
            .ok()
            .and_then(|text| serde_yaml::from_str::<kube::config::Kubeconfig>(&text).err())
            .filter(|e| e.location().is_some());
        let detail = parse_error::yaml(located.as_ref().unwrap_or(&e));
        format!(
            "its {what} {name:?} in {} is not valid: {detail}",
            file.display()
        )
    })
}

/// The exec plugin that replaced a removed or unsupported auth provider.
fn auth_provider_replacement(provider: &str) -> &'static str {
    match provider {
        "gcp" => {
            "gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin, then gcloud container clusters get-credentials)"
        }
        "azure" => {
            "kubelogin from Azure (az aks get-credentials, then kubelogin convert-kubeconfig -l azurecli)"
        }
        "oidc" => "kubelogin (int128/kubelogin: kubectl oidc-login setup)",
        _ => "the exec plugin your provider documents",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_cannot_leave_their_place() {
        use super::segment;
        assert_eq!(segment("team"), "team");
        assert_eq!(segment("a.b-c_d~e"), "a.b-c_d~e");
        assert_eq!(
            segment("ci-a/serviceaccounts/admin/token?x="),
            "ci-a%2Fserviceaccounts%2Fadmin%2Ftoken%3Fx%3D"
        );
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("."), "%2E");
        assert_eq!(segment("a b#c%"), "a%20b%23c%25");
    }
}
