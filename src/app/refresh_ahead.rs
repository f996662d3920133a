//! Refresh ahead: once per token lifetime a kubectl call would wait for a
//! mint, which on a real cluster includes the admin's cloud login (0.5-5 s).
//! Instead, a hit past the middle of its token's serve window answers at once
//! and starts one detached `get --refresh-in-background`, which mints the
//! successor under the entry's lock. After the first mint, no kubectl call
//! waits for one as long as calls come at least once per half window.
//!
//! One refresh at a time: a hit does not start one while the entry's lock is
//! held (a mint is running), nor within a minute of the last start; the
//! background process takes the lock without waiting and, under it, mints
//! only if the entry is still due. Legacy tokens are not refreshed this way.
//! Failures go to `<cache dir>/refresh.log` (shown by `doctor`), never to the
//! foreground.

use crate::cache::CacheKey;
use crate::options::{GetOptions, Principal};

use super::ports::{Background, TokenCache, TryLock};

/// The shortest time between two background refreshes of one entry: a
/// refresh that fails (the admin's login expired) is not retried on every
/// kubectl call.
const RETRY_SECS: i64 = 60;

/// Starts a background refresh of `key` with `background` unless one runs or
/// just ran (`now`: unix seconds).
pub(super) fn start(
    cache: &dyn TokenCache,
    background: &dyn Background,
    opts: &GetOptions,
    key: &CacheKey,
    now: i64,
) {
    if !refreshable(opts) {
        return;
    }
    if cache
        .last_refresh(key)
        .is_some_and(|t| now.saturating_sub(t) < RETRY_SECS && t <= now)
    {
        return;
    }
    match cache.try_lock(key) {
        Ok(TryLock::Taken(lock)) => drop(lock),
        // Held: a mint is running; or the lock cannot be taken at all.
        Ok(TryLock::Busy | TryLock::Cleared) | Err(_) => return,
    }
    // No record, no start: without it every hit would start another.
    if !cache.note_refresh(key, now) {
        return;
    }
    match background.start(opts) {
        Ok(()) => tracing::debug!("refreshing the token in the background"),
        Err(e) => tracing::debug!("could not start a background refresh: {e}"),
    }
}

/// Whether an entry is refreshed in the background at all: not a user whose
/// CSR someone else must approve (`--no-approve`): nobody would see the CSR's
/// name, and it would wait until its timeout every minute.
pub(super) fn refreshable(opts: &GetOptions) -> bool {
    match opts.spec.principal {
        Principal::User { .. } => opts.approve,
        Principal::ServiceAccount(_) => true,
    }
}
