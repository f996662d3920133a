//! Tokens served from the cache until their margin, minted when missing, expiring, for another server or for another lifetime; legacy tokens revalidated.

use super::*;

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

/// A second either way is the resolution of the server's clock readings
/// (the `Date` header, `iat`), not a skew: the expiry kubectl is given does
/// not move with it (the fast CLI test that compared it to `exp` flaked).
#[test]
fn a_one_second_offset_is_read_as_none() {
    for server_ahead in [-1, 1] {
        let clock = FakeClock::at_unix(1_000_000);
        let cache = MemoryCache::default();
        let mut minter = FakeMinter::new(&clock);
        minter.server_ahead = server_ahead;
        let first = run(&cache, &minter, &opts());
        let exp = 1_000_000 + server_ahead + 3600;
        assert_eq!(first.expires.unix_timestamp(), exp - 720, "{server_ahead}");
        assert_eq!(cache.only_entry().clock_offset, 0, "{server_ahead}");
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
