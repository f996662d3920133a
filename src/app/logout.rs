//! `logout`: forget every cached credential of one identity on one cluster
//! (a ServiceAccount's tokens, a user's certificates: the entry these
//! options name and those minted with other options for the same identity),
//! and revoke what can be revoked (tokens bound to a Secret this tool
//! created; never a certificate).

use std::io::Write;

use crate::cache::{self, Cache, CacheKey, Record};
use crate::clock::Clock;
use crate::error::Error;
use crate::options::{GetOptions, Principal, TokenSpec};

use super::admin_session::AdminSession;
use super::cache_cmd::expiry;
use super::vault_keeper::VaultKeeper;

/// Whether `record` is an entry of the identity `spec` names.
fn same_identity(record: &Record, spec: &TokenSpec) -> bool {
    match &spec.principal {
        Principal::ServiceAccount(sa) => {
            record.user.is_none()
                && record.namespace == spec.namespace
                && record.service_account == *sa
        }
        Principal::User { name, .. } => record.user.as_deref() == Some(name.as_str()),
    }
}

/// The index's entry of a Vault role's identity, for when Vault cannot be
/// asked which cluster it is on.
fn vault_entry(spec: &TokenSpec) -> Result<Option<(CacheKey, Record)>, Error> {
    let Some(v) = &spec.vault else {
        return Ok(None);
    };
    let origin = v.engine();
    let source = format!("vault:{}", v.role);
    Ok(cache::list()?
        .into_iter()
        .find(|(_, r)| r.admin_context == origin && r.source == source && same_identity(r, spec)))
}

