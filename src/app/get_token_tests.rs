//! `get` through its ports: an in-memory cache, a minter that signs real RS256
//! tokens, and a clock the tests move (NoCache → Valid → Expiring → Refresh).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use std::time::Duration;

use super::*;
use crate::app::ports::TryLock;
use crate::app::verdict::{Verdict, judge};
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

#[test]
fn no_cache_then_valid_then_expiring_then_refreshed() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();

    // NoCache: minted, cached, served until exp minus 20% of 1h.
    let first = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 1);
    assert_eq!(first.expires.unix_timestamp(), 1_003_600 - 720);
    let record = cache.only_record();
    assert_eq!(record.expires_at, Some(1_003_600));

    // Valid: 40 minutes later the same token, no mint.
    clock.advance(40 * 60);
    let again = run(&cache, &minter, &opts);
    assert_eq!(
        again.credential.expose_token(),
        first.credential.expose_token()
    );
    assert_eq!(minter.mints.get(), 1);

    // Expiring: inside the margin a new token is minted and replaces the old.
    clock.advance(9 * 60);
    let renewed = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);
    assert_ne!(
        renewed.credential.expose_token(),
        first.credential.expose_token()
    );
    assert_eq!(
        renewed.expires.unix_timestamp(),
        clock.now().unix_timestamp() + 3600 - 720
    );

    // Refreshed: the new token is what the cache serves now.
    clock.advance(60);
    assert_eq!(
        run(&cache, &minter, &opts).credential.expose_token(),
        renewed.credential.expose_token()
    );
    assert_eq!(minter.mints.get(), 2);
}

#[test]
fn legacy_token_is_revalidated_and_a_rejected_one_replaced() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let mut minter = FakeMinter::new(&clock);
    minter.legacy = true;
    let opts = opts();

    let first = run(&cache, &minter, &opts);
    assert_eq!(first.expires.unix_timestamp(), 1_000_600);
    clock.advance(300);
    run(&cache, &minter, &opts);
    assert_eq!((minter.mints.get(), minter.reviews.get()), (1, 0));

    // Due: the server confirms it, and it is served for another interval.
    clock.advance(300);
    let confirmed = run(&cache, &minter, &opts);
    assert_eq!((minter.mints.get(), minter.reviews.get()), (1, 1));
    assert_eq!(confirmed.expires.unix_timestamp(), 1_001_200);

    // Due again, and now rejected: dropped and minted anew.
    clock.advance(600);
    *minter.username.borrow_mut() = None;
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);
}

#[test]
fn a_token_that_belongs_to_someone_else_is_rejected_on_revalidation() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let mut minter = FakeMinter::new(&clock);
    minter.legacy = true;
    let opts = opts();
    run(&cache, &minter, &opts);
    clock.advance(600);
    *minter.username.borrow_mut() = Some("system:serviceaccount:team:other".into());
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2, "re-minted");
}

#[test]
fn an_unusable_new_token_is_an_error_and_nothing_is_cached() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let mut opts = opts();
    opts.spec.audiences = vec!["vault".into()];
    let err = try_run(&cache, &minter, &opts).err().unwrap().to_string();
    assert!(err.contains("lacks audience \"vault\""), "{err}");
    assert!(cache.entries.borrow().is_empty());
}

fn entry(token: crate::token::Token, server: &str, checked_at: i64) -> Entry {
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
    }
}

#[test]
fn fresh_entry_is_served_until_exp_minus_margin() {
    let clock = FakeClock::at_unix(1_000_000);
    let e = entry(
        bound("team", "viewer", &[], 1_000_000, 1_003_600),
        SERVER,
        1_000_000,
    );
    match judge(&e, &opts(), &cluster(), clock.now()).unwrap() {
        Verdict::Serve { until, .. } => assert_eq!(until.unix_timestamp(), 1_003_600 - 720),
        _ => panic!("expected a hit"),
    }
}

