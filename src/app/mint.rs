//! Minting and keeping a credential, the tail of the `get` use case (and of a
//! background refresh): the server's clock, the new token's checks, the
//! entry and its index record.

use time::OffsetDateTime;

use crate::cache::{CacheKey, Entry, Record};
use crate::clock::Clock;
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::jwt::{self, Fresh};
use crate::options::{GetOptions, Principal};

use super::ports::{Minter, TokenCache};
use super::verdict::judge_credential;
use crate::clock::{MAX_OFFSET_SECS, after, shift};

/// Mints a token for `opts` with `minter` and keeps it in `cache`; returns
/// the entry, when the client must come back (local time), and the time of
/// the mint.
pub(super) fn mint_and_keep(
    cache: &dyn TokenCache,
    minter: &dyn Minter,
    clock: &dyn Clock,
    opts: &GetOptions,
    target: &ClusterIdentity,
    key: &CacheKey,
    chain: &str,
) -> Result<(Entry, OffsetDateTime, OffsetDateTime), Error> {
    let spec = &opts.spec;
    let minted = minter.mint(opts, target, key, chain)?;
    let now = clock.now();
    // The server's clock, from its answer (else from a token's own iat):
    // the credential's times are in server time, kubectl compares in
    // local time.
    let iat = || {
        let (_, claims) = jwt::decode(minted.credential.token()?).ok()?;
        claims.iat
    };
    let offset = minted
        .clock_offset
        .or_else(|| iat().map(|iat| iat.saturating_sub(now.unix_timestamp())))
        .unwrap_or(0)
        .clamp(-MAX_OFFSET_SECS, MAX_OFFSET_SECS);
    // Both sources count whole seconds of the server's clock: a second either
    // way is their resolution, not a skew (and would move every expiry the
    // client is given by a second, depending on when the request ran).
    let offset = if offset.abs() <= 1 { 0 } else { offset };
    if offset.abs() > jwt::SKEW_SECS {
        tracing::info!(
            "this machine's clock is {}s {} the API server's; credential times are judged in server time",
            offset.abs(),
            if offset > 0 { "behind" } else { "ahead of" }
        );
    }
    let server_now = shift(now, offset);
    let what = format!("new {}", minted.credential.kind());
    // A credential the server has just issued is valid by the server's
    // clock: its iat/nbf/NotBefore are not held against it.
    let judged = match judge_credential(&minted.credential, spec, server_now, true) {
        Ok(j) => j,
        Err(why) => {
            let check = match spec.principal {
                Principal::User { .. } => "check --user, --group and --duration",
                Principal::ServiceAccount(_) => {
                    "check --service-account, --audience and --duration"
                }
            };
            return Err(Error::CheckFailed(format!(
                "the server returned a {} that cannot be used: {}; {check}",
                minted.credential.kind(),
                why.describe(&format!("the {what}"))
            )));
        }
    };
    if let Some(exp) = judged.expires
        && opts.asks_duration()
        && exp.saturating_sub(server_now.unix_timestamp()) + 60 < opts.duration.as_secs() as i64
    {
        tracing::info!(
            "the server shortened the {} lifetime to {}s (asked for {}s)",
            minted.credential.kind(),
            exp.saturating_sub(server_now.unix_timestamp()),
            opts.duration.as_secs()
        );
    }
    if let Some(id) = crate::credential_id::of(&minted.credential) {
        tracing::info!(
            "minted a {} for {}: credential id {id} (the API server's audit log names its requests with it)",
            minted.credential.kind(),
            spec.label()
        );
    }
    let expires = match judged.fresh {
        Fresh::Until(t) => shift(t, -offset),
        Fresh::NoExpiry => after(now, opts.revalidate),
    };
    let (namespace, service_account, user, groups) = match &spec.principal {
        Principal::ServiceAccount(sa) => (spec.namespace.clone(), sa.clone(), None, Vec::new()),
        Principal::User { name, groups } => (
            String::new(),
            String::new(),
            Some(name.clone()),
            groups.clone(),
        ),
    };
    let entry = Entry {
        credential: minted.credential,
        cluster: target.clone(),
        clock_offset: offset,
        namespace,
        service_account,
        user,
        groups,
        minted_at: now.unix_timestamp(),
        checked_at: now.unix_timestamp(),
        secret: minted.secret,
        asked_secs: opts.asks_duration().then_some(opts.duration.as_secs()),
        revalidate_secs: Some(opts.revalidate.as_secs()),
        cache_dir: crate::cache::dir_label(),
        lease: minted.lease,
    };
    if cache.keeps() {
        let record = |store| Record::new(&entry, spec, store);
        // The token is good whether or not it can be kept: a full disk, a
        // key quota, a keyring locked since the read must not fail kubectl.
        if let Err(e) = cache.put(key, &entry, &record) {
            tracing::warn!(
                "the new {} works but could not be cached, so the next call mints again: {e}; `kube-sa-token doctor` checks the store (free space, key quota), `kube-sa-token cache clear` removes entries no longer used",
                entry.credential.kind()
            );
        }
    }
    Ok((entry, expires, now))
}
