//! Failure backoff (issue 20 item 1): after a failed mint, calls for the
//! same entry inside a growing window answer with the same failure at once,
//! without minting; the window passes, or a mint succeeds, and they try
//! again. Callers' own failures (the cluster binding) are not backed off.

use super::*;
use crate::kube_api::KubeApiError;

/// The failure records of one process, in memory. `hidden_once`: the first
/// question finds none (the record another caller's failing mint leaves
/// while this one waits for the lock).
#[derive(Default)]
struct MemoryFailures {
    records: RefCell<HashMap<CacheKey, Failure>>,
    hidden_once: Cell<bool>,
}

impl FailedMints for MemoryFailures {
    fn get(&self, key: &CacheKey) -> Option<Failure> {
        if self.hidden_once.replace(false) {
            return None;
        }
        self.records.borrow().get(key).cloned()
    }
    fn failed(
        &self,
        key: &CacheKey,
        previous: Option<&Failure>,
        now: i64,
        e: &Error,
        shown_to: Option<crate::parent::Audience>,
    ) -> Failure {
        let mut f = Failure::after(
            previous,
            now,
            e.to_string(),
            e.exit_code() as u8,
            "cfg".into(),
        );
        f.shown_to = shown_to;
        f.that_command_only = !e.backs_off();
        self.records.borrow_mut().insert(key.clone(), f.clone());
        f
    }
    fn clear(&self, key: &CacheKey) {
        self.records.borrow_mut().remove(key);
    }
}

/// A minter whose server is down while `down` is set, and that refuses
/// with the cluster binding while `unbound` is.
struct Flaky<'c> {
    inner: FakeMinter<'c>,
    down: Cell<bool>,
    unbound: Cell<bool>,
    attempts: Cell<usize>,
}

impl<'c> Flaky<'c> {
    fn new(clock: &'c FakeClock, down: bool, unbound: bool) -> Self {
        Flaky {
            inner: FakeMinter::new(clock),
            down: Cell::new(down),
            unbound: Cell::new(unbound),
            attempts: Cell::new(0),
        }
    }
}

impl Minter for Flaky<'_> {
    fn mint(
        &self,
        opts: &GetOptions,
        c: &ClusterIdentity,
        k: &CacheKey,
        chain: &str,
    ) -> Result<Minted, Error> {
        self.attempts.set(self.attempts.get() + 1);
        if self.unbound.get() {
            return Err(KubeApiError::Unbound {
                who: "team/viewer".into(),
                server: SERVER.into(),
                why: "another cluster".into(),
            }
            .into());
        }
        if self.down.get() {
            return Err(KubeApiError::Unreachable {
                server: SERVER.into(),
                detail: "connection refused".into(),
            }
            .into());
        }
        self.inner.mint(opts, c, k, chain)
    }
    fn why_rejected(&self, e: &Entry, chain: &str) -> String {
        self.inner.why_rejected(e, chain)
    }
    fn review(&self, e: &Entry, i: &ExecInfo, chain: &str) -> Result<Review, Error> {
        self.inner.review(e, i, chain)
    }
}

fn run(
    cache: &MemoryCache,
    minter: &Flaky<'_>,
    failures: &MemoryFailures,
) -> Result<Issued, Error> {
    run_for(cache, minter, failures, KUBECTL)
}

/// A run for the kubectl command `parent`.
fn run_for(
    cache: &MemoryCache,
    minter: &Flaky<'_>,
    failures: &MemoryFailures,
    parent: crate::parent::Parent,
) -> Result<Issued, Error> {
    GetToken {
        cache,
        minter,
        clock: minter.inner.clock,
        parent: Some(parent),
        background: None,
        failures,
    }
    .run(&opts(), &info(), &cluster(), &key())
}

/// Another kubectl command than [`KUBECTL`].
fn command(pid: u32) -> crate::parent::Parent {
    crate::parent::Parent { pid, start: 7 }
}

fn failed(r: Result<Issued, Error>) -> Error {
    match r {
        Ok(_) => panic!("minted"),
        Err(e) => e,
    }
}