/// `logout`: forget the identity's credentials; revoke bound tokens.
pub fn logout(opts: &GetOptions, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let spec = &opts.spec;
    let (key, server) = match super::request::admin_cluster(spec) {
        Ok(cluster) => (super::request::entry_key(spec, &cluster), cluster.server),
        // Vault cannot say its engine's cluster now (no token, down): the
        // identity's entries are found in the index, and forgotten all the
        // same.
        Err(e) if spec.vault.is_some() => match vault_entry(spec)? {
            Some((k, r)) => {
                tracing::warn!("{e}; forgetting what the cache holds");
                (k, r.server)
            }
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let server = &server;
    let what = match spec.principal {
        Principal::User { .. } => "certificate",
        Principal::ServiceAccount(_) => "token",
    };
    // The entry these options name first, then the identity's others on
    // this cluster (another --audience, --source, --bind-secret, group set,
    // admin context or kubeconfig list).
    let mut targets: Vec<(CacheKey, Option<Record>)> = vec![(key.clone(), cache::record(&key)?)];
    for (k, r) in cache::list()? {
        if k != key && r.server == *server && same_identity(&r, spec) {
            targets.push((k, Some(r)));
        }
    }
    let now = clock.now().unix_timestamp();
    let mut removed: Vec<(CacheKey, Option<Record>)> = Vec::new();
    for (k, record) in targets {
        // Under the entry's lock: a mint in flight (a background refresh,
        // another kubectl) finishes first and its credential goes with the
        // rest; one that started before this logout never puts a credential
        // back afterwards.
        let _lock = Cache::lock_to_clear(&k, opts.lock_wait)?;
        let gone = match &record {
            Some(r) => Cache::of_kind(r.store)?.remove(&k)?,
            None => Cache::open(opts.cache)?.remove(&k)?,
        };
        if gone {
            removed.push((k, record));
        }
    }
    let label = spec.label();
    if removed.is_empty() {
        writeln!(
            out,
            "no cached {what} of {label} on {server} was found (nothing to remove)"
        )?;
    }
    // The Admin session is opened only when a Secret is to be deleted.
    let mut revoker = Revoker {
        opts,
        session: None,
        done: Vec::new(),
    };
    // One line per entry, each with its own outcome.
    for (i, (k, record)) in removed.iter().enumerate() {
        let which = match record {
            Some(r) if i > 0 => format!(" (entry {}: {})", &k.as_str()[..12], describe(r)),
            _ => String::new(),
        };
        // The id the audit log knows its requests by, to look them up.
        let id = record
            .as_ref()
            .and_then(|r| r.credential_id.as_deref())
            .map(|id| format!(" [credential id {id}]"))
            .unwrap_or_default();
        let outcome = match record {
            Some(r) => outcome(r, spec, now, &mut revoker)?,
            // The record is lost: `--bind-secret` says its Secret's name.
            None if spec.bind_secret && *k == key => {
                revoker.revoke(&spec.bound_secret_name(key.as_str()))?
            }
            None => format!("the {what} itself stays valid on the server until its expiry"),
        };
        writeln!(
            out,
            "removed the cached {what} of {label} on {server}{which}{id}: {outcome}"
        )?;
    }
    // A person's Vault login kept for this entry's mints goes too.
    if let Some(v) = &spec.vault
        && let Some(login) = v.login.as_ref().filter(|l| l.method.is_person())
    {
        let label = login.label();
        match revoker.log_out_of_vault(v) {
            Ok(true) => writeln!(
                out,
                "logged out of Vault: revoked and removed the kept {label} (the next mint through it asks the person again)"
            )?,
            Ok(false) => {}
            Err(e) => writeln!(
                out,
                "the kept Vault {label} could not be revoked ({e}); it is still kept: run logout again when Vault answers"
            )?,
        }
    }
    // Nothing cached, but a Secret an earlier `--bind-secret` mint left.
    if removed.is_empty() && spec.bind_secret {
        let secret = spec.bound_secret_name(key.as_str());
        if revoker.delete(&secret)? {
            writeln!(
                out,
                "revoked: deleted Secret {}/{secret} an earlier mint left; the API server now rejects every token bound to it",
                spec.namespace
            )?;
        }
    }
    Ok(())
}

/// What became of one removed entry's credential on the server.
fn outcome(r: &Record, spec: &TokenSpec, now: i64, revoker: &mut Revoker) -> Result<String, Error> {
    let namespace = &spec.namespace;
    if r.user.is_some() {
        return Ok(format!(
            "it stays valid on the server until {} (Kubernetes cannot revoke a client certificate; to cut the user off sooner, remove the RBAC bindings of the user and its groups)",
            expiry(r, now)
        ));
    }
    if let Some(secret) = &r.bound_secret {
        return revoker.revoke(secret);
    }
    if let (Some(lease), Some(v)) = (&r.lease, &spec.vault) {
        if let Err(e) = revoker.revoke_lease(v, lease) {
            return Ok(format!(
                "its Vault lease {lease} could not be revoked ({e}); the token stays valid on the server until {} (revoke it later: `bao lease revoke {lease}`)",
                expiry(r, now)
            ));
        }
        if spec.service_account() == Some(crate::options::GENERATED_SA) {
            return Ok(format!(
                "revoked its Vault lease {lease}: the engine deleted the ServiceAccount it had made for the token, and the API server rejects the token from now on (within its few seconds of authentication cache)"
            ));
        }
        return Ok(format!(
            "revoked its Vault lease {lease}; the token itself stays valid on the server until {} (the engine cannot revoke a token of a ServiceAccount it did not create: delete and recreate {}/{} to cut it off sooner)",
            expiry(r, now),
            r.namespace,
            r.service_account
        ));
    }
    Ok(match &r.token_secret {
        Some(secret) => format!(
            "the legacy token never expires; it stays valid until its Secret is deleted: kubectl -n {namespace} delete secret {secret}"
        ),
        None if spec.vault.is_some() => format!(
            "the token itself stays valid on the server until {}; Vault has no lease of it on record",
            expiry(r, now)
        ),
        None if spec.broker.is_some() => format!(
            "the token itself stays valid on the server until {}; it came from the broker, whose policy's maxDuration bounds how long tokens live",
            expiry(r, now)
        ),
        None => format!(
            "the token itself stays valid on the server until {}; mint with --bind-secret to make logout revoke it",
            expiry(r, now)
        ),
    })
}

/// Deletes the Secrets bound tokens hang on, each once, through one admin
/// session opened on first use.
struct Revoker<'a> {
    opts: &'a GetOptions,
    session: Option<AdminSession<'a>>,
    done: Vec<String>,
}

impl Revoker<'_> {
    /// Deletes `secret`; `Ok(false)` when it was already gone.
    fn delete(&mut self, secret: &str) -> Result<bool, Error> {
        let spec = &self.opts.spec;
        let session = self.session.get_or_insert_with(|| {
            AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context)
        });
        let admin = session.admin(None)?;
        Ok(session.block_on(admin.delete_secret(&spec.namespace, secret))??)
    }

    /// Revokes a Vault lease with this account's Vault token.
    fn revoke_lease(&mut self, v: &crate::options::VaultRef, lease: &str) -> Result<(), Error> {
        use crate::kube_api::vault::VaultClient;
        use crate::kube_api::vault_login::{UsedToken, with_token};
        let session = self
            .session
            .get_or_insert_with(|| AdminSession::new(None, ""));
        let keeper = VaultKeeper::new(v, session.may_prompt());
        Ok(session.block_on(with_token(
            v,
            &keeper,
            async |client: &VaultClient, used: &UsedToken| client.revoke(&used.token, lease).await,
        ))??)
    }

    /// Logs a person's kept Vault login out (`--vault-login
    /// userpass|ldap|oidc`); `Ok(false)` when none was kept.
    fn log_out_of_vault(&mut self, v: &crate::options::VaultRef) -> Result<bool, Error> {
        use crate::kube_api::vault::VaultClient;
        let session = self
            .session
            .get_or_insert_with(|| AdminSession::new(None, ""));
        let keeper = VaultKeeper::new(v, false);
        Ok(session.block_on(async {
            crate::kube_api::vault_login::log_out(&VaultClient::new(v)?, &keeper).await
        })??)
    }

    /// The outcome line of revoking through `secret`.
    fn revoke(&mut self, secret: &str) -> Result<String, Error> {
        let ns = &self.opts.spec.namespace;
        if self.done.iter().any(|s| s == secret) {
            return Ok(format!("revoked with Secret {ns}/{secret} (above)"));
        }
        self.done.push(secret.to_string());
        Ok(if self.delete(secret)? {
            format!(
                "revoked: deleted Secret {ns}/{secret}; the API server now rejects every token bound to it"
            )
        } else {
            format!(
                "revoked: Secret {ns}/{secret} was already gone; tokens bound to it are not accepted"
            )
        })
    }
}

/// What sets an entry apart from the identity's others, for the list.
fn describe(r: &Record) -> String {
    let mut parts = vec![format!("via {}", r.admin_context), r.source.clone()];
    if !r.audiences.is_empty() {
        parts.push(format!("audience {}", r.audiences.join(",")));
    }
    if !r.groups.is_empty() {
        parts.push(format!("groups {}", r.groups.join(",")));
    }
    if let Some(s) = &r.bound_secret {
        parts.push(format!("bound to Secret {s}"));
    }
    parts.push(format!("in the {} store", r.store));
    parts.join(", ")
}
