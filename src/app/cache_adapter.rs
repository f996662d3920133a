//! The cache facade ([`Cache`]) as the `get` use case's [`TokenCache`]
//! port: its errors become the outcomes the use case branches on (a damaged
//! entry reads as none, a lock still held is [`Locked::TimedOut`], a cleared
//! entry is [`TryLock::Cleared`]).

use crate::kube_api::vault_login::Keeper;
use std::time::Duration;

use std::cell::OnceCell;

use crate::cache::backoff::{self, Failure};
use crate::cache::{Cache, CacheError, CacheKey, Entry, LockError, Record, Served, StoreKind};
use crate::error::Error;
use crate::options::GetOptions;

use super::ports::{FailedMints, Locked, TokenCache, TryLock};

/// Set (non-empty): a mint is tried even inside a failure's window.
pub const RETRY_NOW_ENV: &str = "KUBE_SA_TOKEN_RETRY_NOW";

/// The failure records ([`backoff`]) as the [`FailedMints`] port, for the
/// admin kubeconfig files as they are now and the lifetime this call asks:
/// a failure is answered only to calls that would make the same request
/// (issue 32: one broker caller's odd duration never backs off the others
/// of the same entry).
pub struct FailureRecords<'a> {
    opts: &'a GetOptions,
    /// [`crate::kubeconfig::fingerprint`] and the lifetime asked, taken on
    /// the first question (a cache hit asks none).
    config: OnceCell<String>,
}

impl<'a> FailureRecords<'a> {
    pub fn new(opts: &'a GetOptions) -> FailureRecords<'a> {
        FailureRecords {
            opts,
            config: OnceCell::new(),
        }
    }

    fn config(&self) -> &str {
        self.config.get_or_init(|| {
            // What mints: the admin kubeconfig, or the Vault token (a new
            // login is a new chance at once).
            let files = match &self.opts.spec.vault {
                Some(v) => format!(
                    "vault token {} login {} kept {}",
                    crate::kube_api::vault::token_fingerprint(&v.address),
                    v.login.as_ref().map_or("none".into(), |l| {
                        crate::kube_api::vault_login::input_fingerprint(l, &v.address)
                    }),
                    Keeper::fingerprint(&super::vault_keeper::VaultKeeper::new(v, false))
                ),
                None => crate::kubeconfig::fingerprint(self.opts.spec.kubeconfig.as_deref()),
            };
            if self.opts.asks_duration() {
                format!("{files} {}s", self.opts.duration.as_secs())
            } else {
                files
            }
        })
    }
}

impl FailedMints for FailureRecords<'_> {
    fn get(&self, key: &CacheKey) -> Option<Failure> {
        if std::env::var_os(RETRY_NOW_ENV).is_some_and(|v| !v.is_empty()) {
            return None;
        }
        backoff::load(key).filter(|f| f.config == self.config())
    }
    fn failed(
        &self,
        key: &CacheKey,
        previous: Option<&Failure>,
        now: i64,
        error: &Error,
        shown_to: Option<crate::parent::Audience>,
    ) -> Failure {
        let mut f = Failure::after(
            previous,
            now,
            error.to_string(),
            error.exit_code() as u8,
            self.config().to_string(),
        );
        f.shown_to = shown_to;
        f.that_command_only = !error.backs_off();
        if let Err(e) = backoff::save(key, &f) {
            tracing::debug!("could not record the failed mint: {e}");
        }
        f
    }
    fn clear(&self, key: &CacheKey) {
        backoff::forget(Some(key));
    }
}

impl TokenCache for Cache {
    fn keeps(&self) -> bool {
        Cache::keeps(self)
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match Cache::load(self, key) {
            Err(CacheError::Corrupt(why)) => {
                // Said once: `get` looks again under the entry's lock.
                static SAID: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!("ignoring a corrupt cache entry ({why}); minting a new token");
                }
                Ok(None)
            }
            other => other,
        }
    }
    fn put(
        &self,
        key: &CacheKey,
        entry: &Entry,
        record: &dyn Fn(StoreKind) -> Record,
    ) -> Result<(), CacheError> {
        Cache::put(self, key, entry, record)
    }
    fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        Cache::update(self, key, entry)
    }
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        Cache::remove(self, key)
    }
    fn lock(&self, key: &CacheKey, wait: Duration) -> Result<Locked, CacheError> {
        match Cache::lock(key, wait) {
            Ok(lock) => Ok(Locked::Taken(Some(lock))),
            Err(e @ CacheError::Lock(LockError::Timeout { .. })) => Ok(Locked::TimedOut(e)),
            Err(e) => Err(e),
        }
    }
    fn try_lock(&self, key: &CacheKey) -> Result<TryLock, CacheError> {
        match Cache::try_lock(key) {
            Ok(Some(lock)) => Ok(TryLock::Taken(Some(lock))),
            Ok(None) => Ok(TryLock::Busy),
            Err(CacheError::ClearedMeanwhile) => Ok(TryLock::Cleared),
            Err(e) => Err(e),
        }
    }
    fn last_refresh(&self, key: &CacheKey) -> Option<i64> {
        crate::cache::refresh::last_started(key)
    }
    fn note_refresh(&self, key: &CacheKey, now: i64) -> bool {
        match crate::cache::refresh::note_started(key, now) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!("no background refresh: its start cannot be recorded ({e})");
                false
            }
        }
    }
    fn last_served(&self, key: &CacheKey) -> Option<Served> {
        Cache::last_served(self, key)
    }
    fn record_served(&self, key: &CacheKey, served: &Served) {
        Cache::record_served(self, key, served)
    }
}

/// The cache as the front binary's hits use it ([`super::get::cached`]):
/// what serving a hit reads and records goes to the cache; anything that
/// changes an entry (a mint, a revalidation, a removal) calls `hand_off`,
/// the full program's. So the front binary links none of the OS keyring's
/// code, which only writes reach.
pub struct HitsOnly<'a> {
    pub cache: &'a Cache,
    pub hand_off: fn() -> !,
}

impl TokenCache for HitsOnly<'_> {
    fn keeps(&self) -> bool {
        self.cache.keeps()
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match Cache::load(self.cache, key) {
            // The full program says so (once) and mints anew.
            Err(CacheError::Corrupt(_)) => (self.hand_off)(),
            other => other,
        }
    }
    fn put(
        &self,
        _: &CacheKey,
        _: &Entry,
        _: &dyn Fn(StoreKind) -> Record,
    ) -> Result<(), CacheError> {
        (self.hand_off)()
    }
    fn update(&self, _: &CacheKey, _: &Entry) -> Result<(), CacheError> {
        (self.hand_off)()
    }
    fn remove(&self, _: &CacheKey) -> Result<bool, CacheError> {
        (self.hand_off)()
    }
    fn lock(&self, _: &CacheKey, _: Duration) -> Result<Locked, CacheError> {
        (self.hand_off)()
    }
    fn try_lock(&self, _: &CacheKey) -> Result<TryLock, CacheError> {
        (self.hand_off)()
    }
    fn last_refresh(&self, key: &CacheKey) -> Option<i64> {
        self.cache.last_refresh(key)
    }
    fn note_refresh(&self, key: &CacheKey, now: i64) -> bool {
        self.cache.note_refresh(key, now)
    }
    fn last_served(&self, key: &CacheKey) -> Option<Served> {
        TokenCache::last_served(self.cache, key)
    }
    fn record_served(&self, key: &CacheKey, served: &Served) {
        TokenCache::record_served(self.cache, key, served)
    }
}
