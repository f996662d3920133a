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

use time::OffsetDateTime;

use crate::cache::{self, Cache, CacheError, CacheKey};
use crate::clock::{Clock, rfc3339};
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::options::GetOptions;
use crate::protocol::ExecInfo;

use super::admin_session::AdminSession;
use super::background::BACKGROUND_DEADLINE;
use super::get_token::{GetToken, target_cluster};
use super::minter::KubeMinter;
use super::ports::TryLock;
use super::verdict::{Verdict, judge};

/// The shortest time between two background refreshes of one entry: a
/// refresh that fails (the admin's login expired) is not retried on every
/// kubectl call.
const RETRY_SECS: i64 = 60;

impl GetToken<'_> {
    /// Starts a background refresh of `key` unless one runs or just ran.
    pub(super) fn refresh_ahead(&self, opts: &GetOptions, key: &CacheKey, now: OffsetDateTime) {
        let Some(background) = self.background else {
            return;
        };
        if !refreshable(opts) {
            return;
        }
        let now = now.unix_timestamp();
        if self
            .cache
            .last_refresh(key)
            .is_some_and(|t| now.saturating_sub(t) < RETRY_SECS && t <= now)
        {
            return;
        }
        match self.cache.try_lock(key) {
            Ok(TryLock::Taken(lock)) => drop(lock),
            // Held: a mint is running; or the lock cannot be taken at all.
            Ok(TryLock::Busy) | Err(_) => return,
        }
        // No record, no start: without it every hit would start another.
        if !self.cache.note_refresh(key, now) {
            return;
        }
        match background.start(opts) {
            Ok(()) => tracing::debug!("refreshing the token in the background"),
            Err(e) => tracing::debug!("could not start a background refresh: {e}"),
        }
    }

    /// The background refresh itself: mints the successor under the entry's
    /// lock, unless another process holds it or the entry is not due any
    /// more. `Ok(true)` when a token was minted.
    pub fn refresh_now(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<bool, Error> {
        let _lock = match self.cache.try_lock(key) {
            Ok(TryLock::Taken(lock)) => lock,
            // Another process mints; or the entry was logged out since this
            // refresh started: it must not come back.
            Ok(TryLock::Busy) | Err(CacheError::ClearedMeanwhile) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let due = match self.cache.load(key) {
            Ok(Some(entry)) => matches!(
                judge(&entry, opts, target, self.clock.now())?,
                Verdict::Serve {
                    refresh_due: true,
                    ..
                } | Verdict::Mint(_)
            ),
            Ok(None) | Err(CacheError::Corrupt(_)) => true,
            Err(e) => return Err(e.into()),
        };
        if !due {
            return Ok(false);
        }
        self.mint_and_keep(opts, target, key, chain)?;
        Ok(true)
    }
}

/// Whether an entry is refreshed in the background at all: not a user whose
/// CSR someone else must approve (`--no-approve`): nobody would see the CSR's
/// name, and it would wait until its timeout every minute.
fn refreshable(opts: &GetOptions) -> bool {
    opts.approve || !opts.spec.is_user()
}

/// Ends this background refresh and everything it started (the admin's exec
/// plugin and its children: the refresh leads its own process group) once
/// [`BACKGROUND_DEADLINE`] passes, after logging why.
fn watchdog(line: String) {
    std::thread::spawn(move || {
        std::thread::sleep(BACKGROUND_DEADLINE);
        let _ = cache::refresh::log_failure(&line);
        #[cfg(unix)]
        // SAFETY: getpgrp/getpid cannot fail; kill(0, ..) signals our own
        // process group, which is ours alone when we lead it (setsid).
        unsafe {
            if libc::getpgrp() == libc::getpid() {
                libc::kill(0, libc::SIGKILL);
            }
        }
        std::process::exit(1);
    });
}

/// `get --refresh-in-background`: no output; failures are logged for `doctor`.
pub fn refresh(opts: &GetOptions, clock: &dyn Clock) -> Result<(), Error> {
    let info = ExecInfo::from_env()?;
    let target = target_cluster(opts, &info)?;
    let key = super::entry_key(&opts.spec, &target);
    let spec = &opts.spec;
    if !refreshable(opts) {
        return Ok(());
    }
    watchdog(format!(
        "{} {} (entry {key}): the background refresh did not finish within {}s (a slow or stuck admin login?); it was ended, and the next mint runs in the foreground",
        rfc3339(clock.now()),
        spec.label(),
        BACKGROUND_DEADLINE.as_secs()
    ));
    let result = (|| {
        let chain = super::get_token::recursion_chain(opts)?;
        let admin = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context).headless();
        let cache = Cache::open(opts.cache)?;
        GetToken {
            cache: &cache,
            minter: &KubeMinter { session: &admin },
            clock,
            parent: None,
            background: None,
        }
        .refresh_now(opts, &target, &key, &chain)
    })();
    if let Err(e) = &result {
        let line = format!(
            "{} {} (entry {key}): {e}",
            rfc3339(clock.now()),
            spec.label()
        );
        let _ = cache::refresh::log_failure(&line);
    }
    result.map(drop)
}