#[test]
fn entry_for_another_server_is_refused() {
    let clock = FakeClock::at_unix(1_000_000);
    let e = entry(
        bound("team", "viewer", &[], 1_000_000, 1_003_600),
        SERVER,
        1_000_000,
    );
    let evil = ClusterIdentity::new("https://evil:6443", None, None, false).unwrap();
    let err = judge(&e, &opts(), &evil, clock.now())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains(SERVER) && err.contains("https://evil:6443"),
        "{err}"
    );
}

#[test]
fn legacy_entry_is_revalidated_after_the_interval() {
    let clock = FakeClock::at_unix(1_000_000);
    let e = entry(legacy("team", "viewer"), SERVER, 1_000_000);
    match judge(&e, &opts(), &cluster(), clock.now()).unwrap() {
        Verdict::Serve { until, .. } => assert_eq!(until.unix_timestamp(), 1_000_600),
        _ => panic!("expected a hit"),
    }
    clock.advance(600);
    assert!(matches!(
        judge(&e, &opts(), &cluster(), clock.now()).unwrap(),
        Verdict::Revalidate
    ));
}

#[test]
fn expiring_entry_is_minted_again() {
    let clock = FakeClock::at_unix(1_003_000);
    let e = entry(
        bound("team", "viewer", &[], 1_000_000, 1_003_600),
        SERVER,
        1_000_000,
    );
    assert!(matches!(
        judge(&e, &opts(), &cluster(), clock.now()).unwrap(),
        Verdict::Mint(_)
    ));
}

#[test]
fn a_clock_behind_or_ahead_of_the_server_mints_once() {
    // Local clock 60 s behind the server (iat is "in the future" here), then
    // 55 min ahead (a one-hour token looks nearly expired here).
    for server_ahead in [60, -55 * 60] {
        let clock = FakeClock::at_unix(1_000_000);
        let cache = MemoryCache::default();
        let mut minter = FakeMinter::new(&clock);
        minter.server_ahead = server_ahead;
        let first = run(&cache, &minter, &opts());
        // kubectl compares in local time: back 12 min before exp by the
        // server's clock.
        let exp_server = 1_000_000 + server_ahead + 3600;
        assert_eq!(
            first.expires.unix_timestamp(),
            exp_server - 720 - server_ahead,
            "server ahead by {server_ahead}s"
        );
        for _ in 0..3 {
            clock.advance(10 * 60);
            run(&cache, &minter, &opts());
        }
        assert_eq!(minter.mints.get(), 1, "server ahead by {server_ahead}s");
        assert_eq!(cache.only_entry().clock_offset, server_ahead);
    }
}

#[test]
fn a_store_that_fails_after_the_mint_still_answers() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache {
        full: true,
        ..Default::default()
    };
    let minter = FakeMinter::new(&clock);
    let issued = run(&cache, &minter, &opts());
    assert!(!issued.credential.expose_token().is_empty());
    assert!(cache.entries.borrow().is_empty());
}

#[test]
fn an_unreachable_server_keeps_a_legacy_token_served_for_four_intervals() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let mut minter = FakeMinter::new(&clock);
    minter.legacy = true;
    let opts = opts();
    run(&cache, &minter, &opts);
    minter.offline.set(true);
    for _ in 0..3 {
        clock.advance(600);
        let served = run(&cache, &minter, &opts);
        assert!(served.expires <= OffsetDateTime::from_unix_timestamp(1_000_000 + 2400).unwrap());
    }
    clock.advance(600);
    let err = try_run(&cache, &minter, &opts).err().unwrap().to_string();
    assert!(
        err.contains("could not be confirmed")
            && err.contains("2400s")
            && err.contains("timed out"),
        "{err}"
    );
    assert_eq!(minter.mints.get(), 1, "never re-minted while offline");
    // Back online: confirmed again.
    minter.offline.set(false);
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 1);
}

