//! `serve`: the local credential broker. It listens on a Unix socket, learns
//! each caller from the kernel, judges the request by the policy, and hands
//! out credentials minted through its admin context (`broker_issue.rs`).
//! Every request is audited. Each connection has a thread of its own and a
//! deadline, so a slow or broken caller holds only itself up.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::broker::BrokerError;
use crate::broker::audit::{AuditLog, Record};
use crate::broker::policy::{Ask, Caller, Decision, Wanted};
use crate::broker::policy_file::PolicyFile;
use crate::broker::rate::RateLimiter;
use crate::broker::socket::{self, Conn};
use crate::broker::wire::{self, ErrorCode, Op, Request, Response, Status};
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::error::{Error, ExitCode};
use crate::kubeconfig::Kubeconfigs;
use crate::options::ServeOptions;

use super::broker_issue::{issue, options_for};

/// How long a caller has to send its request, whole.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long an answer may wait for a caller that does not read it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

struct Shared {
    opts: ServeOptions,
    policy: PolicyFile,
    audit: AuditLog,
    rate: RateLimiter,
    active: AtomicUsize,
    /// The admin context's cluster, as the status tells it.
    cluster: Status,
}

fn now() -> String {
    rfc3339(SystemClock.now())
}

fn setup(e: impl Into<String>) -> Error {
    Error::Broker(BrokerError::Setup(e.into()))
}

/// `kube-sa-token serve`: runs until SIGTERM or SIGINT.
pub fn serve(opts: &ServeOptions) -> Result<(), Error> {
    let policy = PolicyFile::load(&opts.policy, now()).map_err(setup)?;
    let kc = Kubeconfigs::load(opts.kubeconfig.as_deref())?;
    let cluster = Status {
        server: kc.server_of(&opts.admin_context)?,
        ca_pem: kc
            .cluster_ca(&opts.admin_context)?
            .map(|pem| String::from_utf8_lossy(&pem).into_owned()),
        tls_server_name: kc.cluster_identity(&opts.admin_context)?.tls_server_name,
        ..Status::default()
    };
    let audit = AuditLog::open(&opts.audit_log).map_err(|e| {
        setup(format!(
            "cannot open the audit log {}: {e}",
            opts.audit_log.display()
        ))
    })?;
    let listener = socket::listen(&opts.socket)?;
    let made = listener.made().map(ToOwned::to_owned);
    #[cfg(unix)]
    stop_on_signals(made);
    #[cfg(not(unix))]
    drop(made);
    let rules = policy.current(now).policy.rules.len();
    eprintln!(
        "kube-sa-token {} serving {} for admin context {:?} ({}); policy {} ({rules} rule{}); audit log {}",
        env!("CARGO_PKG_VERSION"),
        listener.describe(),
        opts.admin_context,
        cluster.server,
        opts.policy.display(),
        if rules == 1 { "" } else { "s" },
        opts.audit_log.display()
    );
    let shared = Arc::new(Shared {
        opts: opts.clone(),
        policy,
        audit,
        rate: RateLimiter::default(),
        active: AtomicUsize::new(0),
        cluster,
    });
    loop {
        let conn = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: pause, never spin.
                tracing::error!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let slot = Slot::take(&shared);
        if slot.before >= opts.max_connections {
            drop(slot);
            let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
            let busy = Response::error(
                ErrorCode::Busy,
                format!(
                    "the broker is serving {} connections already; try again shortly",
                    opts.max_connections
                ),
            );
            let _ = wire::write_line(&mut &conn, &busy);
            continue;
        }
        let spawned = std::thread::Builder::new()
            .name("broker-conn".into())
            .spawn(move || handle(slot.shared(), &conn));
        if let Err(e) = spawned {
            // The closure, and the slot and connection it holds, was dropped.
            tracing::error!("cannot start a thread for a connection: {e}");
        }
    }
}

/// A connection's place in the count: taken when it is accepted, given back
/// when it is dropped, however that happens (refused as busy, no thread
/// to run it, its thread ended or panicked). Else the broker would end up
/// answering "busy" forever.
struct Slot {
    shared: Arc<Shared>,
    /// How many connections held a place before this one.
    before: usize,
}

impl Slot {
    fn take(shared: &Arc<Shared>) -> Self {
        let before = shared.active.fetch_add(1, Ordering::SeqCst);
        Slot {
            shared: Arc::clone(shared),
            before,
        }
    }

    fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads from the caller until the request's deadline.
struct Deadline<'a> {
    conn: &'a Conn,
    until: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.conn.set_read_timeout(Some(left))?;
        let mut conn = self.conn;
        conn.read(buf)
    }
}

/// One connection: who, how often, what, the decision, the answer, the
/// audit line.
fn handle(shared: &Shared, conn: &Conn) {
    let caller = match socket::caller(conn) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("cannot learn who connected (SO_PEERCRED): {e}; closing");
            return;
        }
    };
    let _ = conn.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut rec = Record::new(now(), &caller, "-", "error");
    let resp = respond(shared, conn, &caller, &mut rec);
    if let Some(e) = &resp.error {
        rec.reason.get_or_insert_with(|| e.message.clone());
    }
    shared.audit.write(&rec);
    tracing::info!(
        "{} {} {}: {}",
        caller.describe(),
        rec.op,
        rec.asked.as_deref().unwrap_or("-"),
        rec.decision
    );
    if let Err(e) = wire::write_line(&mut &*conn, &resp) {
        tracing::info!("could not answer {}: {e}", caller.describe());
    }
}