#[test]
fn a_failed_mint_is_answered_at_once_until_its_window_passes() {
    let clock = FakeClock::at_unix(1_000_000);
    let minter = Flaky::new(&clock, true, false);
    let (cache, failures) = (MemoryCache::default(), MemoryFailures::default());
    let first = failed(run(&cache, &minter, &failures));
    assert!(matches!(first, Error::KubeApi(_)), "{first}");
    assert_eq!(minter.attempts.get(), 1);
    // 100 calls inside the window: none mints, each says why and when.
    for _ in 0..100 {
        let e = failed(run(&cache, &minter, &failures));
        let text = e.to_string();
        assert!(text.starts_with(&first.to_string()), "{text}");
        assert!(
            text.contains("the next in 5s") && text.contains("KUBE_SA_TOKEN_RETRY_NOW=1"),
            "{text}"
        );
        assert_eq!(e.exit_code(), first.exit_code());
    }
    assert_eq!(minter.attempts.get(), 1);
    // The window passes: one attempt, which fails again; the window doubles.
    clock.advance(5);
    failed(run(&cache, &minter, &failures));
    assert_eq!(minter.attempts.get(), 2);
    let e = failed(run(&cache, &minter, &failures)).to_string();
    assert!(
        e.contains("2 failed attempts in a row; the next in 10s"),
        "{e}"
    );
    // Fixed, and the window passed: it mints, and the record is gone.
    minter.down.set(false);
    clock.advance(10);
    assert!(run(&cache, &minter, &failures).is_ok());
    assert_eq!(minter.attempts.get(), 3);
    assert!(failures.records.borrow().is_empty());
}

#[test]
fn a_caller_waiting_for_the_lock_takes_the_failure_of_the_mint_it_waited_for() {
    let clock = FakeClock::at_unix(1_000_000);
    let minter = Flaky::new(&clock, true, false);
    let (cache, failures) = (MemoryCache::default(), MemoryFailures::default());
    failed(run(&cache, &minter, &failures));
    // This caller found no record before the lock; under it, there is one.
    failures.hidden_once.set(true);
    let e = failed(run(&cache, &minter, &failures));
    assert!(matches!(e, Error::BackedOff { .. }), "{e}");
    assert_eq!(minter.attempts.get(), 1, "one attempt for both callers");
}

#[test]
fn the_callers_own_failures_are_not_backed_off() {
    let clock = FakeClock::at_unix(1_000_000);
    let minter = Flaky::new(&clock, false, true);
    let (cache, failures) = (MemoryCache::default(), MemoryFailures::default());
    // Three kubectl commands: each tries, and says why.
    for pid in 1..=3 {
        let e = failed(run_for(&cache, &minter, &failures, command(pid)));
        assert!(!matches!(e, Error::BackedOff { .. }), "{e}");
    }
    assert_eq!(minter.attempts.get(), 3);
}

/// Issue 33, item 25: kubectl runs the plugin once per request it tries,
/// up to six times for one command. Its first run says why; the others
/// end quietly with the same exit code, and try nothing (a broker is asked
/// once): for a failure that is backed off and for one that is not. (Where
/// stderr can be told apart: Unix.)
#[cfg(unix)]
#[test]
fn one_kubectl_command_is_told_once() {
    for (down, unbound) in [(true, false), (false, true)] {
        let clock = FakeClock::at_unix(1_000_000);
        let minter = Flaky::new(&clock, down, unbound);
        let (cache, failures) = (MemoryCache::default(), MemoryFailures::default());
        let first = failed(run(&cache, &minter, &failures));
        assert!(!first.is_quiet());
        for _ in 0..5 {
            let again = failed(run(&cache, &minter, &failures));
            assert!(again.is_quiet(), "{again}");
            assert_eq!(again.exit_code(), first.exit_code());
        }
        assert_eq!(minter.attempts.get(), 1, "asked once for one command");
        // Another command is told, as before.
        let other = failed(run_for(&cache, &minter, &failures, command(99)));
        assert!(!other.is_quiet(), "{other}");
        // The record of a failure that is not backed off ends with its
        // window: the same process's next command tries again.
        clock.advance(5);
        failed(run(&cache, &minter, &failures));
    }
}