#[test]
fn a_cached_token_is_not_sent_to_another_cluster_behind_the_same_url() {
    let clock = FakeClock::at_unix(1_000_000);
    let ca = include_bytes!("../../tests/fixtures/ca-a.pem");
    let e = Entry {
        cluster: ClusterIdentity::new(SERVER, Some(ca), None, false).unwrap(),
        ..entry(
            bound("team", "viewer", &[], 1_000_000, 1_003_600),
            SERVER,
            1_000_000,
        )
    };
    let other = include_bytes!("../../tests/fixtures/ca-b.pem");
    let target = ClusterIdentity::new(SERVER, Some(other), None, false).unwrap();
    let err = judge(&e, &opts(), &target, clock.now())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("cluster binding") && err.contains("another CA"),
        "{err}"
    );
}

#[test]
fn the_same_caller_again_before_expiry_gets_a_dead_token_replaced() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();
    let first = try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    assert_eq!((minter.mints.get(), minter.reviews.get()), (1, 0));

    // The server still accepts it: kubectl re-ran the plugin for another
    // reason. One check, the same token.
    clock.advance(1);
    let again = try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    assert_eq!(
        again.credential.expose_token(),
        first.credential.expose_token()
    );
    assert_eq!((minter.mints.get(), minter.reviews.get()), (1, 1));

    // Checked a moment ago for this caller: served on without asking.
    clock.advance(1);
    try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    assert_eq!(minter.reviews.get(), 1);

    // Half a minute later the server rejects it (the SA was recreated):
    // replaced at once.
    clock.advance(30);
    *minter.username.borrow_mut() = None;
    let replaced = try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    assert_ne!(
        replaced.credential.expose_token(),
        first.credential.expose_token()
    );
    assert_eq!((minter.mints.get(), minter.reviews.get()), (2, 2));
    // And the replacement is not checked again right away.
    try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    assert_eq!((minter.mints.get(), minter.reviews.get()), (2, 2));
    assert_eq!(
        cache.only_entry().credential.expose_token(),
        replaced.credential.expose_token()
    );
}

#[test]
fn other_callers_and_refreshes_at_expiry_cost_no_check() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();
    let first = try_run_as(KUBECTL, &cache, &minter, &opts).unwrap();
    // Many other kubectl processes: hits, no check.
    for pid in 1..20 {
        clock.advance(1);
        try_run_as(Parent { pid, start: 7 }, &cache, &minter, &opts).unwrap();
    }
    assert_eq!(minter.reviews.get(), 0);
    // The same pid, but another process (pid reuse): no check.
    try_run_as(Parent { pid: 19, start: 8 }, &cache, &minter, &opts).unwrap();
    assert_eq!(minter.reviews.get(), 0);

    // A long-running client coming back at the expiry it was given (kube-rs
    // 60 s early): a refresh, not a 401.
    let long = Parent { pid: 77, start: 1 };
    let served = try_run_as(long, &cache, &minter, &opts).unwrap();
    clock.0.set(served.expires - time::Duration::seconds(60));
    try_run_as(long, &cache, &minter, &opts).unwrap();
    assert_eq!(minter.reviews.get(), 0);
    assert_eq!(minter.mints.get(), 1, "{}", first.expires);
}

#[test]
fn a_loop_in_one_shell_costs_one_check_per_half_minute() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();
    let shell = Parent { pid: 555, start: 3 };
    for _ in 0..600 {
        try_run_as(shell, &cache, &minter, &opts).unwrap();
        clock.0.set(clock.now() + time::Duration::milliseconds(100));
    }
    // 60 s of calls every 100 ms: checks at 0.1 s and 30.1 s (and so on).
    assert_eq!(minter.reviews.get(), 2);
    assert_eq!(minter.mints.get(), 1);
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

