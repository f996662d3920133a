//! A caller that runs `get` again before the expiry it was given: how
//! client-go re-runs the plugin after a 401. [`super::get_token::GetToken`]
//! then checks the cached token with the server before serving it again.
//! Each serve is recorded (who, until when, when last checked) for this.

use time::OffsetDateTime;

use crate::cache::Served;
use crate::parent::Parent;

/// A caller that comes back this long before the expiry it was given is
/// not refreshing on schedule: kube-rs refreshes 60 s before it, client-go
/// at it. Earlier, the same caller is re-running the plugin after a 401.
const REFRESH_SLACK_SECS: i64 = 90;

/// One check per caller at most this often: a script or a benchmark that
/// runs `get` in a loop from one shell looks like a client re-running the
/// plugin each time; it costs one SelfSubjectReview per half minute, not one
/// per call.
const CHECK_COOLDOWN_SECS: i64 = 30;

/// Did the caller `me` get this entry before (`last`), with an expiry
/// still ahead, and was it not checked for it just now?
pub(super) fn reinvoked(me: Option<Parent>, last: Option<Served>, now: OffsetDateTime) -> bool {
    let (Some(me), Some(last)) = (me, last) else {
        return false;
    };
    let now = now.unix_timestamp();
    last.parent == me
        && last.at <= now
        && now < last.until.saturating_sub(REFRESH_SLACK_SECS)
        && now.saturating_sub(last.checked) >= CHECK_COOLDOWN_SECS
}

/// The record of a serve to `parent` at `now` until `until`; `checked`:
/// the token was just checked with the server for this caller, else
/// `last`'s check time carries over for the same caller.
pub(super) fn serve(
    parent: Parent,
    now: OffsetDateTime,
    until: OffsetDateTime,
    checked: bool,
    last: Option<Served>,
) -> Served {
    let now = now.unix_timestamp();
    Served {
        parent,
        at: now,
        until: until.unix_timestamp(),
        checked: if checked {
            now
        } else {
            last.filter(|s| s.parent == parent).map_or(0, |s| s.checked)
        },
    }
}