fn respond(shared: &Shared, conn: &Conn, caller: &Caller, rec: &mut Record<'_>) -> Response {
    let in_force = shared.policy.current(now);
    if !shared
        .rate
        .take(caller.uid, in_force.policy.rate, Instant::now())
    {
        rec.decision = "deny";
        return Response::error(
            ErrorCode::RateLimited,
            format!(
                "too many requests from {} (the policy allows {} a minute, {} at once); try again in a few seconds",
                caller.describe(),
                in_force.policy.rate.per_minute,
                in_force.policy.rate.burst
            ),
        );
    }
    let mut reader = std::io::BufReader::new(Deadline {
        conn,
        until: Instant::now() + REQUEST_DEADLINE,
    });
    let line = match wire::read_line(&mut reader, wire::MAX_REQUEST) {
        Ok(l) => l,
        Err(e) => {
            return Response::error(
                ErrorCode::BadRequest,
                format!("the request could not be read: {e}"),
            );
        }
    };
    let req = match wire::parse_request(&line) {
        Ok(r) => r,
        Err((code, msg)) => return Response::error(code, msg),
    };
    match req.op {
        Op::Status => {
            rec.op = "status";
            status(shared, caller, rec)
        }
        Op::Credential => {
            rec.op = "credential";
            credential(shared, caller, &req, rec)
        }
    }
}

/// The broker's state, for callers the policy names (and the broker's own
/// account); others learn its version only.
fn status(shared: &Shared, caller: &Caller, rec: &mut Record<'_>) -> Response {
    let in_force = shared.policy.current(now);
    let mine: Vec<String> = in_force
        .policy
        .rules_for(caller)
        .iter()
        .map(|r| r.name.clone())
        .collect();
    // SAFETY: geteuid cannot fail.
    #[cfg(unix)]
    let own = caller.uid == 0 || caller.uid == unsafe { libc::geteuid() };
    #[cfg(not(unix))]
    let own = false;
    if mine.is_empty() && !own {
        rec.decision = "deny";
        return Response::error(
            ErrorCode::Denied,
            format!(
                "no rule of the policy names {} (or its groups)",
                caller.describe()
            ),
        );
    }
    rec.decision = "allow";
    Response::status(Status {
        policy_file: shared.policy.path().display().to_string(),
        policy_loaded: in_force.loaded_at,
        policy_rules: in_force.policy.rules.len(),
        policy_error: in_force.error,
        your_rules: mine,
        ..shared.cluster.clone()
    })
}

fn credential(shared: &Shared, caller: &Caller, req: &Request, rec: &mut Record<'_>) -> Response {
    let wanted = match (&req.service_account, &req.user) {
        (Some(sa), _) => Wanted::ServiceAccount {
            namespace: &sa.namespace,
            name: &sa.name,
        },
        (None, Some(u)) => Wanted::User {
            name: &u.name,
            groups: &u.groups,
        },
        // parse_request refuses these; answered, not a panic, all the same.
        (None, None) => {
            return Response::error(
                ErrorCode::BadRequest,
                "the request names no ServiceAccount and no user",
            );
        }
    };
    rec.asked = Some(match &wanted {
        Wanted::ServiceAccount { namespace, name } => format!("{namespace}/{name}"),
        Wanted::User { name, groups: [] } => format!("user:{name}"),
        Wanted::User { name, groups } => format!("user:{name} [{}]", groups.join(",")),
    });
    rec.audiences = req.audiences.clone();
    rec.duration_secs = req.duration_secs;
    rec.server = req.cluster.as_ref().map(|c| c.server.clone());
    rec.refresh = req.refresh;
    let Some(target) = &req.cluster else {
        return Response::error(
            ErrorCode::BadRequest,
            "the request names no cluster: the broker only sends a credential to the cluster it was asked for",
        );
    };
    let ask = Ask {
        wanted,
        audiences: &req.audiences,
        source: req.source.as_deref().unwrap_or("token-request"),
        duration: req.duration_secs.map(Duration::from_secs),
    };
    let (rule, duration) = match shared.policy.current(now).policy.decide(caller, &ask) {
        Decision::Deny(why) => {
            rec.decision = "deny";
            return Response::error(ErrorCode::Denied, why);
        }
        Decision::Allow {
            rule,
            duration,
            capped,
        } => {
            if capped && let Some(d) = duration {
                tracing::info!("rule {rule:?} capped the duration to {}s", d.as_secs());
                rec.duration_secs = Some(d.as_secs());
            }
            (rule, duration)
        }
    };
    rec.rule = Some(rule);
    let issued = options_for(&shared.opts, req, duration).and_then(|opts| {
        issue(
            &opts,
            target,
            req.refresh,
            req.rejected.as_deref(),
            &SystemClock,
        )
    });
    match issued {
        Ok(h) => {
            rec.decision = "allow";
            rec.credential_id = crate::credential_id::of(&h.credential);
            Response::credential(h.credential, h.clock_offset, h.secret)
        }
        Err(e) => {
            let code = if e.exit_code() == ExitCode::Refused {
                ErrorCode::Refused
            } else {
                ErrorCode::Failed
            };
            Response::error(code, e.to_string())
        }
    }
}

/// Removes the socket and exits on SIGTERM, SIGINT or SIGHUP. Called before
/// any other thread starts, so that every thread blocks them and only this
/// one takes them.
#[cfg(unix)]
fn stop_on_signals(socket: Option<std::path::PathBuf>) {
    // SAFETY: plain signal-set calls on a local set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: waits for one of the signals blocked above.
        unsafe { libc::sigwait(&set, &mut sig) };
        if let Some(p) = socket {
            let _ = std::fs::remove_file(p);
        }
        eprintln!("kube-sa-token serve: stopped (signal {sig})");
        std::process::exit(0);
    });
}