#[test]
fn past_the_middle_of_its_window_a_hit_starts_one_background_refresh() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let starts = Starts::default();
    let opts = opts();
    let get = |parent| {
        GetToken {
            cache: &cache,
            minter: &minter,
            clock: &clock,
            parent: Some(parent),
            background: Some(&starts),
        }
        .run(&opts, &info(), &cluster(), &key())
        .unwrap()
    };
    let first = get(Parent {
        pid: 1000,
        start: 1,
    });
    // A one-hour token is served for 48 minutes: its middle is at 24.
    clock.advance(23 * 60);
    get(Parent {
        pid: 1001,
        start: 1,
    });
    assert_eq!(starts.0.get(), 0);
    clock.advance(2 * 60);
    let hit = get(Parent {
        pid: 1002,
        start: 1,
    });
    assert_eq!(
        hit.credential.expose_token(),
        first.credential.expose_token(),
        "answered at once"
    );
    assert_eq!(starts.0.get(), 1);
    // Within a minute of the start: not again.
    clock.advance(30);
    get(Parent {
        pid: 1003,
        start: 1,
    });
    assert_eq!(starts.0.get(), 1);
    // While another process mints (the lock is held): not again.
    clock.advance(60);
    cache.busy.set(true);
    get(Parent {
        pid: 1004,
        start: 1,
    });
    assert_eq!(starts.0.get(), 1);
    cache.busy.set(false);
    get(Parent {
        pid: 1005,
        start: 1,
    });
    assert_eq!(starts.0.get(), 2);
    assert_eq!(minter.mints.get(), 1, "the foreground never mints");

    // Turned off: never.
    let mut off = opts.clone();
    off.refresh_ahead = false;
    clock.advance(120);
    GetToken {
        cache: &cache,
        minter: &minter,
        clock: &clock,
        parent: None,
        background: Some(&starts),
    }
    .run(&off, &info(), &cluster(), &key())
    .unwrap();
    assert_eq!(starts.0.get(), 2);
}

#[test]
fn the_background_refresh_mints_once_and_only_when_due() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();
    let refresher = GetToken {
        cache: &cache,
        minter: &minter,
        clock: &clock,
        parent: None,
        background: None,
    };
    run(&cache, &minter, &opts);
    // Not due yet: nothing.
    assert!(
        !refresher
            .refresh_now(&opts, &cluster(), &key(), "")
            .unwrap()
    );
    clock.advance(25 * 60);
    // Another process holds the lock: it is at it already.
    cache.busy.set(true);
    assert!(
        !refresher
            .refresh_now(&opts, &cluster(), &key(), "")
            .unwrap()
    );
    cache.busy.set(false);
    assert!(
        refresher
            .refresh_now(&opts, &cluster(), &key(), "")
            .unwrap()
    );
    assert_eq!(minter.mints.get(), 2);
    // The successor is fresh: a second refresher does nothing.
    assert!(
        !refresher
            .refresh_now(&opts, &cluster(), &key(), "")
            .unwrap()
    );
    assert_eq!(minter.mints.get(), 2);
    // And the next hit serves it.
    let next = run(&cache, &minter, &opts);
    assert_eq!(
        next.credential.expose_token(),
        cache.only_entry().credential.expose_token()
    );
}

#[test]
fn legacy_tokens_are_not_refreshed_ahead() {
    let clock = FakeClock::at_unix(1_000_000);
    let e = entry(legacy("team", "viewer"), SERVER, 1_000_000);
    clock.advance(590);
    assert!(matches!(
        judge(&e, &opts(), &cluster(), clock.now()).unwrap(),
        Verdict::Serve {
            refresh_due: false,
            ..
        }
    ));
}

fn user_opts(groups: &[&str]) -> GetOptions {
    let mut o = opts();
    o.spec.principal = Principal::User {
        name: "alice".into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    };
    o
}

fn run_user(
    cache: &MemoryCache,
    minter: &FakeMinter<'_>,
    opts: &GetOptions,
) -> Result<Issued, Error> {
    let key = CacheKey::for_token(&opts.spec, &cluster(), "/home/u/.kube/config");
    GetToken {
        cache,
        minter,
        clock: minter.clock,
        parent: None,
        background: None,
    }
    .run(opts, &info(), &cluster(), &key)
}

fn certificate_of(issued: &Issued) -> &str {
    &issued.credential.certificate().unwrap().certificate
}

