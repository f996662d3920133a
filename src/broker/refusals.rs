//! Refusals the broker answers before reading a request (a caller no rule
//! names, one over its rate limit, one with too many connections open) are
//! logged once per caller and kind in each window, with a count of the rest
//! (issue 32, finding 4): a local user who connects in a loop writes a line
//! a minute, not one per connection, into the audit log and the journal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::policy::Caller;

/// How long one line stands for a caller's refusals of one kind.
pub const WINDOW: Duration = Duration::from_secs(60);

/// What a refusal is, as the audit log's `reason` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unnamed,
    RateLimited,
    Busy,
}

/// The refusals of one caller and kind since their last line.
pub struct Unlogged {
    pub caller: Caller,
    pub count: u64,
    pub reason: String,
}

#[derive(Default)]
pub struct Refusals {
    windows: Mutex<HashMap<(u32, Kind), Window>>,
}

struct Window {
    opened: Instant,
    unlogged: u64,
    caller: Caller,
    reason: String,
}

impl Refusals {
    /// A refusal of `caller` at `now`: `true` when it opens a window (log
    /// it), `false` when it is counted for the window's closing line.
    pub fn note(&self, caller: &Caller, kind: Kind, reason: &str, now: Instant) -> bool {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match w.get_mut(&(caller.uid, kind)) {
            Some(open) if now.saturating_duration_since(open.opened) < WINDOW => {
                open.unlogged += 1;
                false
            }
            _ => {
                w.insert(
                    (caller.uid, kind),
                    Window {
                        opened: now,
                        unlogged: 0,
                        caller: caller.clone(),
                        reason: reason.to_string(),
                    },
                );
                true
            }
        }
    }

    /// The windows that closed by `now`, with what they did not log: one
    /// line each is written for those that counted any.
    pub fn closed(&self, now: Instant) -> Vec<Unlogged> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        w.retain(|_, win| {
            if now.saturating_duration_since(win.opened) < WINDOW {
                return true;
            }
            if win.unlogged > 0 {
                out.push(Unlogged {
                    caller: std::mem::take(&mut win.caller),
                    count: win.unlogged,
                    reason: std::mem::take(&mut win.reason),
                });
            }
            false
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(uid: u32) -> Caller {
        Caller {
            uid,
            ..Caller::default()
        }
    }

    #[test]
    fn one_line_per_caller_and_kind_per_window_with_a_count() {
        let r = Refusals::default();
        let t0 = Instant::now();
        assert!(r.note(&caller(5), Kind::Unnamed, "no rule", t0));
        for i in 1..=1000 {
            assert!(!r.note(
                &caller(5),
                Kind::Unnamed,
                "no rule",
                t0 + Duration::from_millis(i)
            ));
        }
        // Another caller, or another kind, has its own window.
        assert!(r.note(&caller(6), Kind::Unnamed, "no rule", t0));
        assert!(r.note(&caller(5), Kind::Busy, "busy", t0));
        assert!(r.closed(t0 + Duration::from_secs(1)).is_empty());
        let closed = r.closed(t0 + WINDOW);
        assert_eq!(closed.len(), 1, "only the window that counted any");
        assert_eq!((closed[0].caller.uid, closed[0].count), (5, 1000));
        // After the window, the next refusal is logged again.
        assert!(r.note(&caller(5), Kind::Unnamed, "no rule", t0 + WINDOW));
    }
}
