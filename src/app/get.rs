//! The wiring of `get`: the real cache, minter (through the admin context)
//! and background spawner put together for the use case ([`GetToken`]), for
//! `get`, its background refresh and the commands that obtain a credential
//! like it (`whoami`, `kubeconfig --embed-token`).

use crate::cache::backoff::Failure;
use crate::cache::{self, Cache, CacheKey, Entry};
use crate::clock::{Clock, rfc3339};
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::kube_api::Minted;
use crate::options::GetOptions;
use crate::parent::Audience;
use crate::protocol::{ExecInfo, exec_credential};

use super::admin_session::AdminSession;
use super::background::{BACKGROUND_DEADLINE, SpawnSelf};
use super::broker_minter::BrokerMinter;
use super::cache_adapter::{FailureRecords, HitsOnly};
use super::get_token::{GetToken, Issued};
use super::kube_minter::KubeMinter;
use super::ports::{FailedMints, Minter, Review};
use super::refresh_ahead::refreshable;
use super::request::{described_cluster, entry_key, recursion_chain, target_cluster};
use super::vault_minter::VaultMinter;

/// `kube-sa-token get`: the ExecCredential JSON for stdout.
pub fn get(opts: &GetOptions, clock: &dyn Clock) -> Result<String, Error> {
    let info = ExecInfo::from_env()?;
    let admin = AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
    let issued = obtain(opts, &info, clock, &admin).map_err(|e| match e {
        // An exec entry that names no admin kubeconfig relies on kubectl's
        // environment: say so when that finds none (issue 33).
        Error::Kubeconfig(k)
            if opts.spec.kubeconfig.is_none()
                && opts.spec.broker.is_none()
                && opts.spec.vault.is_none() =>
        {
            Error::Kubeconfig(k.in_exec_entry(&opts.spec.admin_context))
        }
        other => other,
    })?;
    Ok(exec_credential(
        info.api_version,
        &issued.credential,
        issued.expires,
    ))
}

/// `get` on a cache hit, for the front binary ([`crate::front`]): the
/// ExecCredential JSON when the cache serves it, `None` when the call must
/// go to the full program (a miss, an error to report). What would need
/// more than the cache (asking the server about the cached token, reading
/// the OS keyring) calls `hand_off`, which never returns: the full program
/// then runs the same call from the start.
pub fn cached(
    opts: &GetOptions,
    clock: &dyn Clock,
    hand_off: fn() -> !,
    durable: cache::Durable,
) -> Option<String> {
    let info = ExecInfo::from_env().ok()?;
    // Without the cluster in the exec info, the admin kubeconfig says
    // which one it is: the full program reads it.
    let target = described_cluster(&info)?.ok()?;
    let key = entry_key(&opts.spec, &target);
    let cache = Cache::open_with(opts.cache, durable).ok()?;
    let issued = GetToken {
        cache: &HitsOnly {
            cache: &cache,
            hand_off,
        },
        minter: &HandOff(hand_off),
        clock,
        parent: crate::parent::current(),
        background: Some(&SpawnSelf),
        failures: &HandOff(hand_off),
    }
    .cached(opts, &info, &target, &key)
    .ok()??;
    Some(exec_credential(
        info.api_version,
        &issued.credential,
        issued.expires,
    ))
}

/// The front binary's minter and record of failed mints: anything they
/// are asked goes to the full program.
struct HandOff(fn() -> !);

impl FailedMints for HandOff {
    fn get(&self, _: &CacheKey) -> Option<Failure> {
        (self.0)()
    }
    fn failed(
        &self,
        _: &CacheKey,
        _: Option<&Failure>,
        _: i64,
        _: &Error,
        _: Option<Audience>,
    ) -> Failure {
        (self.0)()
    }
    fn clear(&self, _: &CacheKey) {
        (self.0)()
    }
}