#[test]
fn a_user_certificate_is_signed_once_served_until_not_after_minus_the_margin_and_renewed() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = user_opts(&["dev"]);

    let first = run_user(&cache, &minter, &opts).unwrap();
    assert_eq!(minter.mints.get(), 1);
    assert_eq!(first.expires.unix_timestamp(), 1_003_600 - 720);
    let record = cache.only_record();
    assert_eq!(record.user.as_deref(), Some("alice"));
    assert_eq!(record.groups, vec!["dev".to_string()]);
    assert_eq!(record.source, "csr");
    assert_eq!(record.expires_at, Some(1_003_600));
    let entry = cache.only_entry();
    assert_eq!(entry.label(), "user alice");

    clock.advance(40 * 60);
    let again = run_user(&cache, &minter, &opts).unwrap();
    assert_eq!(certificate_of(&again), certificate_of(&first));
    assert_eq!(
        again.credential.certificate().unwrap().key.expose(),
        first.credential.certificate().unwrap().key.expose()
    );
    assert_eq!(
        minter.mints.get(),
        1,
        "a fresh certificate is served, not signed again"
    );

    clock.advance(9 * 60);
    let renewed = run_user(&cache, &minter, &opts).unwrap();
    assert_eq!(minter.mints.get(), 2);
    assert_ne!(certificate_of(&renewed), certificate_of(&first));
}

#[test]
fn a_user_with_other_groups_is_another_entry_and_a_token_is_never_served_for_a_user() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    run_user(&cache, &minter, &user_opts(&["dev"])).unwrap();
    run_user(&cache, &minter, &user_opts(&["dev", "ops"])).unwrap();
    assert_eq!(minter.mints.get(), 2);
    assert_eq!(cache.entries.borrow().len(), 2);

    // A damaged entry: a ServiceAccount token under the user's key.
    let opts = user_opts(&["dev"]);
    let e = entry(
        bound("team", "viewer", &[], 1_000_000, 1_003_600),
        SERVER,
        1_000_000,
    );
    assert!(matches!(
        judge(&e, &opts, &cluster(), clock.now()).ok().unwrap(),
        Verdict::Mint(_)
    ));
    // And a certificate is never served for a ServiceAccount.
    let cert = Entry {
        credential: Credential::Certificate(user_cert("viewer", &[], 1_000_000, 1_003_600)),
        ..e
    };
    assert!(matches!(
        judge(&cert, &crate::testing::opts(), &cluster(), clock.now())
            .ok()
            .unwrap(),
        Verdict::Mint(_)
    ));
}

#[test]
fn a_user_certificate_past_the_middle_of_its_window_is_refreshed_ahead_too() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let starts = Starts::default();
    let opts = user_opts(&["dev"]);
    let key = CacheKey::for_token(&opts.spec, &cluster(), "/home/u/.kube/config");
    let get = || {
        GetToken {
            cache: &cache,
            minter: &minter,
            clock: &clock,
            parent: None,
            background: Some(&starts),
        }
        .run(&opts, &info(), &cluster(), &key)
        .unwrap()
    };
    let first = get();
    // One hour, served for 48 minutes: its middle is at 24.
    clock.advance(23 * 60);
    get();
    assert_eq!(starts.0.get(), 0);
    clock.advance(2 * 60);
    let hit = get();
    assert_eq!(
        certificate_of(&hit),
        certificate_of(&first),
        "answered at once"
    );
    assert_eq!(starts.0.get(), 1);
    assert_eq!(minter.mints.get(), 1);
}

