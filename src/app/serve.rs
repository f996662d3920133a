//! `serve`: the local credential broker. It listens on a Unix socket, learns
//! each caller from the kernel, judges the request by the policy, and hands
//! out credentials minted through its admin context (`broker_issue.rs`).
//! Every request is audited. Each connection has a thread of its own and a
//! deadline, so a slow or broken caller holds only itself up.

use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::broker::BrokerError;
use crate::broker::audit::{AuditLog, Record};
use crate::broker::policy::{Ask, Caller, Decision, Wanted};
use crate::broker::policy_file::PolicyFile;
use crate::broker::rate::RateLimiter;
use crate::broker::refusals::{self, Kind, Refusals};
use crate::broker::slots::{Full, Slot, Slots};
use crate::broker::socket::{self, Conn};
use crate::broker::wire::{self, ErrorCode, Op, Request, Response, Status};
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::error::{Error, ExitCode};
use crate::kubeconfig::Kubeconfigs;
use crate::options::ServeOptions;

use super::broker_issue::{issue, options_for};

/// How long a caller has to send the first byte of its request, and then
/// the request whole.
const FIRST_BYTE: Duration = Duration::from_secs(1);
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long an answer may wait for a caller that does not read it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a credential request may take, mint included. Then the caller
/// is answered `failed` and its place given back; the admin's exec plugin,
/// if one runs for it, is ended with its process group at the same moment
/// (`AdminSession::headless`), and every API call is bounded on its own.
pub(super) const MINT_DEADLINE: Duration = Duration::from_secs(30);
/// Connections of one caller (uid) in progress at once.
const PER_CALLER: usize = 8;

struct Shared {
    opts: ServeOptions,
    policy: PolicyFile,
    audit: AuditLog,
    rate: RateLimiter,
    slots: Slots,
    refusals: Refusals,
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
            .map(|pem| status_ca(&pem)),
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
        slots: Slots::new(opts.max_connections, PER_CALLER.min(opts.max_connections)),
        refusals: Refusals::default(),
        cluster,
    });
    let closing = Arc::clone(&shared);
    std::thread::spawn(move || log_closed_windows(&closing));
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
        let caller = match socket::caller(&conn) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("cannot learn who connected (SO_PEERCRED): {e}; closing");
                continue;
            }
        };
        let slot = match admit(&shared, &caller) {
            Ok(slot) => slot,
            Err((kind, code, message)) => {
                refuse(&shared, &conn, &caller, kind, code, message);
                continue;
            }
        };
        let on_thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("broker-conn".into())
            .spawn(move || handle(&on_thread, slot, &conn, &caller));
        if let Err(e) = spawned {
            // The closure, and the slot and connection it holds, was dropped.
            tracing::error!("cannot start a thread for a connection: {e}");
        }
    }
}

/// Whether a connection gets a thread, decided from the kernel's word on
/// the caller alone, before anything is read: callers no rule names (but
/// root and the broker's own account, who may ask the status), callers
/// over their rate limit, and callers with too many connections open are
/// answered at once.
fn admit(shared: &Shared, caller: &Caller) -> Result<Slot, (Kind, ErrorCode, String)> {
    let in_force = shared.policy.current(now);
    if in_force.policy.rules_for(caller).is_empty() && !own(caller) {
        return Err((
            Kind::Unnamed,
            ErrorCode::Denied,
            format!(
                "no rule of the policy names {} (or its groups)",
                caller.describe()
            ),
        ));
    }
    let rate = in_force.policy.rate;
    if !shared.rate.take(caller.uid, rate, Instant::now()) {
        return Err((
            Kind::RateLimited,
            ErrorCode::RateLimited,
            format!(
                "too many requests from {} (the policy allows {} a minute, {} at once); try again in a few seconds",
                caller.describe(),
                rate.per_minute,
                rate.burst
            ),
        ));
    }
    shared.slots.take(caller.uid).map_err(|full| {
        let message = match full {
            Full::All(n) => {
                format!("the broker is serving {n} connections already; try again shortly")
            }
            Full::Caller(n) => format!(
                "{} has {n} connections to the broker open already; try again shortly",
                caller.describe()
            ),
        };
        (Kind::Busy, ErrorCode::Busy, message)
    })
}

/// Root, or the account the broker runs as.
fn own(caller: &Caller) -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid cannot fail.
    return caller.uid == 0 || caller.uid == unsafe { libc::geteuid() };
    #[cfg(not(unix))]
    return false;
}

/// Answers a connection refused at the door without reading from it (the
/// answer is one short line: it fits the socket's buffer, so the write
/// never waits), logged once per caller and kind a window.
fn refuse(
    shared: &Shared,
    conn: &Conn,
    caller: &Caller,
    kind: Kind,
    code: ErrorCode,
    message: String,
) {
    let _ = conn.set_nonblocking(true);
    let _ = wire::write_line(&mut &*conn, &Response::error(code, message.clone()));
    if shared.refusals.note(caller, kind, &message, Instant::now()) {
        let mut rec = Record::new(now(), caller, "-", "deny");
        rec.reason = Some(message);
        audit(shared, &rec);
    }
}