impl Minter for HandOff {
    fn mint(
        &self,
        _: &GetOptions,
        _: &ClusterIdentity,
        _: &CacheKey,
        _: &str,
    ) -> Result<Minted, Error> {
        (self.0)()
    }
    fn review(&self, _: &Entry, _: &ExecInfo, _: &str) -> Result<Review, Error> {
        (self.0)()
    }
    fn why_rejected(&self, _: &Entry, _: &str) -> String {
        (self.0)()
    }
}

/// The token for `opts`, from the real cache, or minted through `admin`.
pub fn obtain(
    opts: &GetOptions,
    info: &ExecInfo,
    clock: &dyn Clock,
    admin: &AdminSession<'_>,
) -> Result<Issued, Error> {
    let target = target_cluster(opts, info)?;
    let key = entry_key(&opts.spec, &target);
    let cache = Cache::open(opts.cache)?;
    GetToken {
        cache: &cache,
        minter: &*minter_for(opts, admin, false),
        clock,
        parent: crate::parent::current(),
        background: Some(&SpawnSelf),
        failures: &FailureRecords::new(opts),
    }
    .run(opts, info, &target, &key)
}

/// Where `opts`' credentials come from: the broker it names, else its
/// admin context (`session`; with a broker, only its runtime is used).
fn minter_for<'a>(
    opts: &'a GetOptions,
    session: &'a AdminSession<'a>,
    refresh: bool,
) -> Box<dyn Minter + 'a> {
    if let Some(v) = &opts.spec.vault {
        return Box::new(VaultMinter { vault: v, session });
    }
    match &opts.spec.broker {
        Some(b) => Box::new(BrokerMinter::new(b, session, refresh)),
        None => Box::new(KubeMinter { session }),
    }
}

/// How long before the background refresh's deadline its admin exec
/// plugin is ended.
const PLUGIN_MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Ends this background refresh and everything it started (the admin's exec
/// plugin and its children: the refresh leads its own process group) once
/// [`BACKGROUND_DEADLINE`] passes, after logging why.
fn watchdog(line: String) {
    std::thread::spawn(move || {
        std::thread::sleep(BACKGROUND_DEADLINE);
        let _ = cache::refresh::log_failure(&line);
        #[cfg(unix)]
        // SAFETY: getpgrp/getpid cannot fail; kill(0, ..) signals our own
        // process group, which is ours alone when we lead it (setsid).
        unsafe {
            if libc::getpgrp() == libc::getpid() {
                libc::kill(0, libc::SIGKILL);
            }
        }
        std::process::exit(1);
    });
}

/// `get --refresh-in-background`: no output; failures are logged for `doctor`.
pub fn refresh(opts: &GetOptions, clock: &dyn Clock) -> Result<(), Error> {
    let info = ExecInfo::from_env()?;
    let target = target_cluster(opts, &info)?;
    let key = entry_key(&opts.spec, &target);
    let spec = &opts.spec;
    if !refreshable(opts) {
        return Ok(());
    }
    watchdog(format!(
        "{} {} (entry {key}): the background refresh did not finish within {}s (a slow or stuck admin login?); it was ended, and the next mint runs in the foreground",
        rfc3339(clock.now()),
        spec.label(),
        BACKGROUND_DEADLINE.as_secs()
    ));
    let result = (|| {
        let chain = recursion_chain(opts)?;
        // The plugin ends before the watchdog does: its failure is logged
        // as such, not as a refresh that ran out of time.
        let plugin_deadline = std::time::Instant::now() + BACKGROUND_DEADLINE - PLUGIN_MARGIN;
        let admin = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context)
            .headless(plugin_deadline);
        let cache = Cache::open(opts.cache)?;
        GetToken {
            cache: &cache,
            minter: &*minter_for(opts, &admin, true),
            clock,
            parent: None,
            background: None,
            failures: &FailureRecords::new(opts),
        }
        .refresh_now(opts, &target, &key, &chain)
    })();
    if let Err(e) = &result {
        let line = format!(
            "{} {} (entry {key}): {e}",
            rfc3339(clock.now()),
            spec.label()
        );
        let _ = cache::refresh::log_failure(&line);
    }
    result.map(drop)
}