/// Issue 17, finding 5: a background refresh that holds the entry's lock
/// (a stuck admin login) delays a foreground call by a short bound only:
/// it serves the cached token while it is still valid, else mints itself.
#[test]
fn a_stuck_background_refresh_never_holds_kubectl_for_the_lock_wait() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let opts = opts();
    let first = run(&cache, &minter, &opts);
    // Past the serve window (48 min), 12 minutes before the token expires,
    // a background refresh started 10 s ago still holds the lock.
    clock.advance(48 * 60);
    assert!(cache.note_refresh(&key(), clock.now().unix_timestamp()));
    cache.busy.set(true);
    cache.waited.set(Duration::ZERO);
    clock.advance(10);
    let served = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 1, "not minted: the token still works");
    assert_eq!(
        served.credential.expose_token(),
        first.credential.expose_token()
    );
    assert_eq!(
        served.expires.unix_timestamp(),
        1_003_600 - 30,
        "until its expiry, less a margin"
    );
    assert!(
        cache.waited.get() <= Duration::from_secs(2),
        "{:?}",
        cache.waited.get()
    );

    // The token is nearly gone: the foreground mints itself.
    clock.advance(11 * 60 + 30);
    assert!(cache.note_refresh(&key(), clock.now().unix_timestamp()));
    clock.advance(10);
    let minted = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);
    assert_ne!(
        minted.credential.expose_token(),
        first.credential.expose_token()
    );

    // Without a background refresh in flight, another process's mint is
    // waited for as long as --lock-timeout says.
    clock.advance(3600);
    cache.waited.set(Duration::ZERO);
    assert!(matches!(
        try_run(&cache, &minter, &opts),
        Err(Error::Cache(CacheError::Lock(_)))
    ));
    assert_eq!(cache.waited.get(), opts.lock_wait);
}

/// Issue 17, findings 11 and 12: no background refresh starts when its start
/// cannot be recorded (the once-a-minute gate would be lost), nor for a user
/// whose CSR someone else approves.
#[test]
fn background_refreshes_start_only_where_they_are_gated_and_can_finish() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let starts = Starts::default();
    let hit = |opts: &GetOptions| {
        GetToken {
            cache: &cache,
            minter: &minter,
            clock: &clock,
            parent: None,
            background: Some(&starts),
        }
        .run(opts, &info(), &cluster(), &key())
        .unwrap()
    };
    let opts = opts();
    hit(&opts);
    clock.advance(25 * 60);
    cache.unwritable.set(true);
    for _ in 0..10 {
        hit(&opts);
    }
    assert_eq!(starts.0.get(), 0, "a full disk starts no refresh at all");
    cache.unwritable.set(false);
    hit(&opts);
    assert_eq!(starts.0.get(), 1);

    let cache = MemoryCache::default();
    let starts = Starts::default();
    let mut user = opts.clone();
    user.spec.principal = Principal::User {
        name: "alice".into(),
        groups: vec!["dev".into()],
    };
    user.approve = false;
    let get = || {
        GetToken {
            cache: &cache,
            minter: &minter,
            clock: &clock,
            parent: None,
            background: Some(&starts),
        }
        .run(&user, &info(), &cluster(), &key())
        .unwrap()
    };
    get();
    clock.advance(25 * 60);
    get();
    assert_eq!(
        starts.0.get(),
        0,
        "--no-approve users are not refreshed in the background"
    );
}

/// Issue 17, finding 7: a credential minted for longer than the entry now
/// asks (`--duration` lowered) is not served; one minted for what it asks
/// is, however the server rounded its lifetime.
#[test]
fn a_lowered_duration_replaces_the_longer_lived_credential() {
    let clock = FakeClock::at_unix(1_000_000);
    let cache = MemoryCache::default();
    let minter = FakeMinter::new(&clock);
    let mut opts = opts();
    opts.duration = Duration::from_secs(720 * 3600);
    let long = run(&cache, &minter, &opts);
    opts.duration = Duration::from_secs(600);
    let short = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);
    assert_ne!(
        short.credential.expose_token(),
        long.credential.expose_token()
    );
    assert!(short.expires.unix_timestamp() <= 1_000_600);
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2, "served while fresh");
    // Raising it again serves the shorter one until it is due.
    opts.duration = Duration::from_secs(3600);
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);

    // An entry from before the asked duration was kept: its own lifetime.
    let mut entry = cache.only_entry();
    entry.asked_secs = None;
    cache.update(&key(), &entry).unwrap();
    opts.duration = Duration::from_secs(600);
    run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2, "a 600 s token for a 600 s entry");
}