/// Every so often, one line for each window of refusals that counted more
/// than its first.
fn log_closed_windows(shared: &Shared) {
    loop {
        std::thread::sleep(refusals::WINDOW / 6);
        for u in shared.refusals.closed(Instant::now()) {
            let mut rec = Record::new(now(), &u.caller, "-", "deny");
            rec.reason = Some(format!(
                "{} more like this within {}s of the line before: {}",
                u.count,
                refusals::WINDOW.as_secs(),
                u.reason
            ));
            rec.repeated = Some(u.count);
            audit(shared, &rec);
        }
    }
}

/// Writes the audit line, and its summary on stderr.
fn audit(shared: &Shared, rec: &Record<'_>) {
    shared.audit.write(rec);
    tracing::info!(
        "uid {}{} {} {}: {}",
        rec.uid,
        rec.user.map(|u| format!(" ({u})")).unwrap_or_default(),
        rec.op,
        rec.asked.as_deref().unwrap_or("-"),
        rec.decision
    );
}

/// Reads from the caller until the request's deadlines: the first byte
/// within [`FIRST_BYTE`], the whole within [`REQUEST_DEADLINE`].
struct Deadline<'a> {
    conn: &'a Conn,
    first: Instant,
    until: Instant,
    started: bool,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let until = if self.started { self.until } else { self.first };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.conn.set_read_timeout(Some(left))?;
        let mut conn = self.conn;
        let n = conn.read(buf)?;
        self.started |= n > 0;
        Ok(n)
    }
}

/// One admitted connection: what, the decision, the answer, the audit
/// line. Its place (`_slot`) is given back when this returns.
fn handle(shared: &Shared, _slot: Slot, conn: &Conn, caller: &Caller) {
    let _ = conn.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut rec = Record::new(now(), caller, "-", "error");
    let resp = respond(shared, conn, caller, &mut rec);
    if let Some(e) = &resp.error {
        rec.reason.get_or_insert_with(|| e.message.clone());
    }
    audit(shared, &rec);
    if let Err(e) = wire::write_line(&mut &*conn, &resp) {
        tracing::info!("could not answer {}: {e}", caller.describe());
    }
}

fn respond(shared: &Shared, conn: &Conn, caller: &Caller, rec: &mut Record<'_>) -> Response {
    let start = Instant::now();
    let mut reader = std::io::BufReader::new(Deadline {
        conn,
        first: start + FIRST_BYTE,
        until: start + REQUEST_DEADLINE,
        started: false,
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
    if mine.is_empty() && !own(caller) {
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
    let issued = match options_for(&shared.opts, req, duration, MINT_DEADLINE) {
        Ok(opts) => within_deadline(opts, target.clone(), req),
        Err(e) => Some(Err(e)),
    };
    let issued = match issued {
        Some(r) => r,
        None => {
            return Response::error(
                ErrorCode::Failed,
                format!(
                    "the broker could not mint within {}s (a slow or stuck admin login or API server); it ended the attempt: try again, or ask the broker's owner to check its log",
                    MINT_DEADLINE.as_secs()
                ),
            );
        }
    };
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

/// The admin context's CA as the status hands it to callers: its
/// certificates alone (a bundle may hold a private key), with a warning.
fn status_ca(pem: &[u8]) -> String {
    let (certs, other) = crate::cluster_identity::certificates_only(pem);
    if other > 0 {
        tracing::warn!(
            "the admin context's certificate-authority holds {other} PEM block(s) besides certificates (a private key?); the status hands out the certificates only: keep the CA file to certificates"
        );
    }
    certs
}

/// Issues the credential on a thread of its own, waited for until
/// [`MINT_DEADLINE`]; `None` when it is not done by then (the thread ends
/// on its own: its plugin is killed at the deadline, its API calls and
/// lock wait are bounded).
fn within_deadline(
    opts: crate::options::GetOptions,
    target: crate::cluster_identity::ClusterIdentity,
    req: &Request,
) -> Option<Result<super::broker_issue::Handed, Error>> {
    let deadline = Instant::now() + MINT_DEADLINE;
    let (refresh, rejected) = (req.refresh, req.rejected.clone());
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("broker-mint".into())
        .spawn(move || {
            let issued = issue(
                &opts,
                &target,
                refresh,
                rejected.as_deref(),
                &SystemClock,
                deadline,
            );
            let _ = tx.send(issued);
        });
    if let Err(e) = spawned {
        return Some(Err(setup(format!(
            "cannot start a thread for the mint: {e}"
        ))));
    }
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
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
