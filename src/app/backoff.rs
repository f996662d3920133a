//! Failure backoff for `get` (see [`crate::cache::backoff`]): while the
//! window of an entry's failed mint runs, a call answers with that failure
//! at once; a failed mint of the admin side records one. The use case
//! ([`super::get_token`]) asks before it mints, and again under the lock,
//! so callers that waited for a failing mint share its failure.

use crate::cache::CacheKey;
use crate::cache::backoff::Failure;
use crate::clock::Clock;
use crate::error::{Error, ExitCode};

use super::ports::FailedMints;

/// The failure of `key`'s last mints as this call's answer while its window
/// runs; else the record (its window passed), which a new failure continues.
pub(super) fn backed_off(
    failures: &dyn FailedMints,
    clock: &dyn Clock,
    key: &CacheKey,
) -> Result<Option<Failure>, Error> {
    let Some(f) = failures.get(key) else {
        return Ok(None);
    };
    let now = clock.now().unix_timestamp();
    if f.waits(now) {
        return Err(Error::BackedOff {
            reason: f.reason,
            code: ExitCode::from_code(f.code),
            failures: f.failures,
            retry_in: crate::clock::human(f.retry_at - now),
        });
    }
    Ok(Some(f))
}

/// A mint of `key` failed with `e`: recorded when it is the admin side's
/// (see [`Error::backs_off`]), one more after `previous`; `e` is the answer.
pub(super) fn failed(
    failures: &dyn FailedMints,
    clock: &dyn Clock,
    key: &CacheKey,
    previous: Option<Failure>,
    e: Error,
) -> Error {
    if e.backs_off() {
        failures.failed(key, previous.as_ref(), clock.now().unix_timestamp(), &e);
    }
    e
}
