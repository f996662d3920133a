//! The cache facade ([`Cache`]) as the `get` use case's [`TokenCache`]
//! port: its errors become the outcomes the use case branches on (a damaged
//! entry reads as none, a lock still held is [`Locked::TimedOut`], a cleared
//! entry is [`TryLock::Cleared`]).

use std::time::Duration;

use crate::cache::{Cache, CacheError, CacheKey, Entry, LockError, Record, Served, StoreKind};

use super::ports::{Locked, TokenCache, TryLock};

impl TokenCache for Cache {
    fn keeps(&self) -> bool {
        Cache::keeps(self)
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match Cache::load(self, key) {
            Err(CacheError::Corrupt(why)) => {
                tracing::warn!("ignoring a corrupt cache entry ({why}); minting a new token");
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
