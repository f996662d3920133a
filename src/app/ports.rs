//! The ports of the `get` use case ([`super::get_token::GetToken`]): where
//! tokens are kept and where they come from. Production: the cache facade
//! ([`super::cache_adapter`]) and [`super::kube_minter::KubeMinter`]; tests:
//! in-memory fakes. The use case branches on what these answer, never on
//! an adapter's error variants.

use std::time::Duration;

use crate::cache::backoff::Failure;
use crate::cache::{CacheError, CacheKey, Entry, FileLock, Record, Served, StoreKind};
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::kube_api::{KubeApiError, Minted};
use crate::options::GetOptions;
use crate::protocol::ExecInfo;

/// Where tokens are kept, as `get` sees it ([`Cache`] in production).
pub trait TokenCache {
    /// The entry; a damaged one reads as none (the adapter says so on
    /// stderr), so that it is minted again.
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError>;
    /// Whether anything is kept (not `--cache none`).
    fn keeps(&self) -> bool;
    /// Stores a new entry with its index record, made for the store that
    /// took it.
    fn put(
        &self,
        key: &CacheKey,
        entry: &Entry,
        record: &dyn Fn(StoreKind) -> Record,
    ) -> Result<(), CacheError>;
    /// Replaces an entry (a revalidation).
    fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError>;
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError>;
    /// The entry's lock, held through a mint; `None` where nothing is shared.
    fn lock(&self, key: &CacheKey, wait: Duration) -> Result<Locked, CacheError>;
    /// The entry's lock, without waiting.
    fn try_lock(&self, key: &CacheKey) -> Result<TryLock, CacheError>;
    /// When a background refresh of the entry was last started (unix secs).
    fn last_refresh(&self, key: &CacheKey) -> Option<i64>;
    /// Records that a background refresh starts now; `false` when that
    /// could not be recorded (and so none may start: the once-a-minute gate
    /// holds only where it is written down).
    fn note_refresh(&self, key: &CacheKey, now: i64) -> bool;
    /// Who was last served the entry, and until when.
    fn last_served(&self, key: &CacheKey) -> Option<Served>;
    /// Records a serve (best effort: a failure costs a missed check only).
    fn record_served(&self, key: &CacheKey, served: &Served);
}

/// Where tokens come from, as `get` sees it.
pub trait Minter {
    /// Mints a token for `opts` on `target`, the cluster kubectl talks to
    /// (refused if the admin context is not on it); `chain` is the recursion
    /// chain to hand to the admin's exec plugins.
    fn mint(
        &self,
        opts: &GetOptions,
        target: &ClusterIdentity,
        key: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error>;
    /// What the server says of `entry`'s credential (a SelfSubjectReview
    /// made with it, on the cluster `info` describes, else the admin
    /// context's). `chain` as for [`Minter::mint`]: the admin context may be
    /// asked. `Err` only for what stops the command (a recursion).
    fn review(&self, entry: &Entry, info: &ExecInfo, chain: &str) -> Result<Review, Error>;
    /// Why the server rejected `entry`'s token, for the one line `get`
    /// prints when it replaced it ("its ServiceAccount was deleted and
    /// recreated", ...). Asks the admin context; never fails.
    fn why_rejected(&self, entry: &Entry, chain: &str) -> String;
}

/// What the server said of a cached credential ([`Minter::review`]).
pub enum Review {
    /// Accepted, as this user (`None`: the answer named nobody).
    Accepted(Option<String>),
    /// Rejected (HTTP 401): the credential is dead.
    Rejected,
    /// Not known: the server could not be asked, or the cluster binding
    /// forbade sending it there; why.
    Unknown(KubeApiError),
}

/// The outcome of [`TokenCache::try_lock`].
pub enum TryLock {
    /// Taken (held until dropped; `None` where nothing is shared).
    Taken(Option<FileLock>),
    /// Another process holds it: it is minting.
    Busy,
    /// The entry was cleared (logout, cache clear) after this process
    /// started: nothing may be kept for it any more.
    Cleared,
}

/// The outcome of [`TokenCache::lock`].
pub enum Locked {
    /// Taken (held until dropped; `None` where nothing is shared).
    Taken(Option<FileLock>),
    /// Still held by another process when the wait was over; the error to
    /// report if the caller does not go on without it.
    TimedOut(CacheError),
}

/// Starts a refresh of the entry `opts` names in the background, detached
/// from the caller.
/// The failed mints of entries (see [`crate::cache::backoff`]): a caller
/// inside a failure's window answers with it instead of trying again.
pub trait FailedMints {
    /// The record of `key`, if one applies: none when the admin kubeconfig
    /// changed since it was written, or the user asked to retry now.
    fn get(&self, key: &CacheKey) -> Option<Failure>;
    /// Records that minting `key` failed at `now` (one more in a row than
    /// `previous`), shown to `shown_to`; the record written. A failure that
    /// is not backed off ([`Error::backs_off`]) is recorded for that
    /// process's further calls only.
    fn failed(
        &self,
        key: &CacheKey,
        previous: Option<&Failure>,
        now: i64,
        error: &Error,
        shown_to: Option<crate::parent::Audience>,
    ) -> Failure;
    /// Forgets the failures of `key` (a mint succeeded).
    fn clear(&self, key: &CacheKey);
}

pub trait Background {
    fn start(&self, opts: &GetOptions) -> Result<(), String>;
}
