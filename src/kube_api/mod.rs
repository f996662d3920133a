//! Every conversation with the API server. This is the only module that
//! imports `kube`.
//!
//! - [`Admin`]: a client built from the named admin context only (client
//!   certs, a token or another exec plugin, whatever that context uses), with
//!   TokenRequest ([`token_request`]), the classic token Secret
//!   ([`legacy_secret`]), access and token reviews ([`reviews`]) and the
//!   cluster's discovery endpoints ([`discovery`]).
//! - [`TokenClient`]: requests made *with* a ServiceAccount token.

mod discovery;
mod error;
mod exec_plugin;
mod legacy_secret;
mod proxy;
mod reviews;
mod token_client;
mod token_request;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use kube::config::{AuthInfo, Cluster};
use kube::{Client, Config};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::kubeconfig::{ResolvedContext, describe_yaml_error, normalize_server};
use crate::token::Token;
use error::{Action, Caller, chain as chain_of, map_error};
use exec_plugin::Credential;
use proxy::ProxyEnv;
use token_client::pem_certs;

pub use error::KubeApiError;
pub use token_client::TokenClient;

/// How long to wait for a TCP/TLS connection, and then for an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn apply_timeouts(config: &mut Config) {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
}

/// A minted token and what the server said about it.
pub struct Minted {
    pub token: Token,
    /// TokenRequest's status.expirationTimestamp (absent for legacy tokens).
    pub expires: Option<OffsetDateTime>,
    /// The Secret the token came from or is bound to.
    pub secret: Option<String>,
    /// `ca.crt` of a legacy token Secret.
    pub ca_crt: Option<Vec<u8>>,
}

/// A client for the admin context.
pub struct Admin {
    client: Client,
    config: Config,
    context: String,
    server: String,
    who: String,
}

impl Admin {
    /// Builds the client for the admin context `ctx` (from
    /// [`Kubeconfigs::resolve`](crate::kubeconfig::Kubeconfigs::resolve), so
    /// it reads exactly what kubectl reads). Runs the context's exec plugin
    /// once, with the recursion chain `chain` in its environment. Call it
    /// inside a tokio runtime context.
    pub fn connect(ctx: &ResolvedContext, chain: Option<&str>) -> Result<Admin, KubeApiError> {
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
        let ca_pem = cluster_ca(&cluster).map_err(cfg_err)?;
        if let Some(exec) = user.exec.take() {
            match exec_plugin::run(&exec, &cluster, ca_pem.as_deref(), chain).map_err(cfg_err)? {
                Credential::Token(t) => user.token = Some(t.expose().to_string().into()),
                Credential::Certificate { cert, key } => {
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
        config.accept_invalid_certs = cluster.insecure_skip_tls_verify.unwrap_or(false);
        config.tls_server_name = cluster.tls_server_name.clone();
        config.disable_compression = cluster.disable_compression.unwrap_or(false);
        config.proxy_url = proxy;
        config.auth_info = user;
        if let Some(ns) = &ctx.namespace {
            config.default_namespace = ns.clone();
        }
        apply_timeouts(&mut config);
        let client = Client::try_from(config.clone()).map_err(|e| cfg_err(chain_of(&e)))?;
        Ok(Admin {
            client,
            server: normalize_server(server),
            config,
            who: format!("admin context {:?}", ctx.name),
            context: ctx.name.clone(),
        })
    }

    /// The admin context's server URL, normalized.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            server: &self.server,
            who: &self.who,
            context: Some(&self.context),
        }
    }

    /// Maps a kube error of the call `a` made with the admin credentials.
    fn map<'a>(&'a self, a: Action<'a>) -> impl FnOnce(kube::Error) -> KubeApiError + 'a {
        move |e| map_error(e, &self.caller(), a)
    }

    fn bad_answer(&self, detail: impl Into<String>) -> KubeApiError {
        KubeApiError::BadAnswer {
            server: self.server.clone(),
            detail: detail.into(),
        }
    }

    /// A client that authenticates with `token` instead of the admin
    /// credentials, for the same server and CA.
    pub fn as_token(&self, token: &Token, who: &str) -> Result<TokenClient, KubeApiError> {
        let mut config = self.config.clone();
        config.auth_info = AuthInfo {
            token: Some(token.expose().to_string().into()),
            ..Default::default()
        };
        config.headers.clear();
        let client = Client::try_from(config).map_err(|e| KubeApiError::Config {
            context: self.context.clone(),
            detail: chain_of(&e),
        })?;
        Ok(TokenClient::from_client(client, &self.server, who))
    }
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
        let detail = describe_yaml_error(located.as_ref().unwrap_or(&e));
        format!(
            "its {what} {name:?} in {} is not valid: {detail}",
            file.display()
        )
    })
}

/// The cluster's CA bundle (PEM), from `certificate-authority-data` or the
/// `certificate-authority` file.
fn cluster_ca(cluster: &Cluster) -> Result<Option<Vec<u8>>, String> {
    if let Some(data) = cluster
        .certificate_authority_data
        .as_deref()
        .filter(|d| !d.is_empty())
    {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map(Some)
            .map_err(|e| format!("its certificate-authority-data is not base64 ({e})"));
    }
    match cluster
        .certificate_authority
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(path) => std::fs::read(path)
            .map(Some)
            .map_err(|e| format!("cannot read its certificate-authority {path}: {e}")),
        None => Ok(None),
    }
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
