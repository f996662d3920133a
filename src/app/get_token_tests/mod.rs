//! `get` through its ports: an in-memory cache, a minter that signs real RS256
//! tokens, and a clock the tests move (NoCache → Valid → Expiring → Refresh).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use std::time::Duration;

use super::*;
use crate::app::ports::{FailedMints, TryLock};
use crate::app::verdict::{Verdict, judge};
use crate::cache::backoff::Failure;
use crate::cache::{CacheError, Record, StoreKind};
use crate::clock::FakeClock;
use crate::kube_api::Minted;
use crate::options::Principal;
use crate::protocol::V1;
use crate::testing::{bound, legacy, opts, user_cert};

const SERVER: &str = "https://a:6443";

fn cluster() -> ClusterIdentity {
    ClusterIdentity::new(SERVER, None, None, false).unwrap()
}

fn key() -> CacheKey {
    CacheKey::for_token(&opts().spec, &cluster(), "/home/u/.kube/config")
}

/// No failure is ever recorded (the tests not about backoff).
struct NoFailures;

impl FailedMints for NoFailures {
    fn get(&self, _: &CacheKey) -> Option<Failure> {
        None
    }
    fn failed(
        &self,
        _: &CacheKey,
        _: Option<&Failure>,
        now: i64,
        e: &Error,
        _: Option<crate::parent::Audience>,
    ) -> Failure {
        Failure::after(None, now, e.to_string(), e.exit_code() as u8, String::new())
    }
    fn clear(&self, _: &CacheKey) {}
}

#[derive(Default)]
struct MemoryCache {
    entries: RefCell<HashMap<CacheKey, Entry>>,
    records: RefCell<HashMap<CacheKey, Record>>,
    served: RefCell<HashMap<CacheKey, Served>>,
    refreshes: RefCell<HashMap<CacheKey, i64>>,
    /// Another process holds the entry's lock.
    busy: Cell<bool>,
    /// Writes fail, as on a full disk or a keyring locked since the read.
    full: bool,
    /// The refresh bookkeeping cannot be written (a full disk).
    unwritable: Cell<bool>,
    /// How long callers were ready to wait for the entry's lock, in all.
    waited: Cell<Duration>,
}

impl MemoryCache {
    /// The only entry kept (tests that cache one).
    fn only_entry(&self) -> Entry {
        let entries = self.entries.borrow();
        assert_eq!(entries.len(), 1, "one entry");
        entries.values().next().cloned().unwrap()
    }

    /// The only index record kept.
    fn only_record(&self) -> Record {
        let records = self.records.borrow();
        assert_eq!(records.len(), 1, "one record");
        records.values().next().cloned().unwrap()
    }
}

impl TokenCache for MemoryCache {
    fn keeps(&self) -> bool {
        true
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        Ok(self.entries.borrow().get(key).cloned())
    }
    fn put(
        &self,
        key: &CacheKey,
        entry: &Entry,
        record: &dyn Fn(StoreKind) -> Record,
    ) -> Result<(), CacheError> {
        let record = record(StoreKind::File);
        if self.full {
            return Err(CacheError::Io {
                path: "tokens".into(),
                source: std::io::Error::from_raw_os_error(28),
            });
        }
        self.entries.borrow_mut().insert(key.clone(), entry.clone());
        self.records.borrow_mut().insert(key.clone(), record);
        Ok(())
    }
    fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        self.entries.borrow_mut().insert(key.clone(), entry.clone());
        Ok(())
    }
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        self.records.borrow_mut().remove(key);
        Ok(self.entries.borrow_mut().remove(key).is_some())
    }
    fn lock(&self, _: &CacheKey, wait: Duration) -> Result<Locked, CacheError> {
        self.waited.set(self.waited.get() + wait);
        if self.busy.get() {
            return Ok(Locked::TimedOut(CacheError::Lock(
                crate::cache::LockError::Timeout {
                    path: "test.lock".into(),
                    timeout: wait,
                },
            )));
        }
        Ok(Locked::Taken(None))
    }
    fn try_lock(&self, _: &CacheKey) -> Result<TryLock, CacheError> {
        Ok(if self.busy.get() {
            TryLock::Busy
        } else {
            TryLock::Taken(None)
        })
    }
    fn last_refresh(&self, key: &CacheKey) -> Option<i64> {
        self.refreshes.borrow().get(key).copied()
    }
    fn note_refresh(&self, key: &CacheKey, now: i64) -> bool {
        if self.unwritable.get() {
            return false;
        }
        self.refreshes.borrow_mut().insert(key.clone(), now);
        true
    }
    fn last_served(&self, key: &CacheKey) -> Option<Served> {
        self.served.borrow().get(key).copied()
    }
    fn record_served(&self, key: &CacheKey, served: &Served) {
        self.served.borrow_mut().insert(key.clone(), *served);
    }
}

