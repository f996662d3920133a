//! Asking the server about a cached token: an unreachable server, another cluster behind the same URL, a client that comes back early after a 401.

use super::*;

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
    let ca = include_bytes!("../../../tests/fixtures/ca-a.pem");
    let e = Entry {
        cluster: ClusterIdentity::new(SERVER, Some(ca), None, false).unwrap(),
        ..entry(
            bound("team", "viewer", &[], 1_000_000, 1_003_600),
            SERVER,
            1_000_000,
        )
    };
    let other = include_bytes!("../../../tests/fixtures/ca-b.pem");
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
