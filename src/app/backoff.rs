//! Failure backoff for `get` (see [`crate::cache::backoff`]): while the
//! window of an entry's failed mint runs, a call answers with that failure
//! at once; a failed mint of the admin side records one. The use case
//! ([`super::get_token`]) asks before it mints, and again under the lock,
//! so callers that waited for a failing mint share its failure.

use crate::cache::CacheKey;
use crate::cache::backoff::Failure;
use crate::clock::Clock;
use crate::error::{Error, ExitCode};
use crate::parent::Parent;

use super::ports::FailedMints;

/// The failure of `key`'s last mints as this call's answer while its window
/// runs (quiet for the command it was shown to: kubectl printed it once);
/// else the record (its window passed), which a new failure continues.
pub(super) fn backed_off(
    failures: &dyn FailedMints,
    clock: &dyn Clock,
    key: &CacheKey,
    parent: Option<Parent>,
) -> Result<Option<Failure>, Error> {
    let Some(f) = failures.get(key) else {
        return Ok(None);
    };
    let now = clock.now().unix_timestamp();
    let here = crate::parent::audience(parent);
    let shown_here = here.is_some() && f.shown_to == here;
    if f.that_command_only {
        // Answers only the command that saw it; for others it is no record.
        if !(shown_here && f.waits(now)) {
            return Ok(None);
        }
    } else if !f.waits(now) {
        return Ok(Some(f));
    }
    Err(Error::BackedOff {
        reason: f.reason,
        code: ExitCode::from_code(f.code),
        failures: f.failures,
        retry_in: crate::clock::human(f.retry_at - now),
        quiet: shown_here,
    })
}

/// A mint of `key` failed with `e`, shown to `parent`'s stderr: recorded when it is
/// the admin side's (see [`Error::backs_off`]), one more after `previous`;
/// any other failure only for `parent`'s further calls; `e` is the answer.
pub(super) fn failed(
    failures: &dyn FailedMints,
    clock: &dyn Clock,
    key: &CacheKey,
    previous: Option<Failure>,
    e: Error,
    parent: Option<Parent>,
) -> Error {
    let now = clock.now().unix_timestamp();
    let here = crate::parent::audience(parent);
    if e.backs_off() {
        failures.failed(key, previous.as_ref(), now, &e, here);
    } else if here.is_some() {
        failures.failed(key, None, now, &e, here);
    }
    e
}
