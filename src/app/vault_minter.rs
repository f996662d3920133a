//! The [`Minter`] of `--source vault`: a Vault (or OpenBao) Kubernetes
//! secrets engine mints on a miss (`MOUNT/creds/ROLE`), with the Vault
//! token of this account; hits never reach Vault. Before anything is asked
//! for, the engine's own config says which cluster it mints for, and a
//! cluster other than kubectl's is refused (cluster binding). Cached
//! tokens are checked with the API server by the client itself, as a
//! broker client's are.

use serde_yaml::Value;

use crate::cache::{CacheKey, Entry};
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::kube_api::Minted;
use crate::kube_api::vault::{self, VaultClient, VaultError};
use crate::kube_api::vault_login::{self, UsedToken, with_token};
use crate::options::{GetOptions, Principal, VaultRef};
use crate::protocol::ExecInfo;

use super::admin_session::AdminSession;
use super::broker_cluster::{engine_identity, vault_cluster as cluster};
use super::kube_minter::KubeMinter;
use super::ports::{Minter, Review};
use super::vault_keeper::VaultKeeper;

pub struct VaultMinter<'s> {
    pub vault: &'s VaultRef,
    /// A runtime for the calls (it never connects an admin context).
    pub session: &'s AdminSession<'s>,
}

impl Minter for VaultMinter<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        _: &CacheKey,
        _: &str,
    ) -> Result<Minted, Error> {
        let v = self.vault;
        let spec = &opts.spec;
        let Principal::ServiceAccount(sa) = &spec.principal else {
            return Err(Error::Usage(
                "--source vault mints ServiceAccount tokens, not --user certificates".into(),
            ));
        };
        tracing::debug!(vault = %v.address, mount = %v.mount, role = %v.role, "minting through Vault");
        let keeper = VaultKeeper::new(v, self.session.may_prompt());
        self.session.block_on(with_token(v, &keeper, async |client: &VaultClient, used: &UsedToken| {
            let token = &used.token;
            let engine: vault::EngineCluster = client.engine_cluster(token, &v.mount).await?;
            bound_to(v, &engine_identity(v, &engine.server, &engine.ca_pem)?, target)?;
            let creds = client
                .creds(
                    token,
                    v,
                    &spec.namespace,
                    opts.duration.as_secs(),
                    &spec.audiences,
                )
                .await?;
            let generated = sa == crate::options::GENERATED_SA;
            if creds.namespace != spec.namespace || (creds.service_account != *sa && !generated) {
                // Not what the entry is for: nobody gets it, and its lease
                // goes at once.
                let revoked = client.revoke(token, &creds.lease_id).await.is_ok();
                return Err(Error::Refused(format!(
                    "Vault role {:?} issues tokens for {}/{}, not {}: name that ServiceAccount, or another role{}",
                    v.role,
                    creds.namespace,
                    creds.service_account,
                    spec.label(),
                    if revoked {
                        " (its lease was revoked)"
                    } else {
                        ""
                    }
                )));
            }
            tracing::info!(
                "Vault at {} issued a token for {} through {}/creds/{} (lease {}, {}s)",
                v.address,
                spec.label(),
                v.mount,
                v.role,
                creds.lease_id,
                creds.lease_secs
            );
            Ok(Minted {
                credential: Credential::Token(creds.token),
                secret: None,
                ca_crt: None,
                // Vault's clock is not the API server's: the token's own iat
                // says the latter.
                clock_offset: None,
                lease: Some(creds.lease_id).filter(|l| !l.is_empty()),
            })
        }))
        .and_then(|minted: Result<Minted, Error>| minted)
    }

    fn review(&self, entry: &Entry, info: &ExecInfo, chain: &str) -> Result<Review, Error> {
        // `info` names kubectl's cluster (`get --source vault` refuses to run
        // without it): the token itself is asked about there.
        KubeMinter {
            session: self.session,
        }
        .review(entry, info, chain)
    }

    fn why_rejected(&self, _: &Entry, _: &str) -> String {
        "the API server no longer accepts it (its ServiceAccount deleted, or its Vault lease revoked for a role that generates ServiceAccounts)".into()
    }
}

/// Refuses to have the engine mint for kubectl's cluster when it mints for
/// another: a token is only ever sent to the cluster it was minted on.
fn bound_to(
    v: &VaultRef,
    minting: &ClusterIdentity,
    target: &ClusterIdentity,
) -> Result<(), Error> {
    let Some(why) = minting.mismatch(target) else {
        return Ok(());
    };
    Err(Error::Refused(format!(
        "cluster binding: the Kubernetes secrets engine at {}/ on Vault at {} mints for {} ({why}); nothing was asked of it: point the exec entry's context at that cluster (kube-sa-token setup --source vault writes it), or pick the --vault-mount of kubectl's cluster",
        v.mount, v.address, minting.server
    )))
}

/// `setup --source vault`: the Vault token and the engine's cluster, then a
/// first credential (so that a policy's or role's refusal shows now, not at
/// the first kubectl call); the kubeconfig cluster entry's name and body. A
/// dry run asks for no credential.
pub(super) fn setup_check(
    v: &VaultRef,
    opts: &GetOptions,
    dry_run: bool,
) -> Result<(String, Value), Error> {
    let session = AdminSession::new(None, "");
    let keeper = VaultKeeper::new(v, session.may_prompt());
    let (me, origin) = session.block_on(with_token(
        v,
        &keeper,
        async |client: &VaultClient, used: &UsedToken| {
            Ok::<_, VaultError>((
                vault_login::lookup_self(client, &used.token).await?,
                used.origin.clone(),
            ))
        },
    ))??;
    let expires = match me.ttl {
        0 => "does not expire".to_string(),
        s => format!(
            "expires in {}{}",
            crate::clock::human(s as i64),
            if me.renewable { ", renewable" } else { "" }
        ),
    };
    eprintln!(
        "Vault at {}: the token from {origin} is {:?} (policies {}; {expires})",
        v.address,
        me.display_name,
        me.policies.join(", ")
    );
    let cluster = cluster(v, &keeper)?;
    if !dry_run {
        let info = ExecInfo {
            api_version: crate::protocol::V1,
            interactive: false,
            cluster: Some(cluster.info.clone()),
        };
        let target = super::request::target_cluster(opts, &info)?;
        let key = super::request::entry_key(&opts.spec, &target);
        let cache = crate::cache::Cache::open(opts.cache)?;
        let minter = VaultMinter {
            vault: v,
            session: &session,
        };
        let (entry, _, _) = super::mint::mint_and_keep(
            &cache,
            &minter,
            &crate::clock::SystemClock,
            opts,
            &target,
            &key,
            &super::request::recursion_chain(opts)?,
        )?;
        eprintln!(
            "Vault issued a token for {} through {}/creds/{} (lease {})",
            opts.spec.label(),
            v.mount,
            v.role,
            entry.lease.as_deref().unwrap_or("none")
        );
    }
    Ok((cluster.name, cluster.entry))
}
