//! `logout`: forget one ServiceAccount's cached token (or a user's
//! certificate), and revoke it where that is possible (a token bound to a
//! Secret this tool created; never a certificate).

use std::io::Write;

use crate::cache::{self, Cache};
use crate::clock::Clock;
use crate::error::Error;
use crate::options::{GetOptions, Principal};

use super::admin_session::AdminSession;
use super::cache_cmd::expiry;

/// `logout`: forget one SA's token; revoke it when it is bound to a Secret.
pub fn logout(opts: &GetOptions, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let spec = &opts.spec;
    let cluster = super::request::admin_cluster(spec)?;
    let key = super::request::entry_key(spec, &cluster);
    let server = &cluster.server;
    // Under the entry's lock: a mint in flight (a background refresh, another
    // kubectl) finishes first and its credential goes with the rest; one that
    // started before this logout never puts a credential back afterwards.
    let _lock = Cache::lock_to_clear(&key, opts.lock_wait)?;
    let record = cache::record(&key)?;
    let removed = match &record {
        Some(r) => Cache::of_kind(r.store)?.remove(&key)?,
        None => Cache::open(opts.cache)?.remove(&key)?,
    };
    let what = match spec.principal {
        Principal::User { .. } => "certificate",
        Principal::ServiceAccount(_) => "token",
    };
    if removed {
        writeln!(
            out,
            "removed the cached {what} of {} on {server}",
            spec.label()
        )?;
    } else {
        writeln!(
            out,
            "no cached {what} of {} on {server} was found (nothing to remove)",
            spec.label()
        )?;
    }
    // Until when the credential stays valid on the server, for people.
    let until = record
        .as_ref()
        .map(|r| expiry(r, clock.now().unix_timestamp()))
        .unwrap_or_else(|| "its expiry".into());
    if let Principal::User { .. } = spec.principal {
        writeln!(
            out,
            "note: Kubernetes cannot revoke a client certificate; it stays valid on the server until {until} (its key was only ever in the cache, now removed); to cut the user off sooner, remove the RBAC bindings of the user and its groups"
        )?;
        return Ok(());
    }
    let bound = record
        .as_ref()
        .and_then(|r| r.bound_secret.clone())
        .or_else(|| {
            spec.bind_secret
                .then(|| spec.bound_secret_name(key.as_str()))
        });
    match bound {
        Some(secret) => {
            let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
            let admin = session.admin(None)?;
            let deleted = session.block_on(admin.delete_secret(&spec.namespace, &secret))??;
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
        None if record.as_ref().is_some_and(|r| r.token_secret.is_some()) => {
            let secret = record
                .as_ref()
                .and_then(|r| r.token_secret.clone())
                .unwrap_or_default();
            writeln!(
                out,
                "note: the legacy token never expires; it stays valid until its Secret is deleted: kubectl -n {} delete secret {secret}",
                spec.namespace
            )?;
        }
        None => {
            writeln!(
                out,
                "note: the token itself stays valid on the server until {until}; mint with --bind-secret to make logout revoke it"
            )?;
        }
    }
    Ok(())
}
