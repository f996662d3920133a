//! The production [`Minter`]: mints through the admin context (kube_api) and
//! asks the API server about cached legacy tokens.

use base64::Engine;

use crate::cache::{CacheKey, Entry};
use crate::error::Error;
use crate::kube_api::{Admin, Minted, TokenClient};
use crate::options::{GetOptions, SourceKind};
use crate::protocol::{ExecInfo, ProtocolError};

use super::admin_session::AdminSession;
use super::get_token::Minter;

/// Mints with the admin context's credentials, connected once per process.
pub struct KubeMinter<'s> {
    pub session: &'s AdminSession<'s>,
}

impl Minter for KubeMinter<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        server: &str,
        key: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error> {
        let spec = &opts.spec;
        tracing::debug!(context = %spec.admin_context, source = spec.source.as_str(), "minting");
        let admin = self.session.admin(Some(chain))?;
        self.session.block_on(mint(admin, opts, server, key))?
    }

    fn username(
        &self,
        entry: &Entry,
        info: &ExecInfo,
        chain: &str,
    ) -> Result<Option<String>, Error> {
        let who = format!(
            "the cached token of {}/{}",
            entry.namespace, entry.service_account
        );
        let client = match &info.cluster {
            // The cluster kubectl described: no admin credentials needed.
            Some(c) => {
                let ca = match &c.certificate_authority_data {
                    Some(b64) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64.trim())
                            .map_err(|e| {
                                ProtocolError::Malformed(format!("certificate-authority-data: {e}"))
                            })?,
                    ),
                    None => None,
                };
                let _entered = self.session.enter()?;
                TokenClient::new(
                    &c.server,
                    ca.as_deref(),
                    c.tls_server_name.as_deref(),
                    c.insecure_skip_tls_verify,
                    c.proxy_url.as_deref(),
                    &entry.token,
                    &who,
                )?
            }
            None => {
                self.session.admin(Some(chain))?;
                self.session.token_client(&entry.token, &who)?
            }
        };
        Ok(self.session.block_on(client.whoami())??.username)
    }
}

/// Mints a token through the admin context, for `server` only.
async fn mint(
    admin: &Admin,
    opts: &GetOptions,
    server: &str,
    key: &CacheKey,
) -> Result<Minted, Error> {
    let spec = &opts.spec;
    if admin.server() != server {
        return Err(Error::Refused(format!(
            "cluster binding: kubectl wants a token for {server}, but admin context {:?} mints on {}; a token is only sent to the server it was minted on: give the exec entry's context the admin context's cluster, or pick an --admin-context for {server}",
            spec.admin_context,
            admin.server()
        )));
    }
    let minted = match spec.source {
        SourceKind::TokenRequest => {
            let bound = if spec.bind_secret {
                Some(
                    admin
                        .bind_secret(&spec.namespace, &spec.bound_secret_name(key.as_str()))
                        .await?,
                )
            } else {
                None
            };
            let bound_ref = bound.as_ref().map(|(n, u)| (n.as_str(), u.as_str()));
            admin
                .token_request(
                    &spec.namespace,
                    &spec.service_account,
                    opts.duration,
                    &spec.audiences,
                    bound_ref,
                )
                .await?
        }
        SourceKind::Secret => {
            admin
                .secret_token(
                    &spec.namespace,
                    &spec.service_account,
                    opts.create_secret,
                    opts.secret_wait,
                )
                .await?
        }
    };
    Ok(minted)
}
