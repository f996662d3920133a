//! The production [`Minter`]: mints through the admin context (kube_api) and
//! asks the API server about cached legacy tokens.

use base64::Engine;

use crate::cache::{CacheKey, Entry};
use crate::error::Error;
use crate::kube_api::{Admin, Minted, TokenClient};
use crate::options::{GetOptions, SourceKind};
use crate::protocol::{ExecInfo, ProtocolError};
use crate::runtime::runtime;

use super::get_token::Minter;

/// Mints with the admin context's credentials.
pub struct KubeMinter;

impl Minter for KubeMinter {
    fn mint(
        &self,
        opts: &GetOptions,
        server: &str,
        key: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error> {
        runtime()?.block_on(mint(opts, server, key, chain))
    }

    fn username(
        &self,
        entry: &Entry,
        opts: &GetOptions,
        info: &ExecInfo,
    ) -> Result<Option<String>, Error> {
        runtime()?.block_on(username(entry, opts, info))
    }
}

/// Mints a token through the admin context, for `server` only.
async fn mint(
    opts: &GetOptions,
    server: &str,
    key: &CacheKey,
    chain: &str,
) -> Result<Minted, Error> {
    let spec = &opts.spec;
    tracing::debug!(context = %spec.admin_context, source = spec.source.as_str(), "minting");
    let admin =
        Admin::connect_minting(spec.kubeconfig.as_deref(), &spec.admin_context, Some(chain))
            .await?;
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

/// Asks the server who the cached token is (SelfSubjectReview), using the
/// cluster info kubectl sent, or the admin context's server and CA.
async fn username(
    entry: &Entry,
    opts: &GetOptions,
    info: &ExecInfo,
) -> Result<Option<String>, Error> {
    let who = format!(
        "the cached token of {}/{}",
        entry.namespace, entry.service_account
    );
    let client = match &info.cluster {
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
            TokenClient::new(
                &c.server,
                ca.as_deref(),
                c.tls_server_name.as_deref(),
                c.insecure_skip_tls_verify,
                &entry.token,
                &who,
            )?
        }
        None => Admin::connect(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context)
            .await?
            .as_token(&entry.token, &who)?,
    };
    Ok(client.whoami().await?.username)
}
