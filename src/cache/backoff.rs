//! Failed mints of an entry, so that a storm of callers (IDEs, k9s, `watch
//! kubectl`, shell prompts) gets the failure at once instead of running the
//! admin login and the API request again: `<cache dir>/failed/<key>`, one
//! small JSON record, no secret. It holds how many mints failed in a row,
//! when the next may be made, the one-line reason and exit code to answer
//! with meanwhile, and what the admin kubeconfig files looked like: a change
//! to them is a fix, tried at once.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::CacheError;
use super::key::CacheKey;
use super::paths::{self, private_dir};
use crate::parent::Audience;

/// The first window after a failure, in seconds; each failure in a row
/// doubles it, up to [`MAX_WINDOW_SECS`].
pub const FIRST_WINDOW_SECS: i64 = 5;
/// The longest window: a fixed admin side is seen within a minute.
pub const MAX_WINDOW_SECS: i64 = 60;

/// The failed mints of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Mints that failed in a row.
    pub failures: u32,
    /// Unix seconds of the last failure.
    pub at: i64,
    /// Unix seconds from which the next mint may be made.
    pub retry_at: i64,
    /// The failure's one-line message (errors never hold a secret).
    pub reason: String,
    /// Its exit code.
    pub code: u8,
    /// What the failed mint was made under: the admin kubeconfig files
    /// then ([`crate::kubeconfig::fingerprint`]) and the lifetime asked.
    pub config: String,
    /// Whom the failed call printed the reason to (kubectl's process and
    /// stderr): that command's further calls inside the window end without
    /// printing it again (kubectl runs the plugin for each request it
    /// tries, up to six for one command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_to: Option<Audience>,
    /// A failure that is not backed off (a broker's refusal, a store's
    /// error): kept only to answer that process's further calls.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub that_command_only: bool,
}

impl Failure {
    /// The record after a mint failed at `now`: one more in a row than
    /// `previous` (when its kubeconfig was the same), with a window twice
    /// as long.
    pub fn after(
        previous: Option<&Failure>,
        now: i64,
        reason: String,
        code: u8,
        config: String,
    ) -> Failure {
        let failures = previous
            .filter(|p| p.config == config)
            .map_or(1, |p| p.failures.saturating_add(1));
        let window = (FIRST_WINDOW_SECS << (failures - 1).min(16)).min(MAX_WINDOW_SECS);
        Failure {
            failures,
            at: now,
            retry_at: now.saturating_add(window),
            reason,
            code,
            config,
            shown_to: None,
            that_command_only: false,
        }
    }

    /// Whether a call at `now` answers with this failure instead of
    /// trying: inside the window (and the clock did not go back). Records
    /// of another kubeconfig ([`Failure::config`]) are not asked.
    pub fn waits(&self, now: i64) -> bool {
        (self.at..self.retry_at).contains(&now)
    }
}

fn dir() -> Result<PathBuf, CacheError> {
    Ok(super::state::bookkeeping_dir()?.join("failed"))
}

/// The failure record of `key`, if any (a damaged one reads as none).
pub fn load(key: &CacheKey) -> Option<Failure> {
    let bytes = paths::read(&dir().ok()?.join(key.as_str())).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// Records that minting `key` failed.
pub fn save(key: &CacheKey, failure: &Failure) -> Result<(), CacheError> {
    let dir = dir()?;
    private_dir(dir.parent().unwrap_or(&dir))?;
    private_dir(&dir)?;
    let bytes = serde_json::to_vec(failure).expect("a failure record serializes");
    paths::write_bookkeeping(&dir.join(key.as_str()), &bytes)
}

/// Forgets the failures of `key`, or of every entry.
pub fn forget(key: Option<&CacheKey>) {
    let Ok(dir) = dir() else { return };
    let _ = match key {
        Some(k) => std::fs::remove_file(dir.join(k.as_str())),
        None => std::fs::remove_dir_all(dir),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_from_five_seconds_to_a_minute_and_reset_on_a_new_config() {
        let mut last: Option<Failure> = None;
        let mut windows = Vec::new();
        for i in 0..7 {
            let now = 1_000 + i * 100;
            let f = Failure::after(last.as_ref(), now, "no".into(), 4, "a".into());
            windows.push(f.retry_at - f.at);
            last = Some(f);
        }
        assert_eq!(windows, [5, 10, 20, 40, 60, 60, 60]);
        let last = last.unwrap();
        assert_eq!(last.failures, 7);
        let fresh = Failure::after(Some(&last), 2_000, "no".into(), 4, "b".into());
        assert_eq!((fresh.failures, fresh.retry_at - fresh.at), (1, 5));
    }

    #[test]
    fn a_failure_holds_inside_its_window_only() {
        let f = Failure::after(None, 1_000, "no".into(), 4, "a".into());
        assert!(f.waits(1_000) && f.waits(1_004));
        assert!(!f.waits(1_005), "the window passed");
        assert!(!f.waits(999), "the clock went back");
    }
}
