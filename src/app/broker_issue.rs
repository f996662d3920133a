//! What the broker does with an allowed request: the same `get` use case
//! ([`GetToken`]) over its own cache and admin context — cache, lock,
//! single flight, cluster binding and self-healing as for `get` — with the
//! request's credential, audiences and (policy-capped) duration.

use std::time::{Duration, Instant};

use crate::broker::wire::{Request, fingerprint};
use crate::cache::Cache;
use crate::clock::Clock;
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::options::{self, GetOptions, Principal, ServeOptions, SourceKind, TokenSpec};
use crate::protocol::{ExecInfo, V1};

use super::admin_session::AdminSession;
use super::cache_adapter::FailureRecords;
use super::get_token::GetToken;
use super::kube_minter::KubeMinter;
use super::ports::{Minter, Review};
use super::request::{entry_key, recursion_chain};
use super::vault_minter::VaultMinter;

/// A credential handed out by the broker.
pub struct Handed {
    pub credential: Credential,
    pub clock_offset: i64,
    pub secret: Option<String>,
}

/// The `get` options an allowed request stands for; a mint of the same
/// entry in progress is waited for at most `wait`.
pub(super) fn options_for(
    admin: &ServeOptions,
    req: &Request,
    duration: Option<Duration>,
    wait: Duration,
) -> Result<GetOptions, Error> {
    let (namespace, principal) = match (&req.service_account, &req.user) {
        (Some(sa), None) => (
            sa.namespace.clone(),
            Principal::ServiceAccount(sa.name.clone()),
        ),
        (None, Some(u)) => (
            options::DEFAULT_NAMESPACE.to_string(),
            Principal::User {
                name: u.name.clone(),
                groups: u.groups.clone(),
            },
        ),
        _ => {
            return Err(Error::Usage(
                "name exactly one of serviceAccount and user".into(),
            ));
        }
    };
    let source = match req.source.as_deref() {
        // A broker that mints through Vault hands out the engine's bound
        // tokens where a client asks for a TokenRequest's.
        None | Some("token-request") if admin.vault.is_some() => SourceKind::Vault,
        None | Some("token-request") => SourceKind::TokenRequest,
        Some("secret") if admin.vault.is_none() => SourceKind::Secret,
        Some("secret") => {
            return Err(Error::Usage(
                "this broker mints through Vault: bound tokens only, no legacy token Secrets"
                    .into(),
            ));
        }
        Some(_) => return Err(Error::Usage("source is token-request or secret".into())),
    };
    if admin.vault.is_some() && matches!(principal, Principal::User { .. }) {
        return Err(Error::Usage(
            "this broker mints through Vault: ServiceAccount tokens only, no X.509 users".into(),
        ));
    }
    Ok(GetOptions {
        spec: TokenSpec {
            kubeconfig: admin.kubeconfig.clone(),
            admin_context: admin.admin_context.clone(),
            broker: None,
            vault: admin.vault.clone(),
            namespace,
            principal,
            source,
            audiences: req.audiences.clone(),
            bind_secret: false,
        },
        duration: duration.unwrap_or(options::DEFAULT_DURATION),
        cache: admin.cache,
        create_secret: false,
        revalidate: options::DEFAULT_REVALIDATE,
        secret_wait: options::DEFAULT_SECRET_WAIT,
        lock_wait: wait,
        refresh_ahead: true,
        approve: true,
        csr_wait: options::DEFAULT_CSR_WAIT,
    })
}

/// Serves `opts` for a client whose kubectl talks to `target`: the
/// broker's cached credential while fresh, else minted once under the
/// entry's lock. A `refresh` request mints the successor first when the
/// entry is due; a `rejected` fingerprint that matches the cached copy has
/// it checked with the server and dropped if rejected there too. The admin
/// context's exec plugin, if it runs, is ended at `deadline`.
pub(super) fn issue(
    opts: &GetOptions,
    target: &ClusterIdentity,
    refresh: bool,
    rejected: Option<&str>,
    clock: &dyn Clock,
    deadline: Instant,
) -> Result<Handed, Error> {
    let spec = &opts.spec;
    let key = entry_key(spec, target);
    // Nobody watches the broker: an admin login that would prompt is refused.
    let session =
        AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context).headless(deadline);
    let minter: Box<dyn Minter> = match &spec.vault {
        Some(vault) => Box::new(VaultMinter {
            vault,
            session: &session,
        }),
        None => Box::new(KubeMinter { session: &session }),
    };
    let cache = Cache::open(opts.cache)?;
    let chain = recursion_chain(opts)?;
    // Reviews of the broker's copy go to the admin context's cluster (the
    // binding has already held it to the client's); a Vault role's, to its
    // engine's (asked of Vault only then).
    let info = ExecInfo {
        api_version: V1,
        interactive: false,
        cluster: None,
    };
    let review_info = || -> Result<ExecInfo, Error> {
        Ok(ExecInfo {
            cluster: match &spec.vault {
                Some(v) => Some(
                    super::broker_cluster::vault_cluster(
                        v,
                        &super::vault_keeper::VaultKeeper::new(v, false),
                    )?
                    .info,
                ),
                None => None,
            },
            ..info.clone()
        })
    };
    if let Some(fp) = rejected
        && let Ok(Some(entry)) = cache.load(&key)
        && fingerprint(&entry.credential) == fp
        && matches!(
            minter.review(&entry, &review_info()?, &chain)?,
            Review::Rejected
        )
    {
        tracing::warn!(
            "{}: the API server rejected the cached {}; minting a new one",
            spec.label(),
            entry.credential.kind()
        );
        // Still that one (another client's report may have had it
        // replaced meanwhile): then it goes.
        let same = matches!(cache.load(&key), Ok(Some(e)) if fingerprint(&e.credential) == fp);
        if same && let Err(e) = cache.remove(&key) {
            tracing::warn!("could not drop the rejected credential: {e}");
        }
    }
    let failures = FailureRecords::new(opts);
    let use_case = GetToken {
        cache: &cache,
        minter: &*minter,
        clock,
        parent: None,
        background: None,
        failures: &failures,
    };
    if refresh && let Err(e) = use_case.refresh_now(opts, target, &key, &chain) {
        tracing::warn!(
            "{}: the refresh a client asked for failed: {e}",
            spec.label()
        );
    }
    let issued = use_case.run(opts, &info, target, &key)?;
    // The entry's bookkeeping: the server's clock and the Secret.
    let kept = cache
        .load(&key)
        .ok()
        .flatten()
        .filter(|e| e.credential.same_as(&issued.credential));
    Ok(Handed {
        credential: issued.credential,
        clock_offset: kept.as_ref().map_or(0, |e| e.clock_offset),
        secret: kept.and_then(|e| e.secret),
    })
}
