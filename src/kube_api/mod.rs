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
mod legacy_secret;
mod reviews;
mod token_client;
mod token_request;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use time::OffsetDateTime;

use crate::kubeconfig::normalize_server;
use crate::token::Token;
use error::{Action, Caller, chain, map_error};

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
    /// Builds the client from the named context of the admin kubeconfig.
    pub async fn connect(kubeconfig: Option<&Path>, context: &str) -> Result<Admin, KubeApiError> {
        Admin::connect_minting(kubeconfig, context, None).await
    }

    /// Like [`Admin::connect`], for a mint: exec plugins the admin context
    /// runs receive the recursion chain ([`crate::guard`]) in their
    /// environment; this process's own environment is never changed.
    pub async fn connect_minting(
        kubeconfig: Option<&Path>,
        context: &str,
        mint_chain: Option<&str>,
    ) -> Result<Admin, KubeApiError> {
        let cfg_err = |detail: String| KubeApiError::Config {
            context: context.into(),
            detail,
        };
        let mut kc = match kubeconfig {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|e| cfg_err(chain(&e)))?;
        if let Some(value) = mint_chain {
            let execs = kc
                .auth_infos
                .iter_mut()
                .filter_map(|u| u.auth_info.as_mut()?.exec.as_mut());
            for exec in execs {
                exec.env.get_or_insert_with(Vec::new).push(HashMap::from([
                    ("name".to_string(), crate::guard::CHAIN_ENV.to_string()),
                    ("value".to_string(), value.to_string()),
                ]));
            }
        }
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let mut config = Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| cfg_err(chain(&e)))?;
        apply_timeouts(&mut config);
        let server = normalize_server(&config.cluster_url.to_string());
        let client = Client::try_from(config.clone()).map_err(|e| cfg_err(chain(&e)))?;
        Ok(Admin {
            client,
            config,
            who: format!("admin context {context:?}"),
            context: context.into(),
            server,
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
            detail: chain(&e),
        })?;
        Ok(TokenClient::from_client(client, &self.server, who))
    }
}
