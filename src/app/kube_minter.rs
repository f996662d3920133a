//! The production [`Minter`]: mints through the admin context (kube_api) and
//! asks the API server about cached legacy tokens.

use crate::cache::{CacheKey, Entry};
use crate::cluster_identity::{ClusterIdentity, read_ca};
use crate::credential::{ClientCertificate, Credential};
use crate::error::Error;
use crate::jwt;
use crate::kube_api::{Admin, KubeApiError, Minted, TokenClient};
use crate::options::{GetOptions, Principal, SourceKind, TokenSpec};
use crate::protocol::{ExecInfo, ProtocolError};
use crate::x509;

use super::admin_session::AdminSession;
use super::ports::{Minter, Review};

/// How long a revalidation waits for the server.
const REVIEW_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Mints with the admin context's credentials, connected once per process.
pub struct KubeMinter<'s> {
    pub session: &'s AdminSession<'s>,
}

impl Minter for KubeMinter<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error> {
        let spec = &opts.spec;
        tracing::debug!(context = %spec.admin_context, source = spec.source_name(), "minting");
        let admin = self.session.admin(Some(chain))?;
        bound_to(admin, spec, target)?;
        self.session.block_on(mint(admin, opts, key))?
    }

    fn review(&self, entry: &Entry, info: &ExecInfo, chain: &str) -> Result<Review, Error> {
        match self.username(entry, info, chain) {
            Ok(user) => Ok(Review::Accepted(user)),
            Err(Error::KubeApi(KubeApiError::Unauthorized { .. })) => Ok(Review::Rejected),
            Err(Error::KubeApi(e)) => Ok(Review::Unknown(e)),
            Err(e) => Err(e),
        }
    }

    fn why_rejected(&self, entry: &Entry, chain: &str) -> String {
        if entry.credential.certificate().is_some() {
            // Certificates cannot be revoked: the server stopped trusting
            // their signer.
            return "the server no longer trusts its signer (the cluster's client CA changed?)"
                .into();
        }
        self.rejection(entry, chain).unwrap_or_else(|| {
            "the server no longer accepts it (signing keys rotated, or the token revoked)".into()
        })
    }
}

impl KubeMinter<'_> {
    /// The username the server gives `entry`'s credential.
    fn username(
        &self,
        entry: &Entry,
        info: &ExecInfo,
        chain: &str,
    ) -> Result<Option<String>, Error> {
        let who = format!(
            "the cached {} of {}",
            entry.credential.kind(),
            entry.label()
        );
        let client = credential_client(
            self.session,
            info,
            &entry.credential,
            &entry.cluster,
            &who,
            chain,
        )?;
        // A quick question: when the server does not answer in time, the
        // cached token is served on (see GetToken), kubectl does not wait.
        let server = entry.cluster.server.clone();
        let answer = self
            .session
            .block_on(async { tokio::time::timeout(REVIEW_TIMEOUT, client.whoami()).await })?
            .map_err(|_| KubeApiError::Unreachable {
                server,
                detail: format!("no answer within {}s", REVIEW_TIMEOUT.as_secs()),
            })??;
        Ok(answer.username)
    }

    /// What the admin context sees of the objects `entry`'s token names.
    fn rejection(&self, entry: &Entry, chain: &str) -> Option<String> {
        let (_, claims) = jwt::decode(entry.credential.token()?).ok()?;
        let named = claims.service_account();
        let admin = self.session.admin(Some(chain)).ok()?;
        let (ns, name) = (&entry.namespace, &entry.service_account);
        let secret = match &named.bound {
            Some(b) if b.kind == "Secret" => b.name.clone(),
            _ => named.legacy_secret.clone(),
        };
        let (sa_uid, secret_uid) = self
            .session
            .block_on(async {
                let sa_uid = admin.service_account_uid(ns, name).await?;
                let secret_uid = match &secret {
                    Some(s) => Some(admin.secret_uid(ns, s).await?),
                    None => None,
                };
                Ok::<_, KubeApiError>((sa_uid, secret_uid))
            })
            .ok()?
            .ok()?;
        let bound_to_secret = named.bound.as_ref().is_some_and(|b| b.kind == "Secret");
        Some(match (sa_uid, secret_uid) {
            (None, _) => "its ServiceAccount no longer exists".into(),
            (Some(now), _) if named.uid.as_ref().is_some_and(|then| *then != now) => {
                "its ServiceAccount was deleted and recreated (the token names the old one)".into()
            }
            (_, Some(None)) if bound_to_secret => "the Secret it was bound to was deleted".into(),
            (_, Some(None)) => "its token Secret was deleted".into(),
            (_, Some(Some(now)))
                if bound_to_secret
                    && named
                        .bound
                        .as_ref()
                        .and_then(|b| b.uid.as_ref())
                        .is_some_and(|then| *then != now) =>
            {
                "the Secret it was bound to was deleted and recreated".into()
            }
            // A bound token the server rejects although its ServiceAccount
            // stands: asked for another audience than the server's own (its
            // issuer, unless --api-audiences says more), it was never meant
            // for this server.
            _ if !claims.is_legacy() && !foreign_audience(&claims).is_empty() => format!(
                "it is for audience {} (minted with --audience), which this API server does not accept: it authenticates to the service that asked for it, not to kubectl",
                foreign_audience(&claims).join(", ")
            ),
            _ => return None,
        })
    }
}