/// Mints bound tokens valid for an hour from the server's now (the clock's
/// plus `server_ahead`), or legacy tokens, and answers revalidations with
/// `username`.
struct FakeMinter<'c> {
    clock: &'c FakeClock,
    legacy: bool,
    /// The server's clock minus the local one.
    server_ahead: i64,
    /// The server cannot be asked about cached tokens.
    offline: Cell<bool>,
    mints: Cell<usize>,
    reviews: Cell<usize>,
    /// What the server says the cached token is; `None`: it rejects it.
    username: RefCell<Option<String>>,
}

impl<'c> FakeMinter<'c> {
    fn new(clock: &'c FakeClock) -> Self {
        FakeMinter {
            clock,
            legacy: false,
            server_ahead: 0,
            offline: Cell::new(false),
            mints: Cell::new(0),
            reviews: Cell::new(0),
            username: RefCell::new(Some("system:serviceaccount:team:viewer".into())),
        }
    }
}

impl Minter for FakeMinter<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        _: &ClusterIdentity,
        _: &CacheKey,
        _: &str,
    ) -> Result<Minted, Error> {
        self.mints.set(self.mints.get() + 1);
        let spec = &opts.spec;
        let now = self.clock.now().unix_timestamp() + self.server_ahead;
        let exp = now + opts.duration.as_secs() as i64;
        let credential = match &spec.principal {
            Principal::User { name, groups } => {
                let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
                Credential::Certificate(user_cert(name, &groups, now, exp))
            }
            Principal::ServiceAccount(sa) if self.legacy => {
                Credential::Token(legacy(&spec.namespace, sa))
            }
            Principal::ServiceAccount(sa) => {
                Credential::Token(bound(&spec.namespace, sa, &[], now, exp))
            }
        };
        Ok(Minted {
            credential,
            secret: None,
            ca_crt: None,
            clock_offset: Some(self.server_ahead),
            lease: None,
        })
    }
    fn why_rejected(&self, _: &Entry, _: &str) -> String {
        "its ServiceAccount was deleted and recreated".into()
    }
    fn review(&self, e: &Entry, _: &ExecInfo, _: &str) -> Result<Review, Error> {
        self.reviews.set(self.reviews.get() + 1);
        if self.offline.get() {
            return Ok(Review::Unknown(
                crate::kube_api::KubeApiError::Unreachable {
                    server: e.cluster.server.clone(),
                    detail: "connection timed out".into(),
                },
            ));
        }
        Ok(match self.username.borrow().clone() {
            Some(u) => Review::Accepted(Some(u)),
            None => Review::Rejected,
        })
    }
}

fn info() -> ExecInfo {
    ExecInfo {
        api_version: V1,
        interactive: false,
        cluster: None,
    }
}

const KUBECTL: Parent = Parent {
    pid: 4242,
    start: 1,
};

fn try_run_as(
    parent: Parent,
    cache: &MemoryCache,
    minter: &FakeMinter<'_>,
    opts: &GetOptions,
) -> Result<Issued, Error> {
    GetToken {
        cache,
        minter,
        clock: minter.clock,
        parent: Some(parent),
        background: None,
        failures: &NoFailures,
    }
    .run(opts, &info(), &cluster(), &key())
}

/// A call from a new kubectl process each time.
fn try_run(
    cache: &MemoryCache,
    minter: &FakeMinter<'_>,
    opts: &GetOptions,
) -> Result<Issued, Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(100_000);
    let parent = Parent {
        pid: NEXT.fetch_add(1, Ordering::Relaxed),
        start: 1,
    };
    try_run_as(parent, cache, minter, opts)
}

fn run(cache: &MemoryCache, minter: &FakeMinter<'_>, opts: &GetOptions) -> Issued {
    try_run(cache, minter, opts).unwrap()
}

fn entry(token: crate::secret::Token, server: &str, checked_at: i64) -> Entry {
    Entry {
        credential: Credential::Token(token),
        cluster: ClusterIdentity::new(server, None, None, false).unwrap(),
        clock_offset: 0,
        namespace: "team".into(),
        service_account: "viewer".into(),
        user: None,
        groups: vec![],
        minted_at: checked_at,
        checked_at,
        secret: None,
        asked_secs: None,
        revalidate_secs: None,
        cache_dir: None,
        lease: None,
    }
}

/// Counts the background refreshes it was asked to start.
#[derive(Default)]
struct Starts(Cell<usize>);

impl Background for Starts {
    fn start(&self, _: &GetOptions) -> Result<(), String> {
        self.0.set(self.0.get() + 1);
        Ok(())
    }
}

mod backoff;
mod refresh;
mod revalidation;
mod tokens;
mod users;
