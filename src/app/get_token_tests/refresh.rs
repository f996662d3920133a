//! Refresh ahead: when a hit starts a background refresh, what the refresh mints, and a refresh that is stuck or cannot be gated.

use super::*;

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
            failures: &NoFailures,
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
        failures: &NoFailures,
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
        failures: &NoFailures,
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
            failures: &NoFailures,
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
            failures: &NoFailures,
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