/// The audiences of a bound token when none of them is its issuer (the
/// API server's own audience by default); empty when one is.
fn foreign_audience(claims: &crate::jwt::Claims) -> Vec<String> {
    let aud = claims.aud.to_vec();
    match &claims.iss {
        Some(iss) if !aud.contains(iss) => aud,
        _ => Vec::new(),
    }
}

/// Refuses to mint on the admin's cluster for another one: a token is only
/// ever sent to the cluster it was minted on.
fn bound_to(admin: &Admin, spec: &TokenSpec, target: &ClusterIdentity) -> Result<(), Error> {
    let minting = admin.identity();
    let Some(why) = minting.mismatch(target) else {
        return Ok(());
    };
    let server = &target.server;
    Err(Error::Refused(if minting.server != *server {
        format!(
            "cluster binding: kubectl wants a token for {server}, but admin context {:?} mints on {}; a token is only sent to the server it was minted on: give the exec entry's context the admin context's cluster, or pick an --admin-context for {server}",
            spec.admin_context, minting.server
        )
    } else {
        format!(
            "cluster binding: refusing to mint through admin context {:?} for kubectl's cluster: {why}; give the exec entry's context the admin context's cluster entry (kube-sa-token setup does), or pick an --admin-context for that cluster",
            spec.admin_context
        )
    }))
}

/// Mints a token (or signs a user's certificate) through the admin context.
async fn mint(admin: &Admin, opts: &GetOptions, key: &CacheKey) -> Result<Minted, Error> {
    let spec = &opts.spec;
    let sa = match &spec.principal {
        Principal::ServiceAccount(sa) => sa,
        Principal::User { name, groups } => return sign_user(admin, opts, name, groups).await,
    };
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
                    sa,
                    opts.duration,
                    &spec.audiences,
                    bound_ref,
                )
                .await?
        }
        SourceKind::Secret => {
            admin
                .secret_token(&spec.namespace, sa, opts.create_secret, opts.secret_wait)
                .await?
        }
        // `get.rs` hands these to the Vault minter: no admin context mints them.
        SourceKind::Vault => {
            return Err(Error::Usage(
                "--source vault mints through Vault (--vault-role), not through an admin context"
                    .into(),
            ));
        }
    };
    Ok(minted)
}

/// An X.509 user: a new key made here, its CSR signed through the admin
/// context. The certificate must certify exactly that key.
async fn sign_user(
    admin: &Admin,
    opts: &GetOptions,
    name: &str,
    groups: &[String],
) -> Result<Minted, Error> {
    let req = x509::new_request(name, groups)?;
    let signed = admin
        .sign_user(
            name,
            &req.csr_pem,
            opts.duration,
            opts.approve,
            opts.csr_wait,
        )
        .await?;
    let info = x509::parse(&signed.certificate).map_err(|e| KubeApiError::BadAnswer {
        server: admin.server().to_string(),
        detail: format!("the signed certificate: {e}"),
    })?;
    if !info.matches_key(&req.key)? {
        return Err(Error::CheckFailed(format!(
            "{} returned a certificate for user {name} that does not certify the key made for it; nothing was cached; check the cluster's signer for kubernetes.io/kube-apiserver-client",
            admin.server()
        )));
    }
    Ok(Minted {
        credential: Credential::Certificate(ClientCertificate {
            certificate: signed.certificate,
            key: req.key,
        }),
        secret: None,
        ca_crt: None,
        clock_offset: signed.clock_offset,
        lease: None,
    })
}

/// A client that presents `credential` (minted on `bound`) to the cluster
/// `info` describes (kubectl's, or a broker's: no admin credentials
/// needed), else to the admin context's cluster through `session`.
pub(super) fn credential_client(
    session: &AdminSession<'_>,
    info: &ExecInfo,
    credential: &Credential,
    bound: &ClusterIdentity,
    who: &str,
    chain: &str,
) -> Result<TokenClient, Error> {
    Ok(match &info.cluster {
        // The cluster kubectl described: no admin credentials needed.
        Some(c) => {
            // Data or a file path, read as `target_cluster` reads it.
            let ca = read_ca(
                c.certificate_authority_data.as_deref(),
                c.certificate_authority.as_deref(),
            )
            .map_err(|e| ProtocolError::Malformed(format!("spec.cluster: {e}")))?;
            let _entered = session.enter()?;
            TokenClient::new(
                &c.server,
                ca.as_deref(),
                c.tls_server_name.as_deref(),
                c.insecure_skip_tls_verify,
                c.proxy_url.as_deref(),
                credential,
                bound,
                who,
            )?
        }
        None => {
            session.admin(Some(chain).filter(|c| !c.is_empty()))?;
            session.token_client(credential, bound, who)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> crate::jwt::Claims {
        serde_json::from_value(v).unwrap()
    }

    /// `cache list --check` on a token asked for another audience names
    /// the audience, not rotated keys (issue 24 item 7).
    #[test]
    fn a_token_for_another_audience_is_named_as_such() {
        let iss = "https://kubernetes.default.svc";
        assert_eq!(
            foreign_audience(&claims(json!({"iss": iss, "aud": ["vault"]}))),
            ["vault"]
        );
        assert!(foreign_audience(&claims(json!({"iss": iss, "aud": ["vault", iss]}))).is_empty());
        assert!(foreign_audience(&claims(json!({"iss": iss, "aud": iss}))).is_empty());
        assert!(foreign_audience(&claims(json!({"aud": ["vault"]}))).is_empty());
    }
}
