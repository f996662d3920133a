//! `get` through its ports: an in-memory cache, a minter that signs real RS256
//! tokens, and a clock the tests move (NoCache → Valid → Expiring → Refresh).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::*;
use crate::clock::FakeClock;
use crate::protocol::V1;
use crate::testing::{bound, legacy, opts};

const SERVER: &str = "https://a:6443";

#[derive(Default)]
struct MemoryCache {
    entries: RefCell<HashMap<CacheKey, Entry>>,
    records: RefCell<HashMap<CacheKey, Record>>,
}

impl TokenCache for MemoryCache {
    fn kind(&self) -> Option<StoreKind> {
        Some(StoreKind::File)
    }
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        Ok(self.entries.borrow().get(key).cloned())
    }
    fn put(&self, key: &CacheKey, entry: &Entry, record: Record) -> Result<(), CacheError> {
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
    fn lock(&self, _: &CacheKey, _: Duration) -> Result<Option<FileLock>, CacheError> {
        Ok(None)
    }
}

/// Mints bound tokens valid for an hour from the clock's now (or legacy
/// tokens), and answers revalidations with `username`.
struct FakeMinter<'c> {
    clock: &'c FakeClock,
    legacy: bool,
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
            mints: Cell::new(0),
            reviews: Cell::new(0),
            username: RefCell::new(Some("system:serviceaccount:team:viewer".into())),
        }
    }
}

impl Minter for FakeMinter<'_> {
    fn mint(&self, opts: &GetOptions, _: &str, _: &CacheKey, _: &str) -> Result<Minted, Error> {
        self.mints.set(self.mints.get() + 1);
        let spec = &opts.spec;
        let now = self.clock.now().unix_timestamp();
        let (token, expires) = if self.legacy {
            (legacy(&spec.namespace, &spec.service_account), None)
        } else {
            let exp = now + opts.duration.as_secs() as i64;
            (
                bound(&spec.namespace, &spec.service_account, &[], now, exp),
                OffsetDateTime::from_unix_timestamp(exp).ok(),
            )
        };
        Ok(Minted {
            token,
            expires,
            secret: None,
            ca_crt: None,
        })
    }
    fn username(&self, e: &Entry, _: &ExecInfo, _: &str) -> Result<Option<String>, Error> {
        self.reviews.set(self.reviews.get() + 1);
        match self.username.borrow().clone() {
            Some(u) => Ok(Some(u)),
            None => Err(Error::KubeApi(KubeApiError::Unauthorized {
                who: "test".into(),
                server: e.server.clone(),
                hint: String::new(),
            })),
        }
    }
}

fn info() -> ExecInfo {
    ExecInfo {
        api_version: V1,
        interactive: false,
        cluster: None,
    }
}

fn run(cache: &MemoryCache, minter: &FakeMinter<'_>, opts: &GetOptions) -> Issued {
    GetToken {
        cache,
        minter,
        clock: minter.clock,
    }
    .run(opts, &info(), SERVER)
    .unwrap()
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
    let record = cache.records.borrow().values().next().cloned().unwrap();
    assert_eq!(record.expires_at, Some(1_003_600));

    // Valid: 40 minutes later the same token, no mint.
    clock.advance(40 * 60);
    let again = run(&cache, &minter, &opts);
    assert_eq!(again.token.expose(), first.token.expose());
    assert_eq!(minter.mints.get(), 1);

    // Expiring: inside the margin a new token is minted and replaces the old.
    clock.advance(9 * 60);
    let renewed = run(&cache, &minter, &opts);
    assert_eq!(minter.mints.get(), 2);
    assert_ne!(renewed.token.expose(), first.token.expose());
    assert_eq!(
        renewed.expires.unix_timestamp(),
        clock.now().unix_timestamp() + 3600 - 720
    );

    // Refreshed: the new token is what the cache serves now.
    clock.advance(60);
    assert_eq!(
        run(&cache, &minter, &opts).token.expose(),
        renewed.token.expose()
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
    let err = GetToken {
        cache: &cache,
        minter: &minter,
        clock: &clock,
    }
    .run(&opts, &info(), SERVER)
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("lacks audience \"vault\""), "{err}");
    assert!(cache.entries.borrow().is_empty());
}

fn entry(token: Token, server: &str, checked_at: i64) -> Entry {
    Entry {
        token,
        server: server.into(),
        namespace: "team".into(),
        service_account: "viewer".into(),
        minted_at: checked_at,
        checked_at,
        secret: None,
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
    match judge(&e, &opts(), SERVER, clock.now()).unwrap() {
        Verdict::Serve(t) => assert_eq!(t.unix_timestamp(), 1_003_600 - 720),
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
    let err = judge(&e, &opts(), "https://evil:6443", clock.now())
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
    match judge(&e, &opts(), SERVER, clock.now()).unwrap() {
        Verdict::Serve(t) => assert_eq!(t.unix_timestamp(), 1_000_600),
        _ => panic!("expected a hit"),
    }
    clock.advance(600);
    assert!(matches!(
        judge(&e, &opts(), SERVER, clock.now()).unwrap(),
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
        judge(&e, &opts(), SERVER, clock.now()).unwrap(),
        Verdict::Mint(_)
    ));
}
