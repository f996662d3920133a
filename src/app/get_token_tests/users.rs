//! X.509 users: certificates signed once, served until NotAfter minus the margin, kept apart from tokens, refreshed ahead.

use super::*;

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
        failures: &NoFailures,
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
            failures: &NoFailures,
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
