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

/// `logout`: forget the identity's credentials; revoke bound tokens.
pub fn logout(opts: &GetOptions, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let spec = &opts.spec;
    let cluster = super::request::admin_cluster(spec)?;
    let key = super::request::entry_key(spec, &cluster);
    let server = &cluster.server;
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
    if removed.is_empty() {
        writeln!(
            out,
            "no cached {what} of {} on {server} was found (nothing to remove)",
            spec.label()
        )?;
    }
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
        writeln!(
            out,
            "{} the cached {what} of {} on {server}{which}{id}",
            if i == 0 { "removed" } else { "also removed" },
            spec.label()
        )?;
    }
    // Until when each credential stays valid on the server, for people.
    if let Principal::User { .. } = spec.principal {
        let until = removed
            .iter()
            .filter_map(|(_, r)| r.as_ref().map(|r| expiry(r, now)))
            .next_back()
            .unwrap_or_else(|| "its expiry".into());
        writeln!(
            out,
            "note: Kubernetes cannot revoke a client certificate; it stays valid on the server until {until} (its key was only ever in the cache, now removed); to cut the user off sooner, remove the RBAC bindings of the user and its groups"
        )?;
        return Ok(());
    }
    // The Secrets bound tokens hang on; the entry these options name may
    // have lost its record (`--bind-secret` says its Secret's name).
    let mut bound: Vec<String> = removed
        .iter()
        .filter_map(|(_, r)| r.as_ref().and_then(|r| r.bound_secret.clone()))
        .collect();
    if spec.bind_secret && !removed.iter().any(|(k, r)| *k == key && r.is_some()) {
        bound.push(spec.bound_secret_name(key.as_str()));
    }
    bound.sort();
    bound.dedup();
    if !bound.is_empty() {
        let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
        let admin = session.admin(None)?;
        for secret in &bound {
            let deleted = session.block_on(admin.delete_secret(&spec.namespace, secret))??;
            if deleted {
                writeln!(
                    out,
                    "revoked: deleted Secret {}/{secret}; the API server now rejects every token bound to it",
                    spec.namespace
                )?;
            } else {
                writeln!(
                    out,
                    "Secret {}/{secret} was already gone; tokens bound to it are not accepted",
                    spec.namespace
                )?;
            }
        }
    }
    for (_, r) in &removed {
        let Some(r) = r else { continue };
        if r.bound_secret.is_some() {
            continue;
        }
        match &r.token_secret {
            Some(secret) => writeln!(
                out,
                "note: the legacy token never expires; it stays valid until its Secret is deleted: kubectl -n {} delete secret {secret}",
                spec.namespace
            )?,
            None if spec.broker.is_some() => writeln!(
                out,
                "note: the token itself stays valid on the server until {}; it came from the broker, whose policy's maxDuration bounds how long tokens live",
                expiry(r, now)
            )?,
            None => writeln!(
                out,
                "note: the token itself stays valid on the server until {}; mint with --bind-secret to make logout revoke it",
                expiry(r, now)
            )?,
        }
    }
    if removed.iter().all(|(_, r)| r.is_none()) && bound.is_empty() && !removed.is_empty() {
        writeln!(
            out,
            "note: the token itself stays valid on the server until its expiry; mint with --bind-secret to make logout revoke it"
        )?;
    }
    Ok(())
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
