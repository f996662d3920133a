//! `serve`: the local credential broker. It listens on a Unix socket, learns
//! each caller from the kernel and decides at the door, before reading
//! anything, whether the connection gets a thread: callers no rule names,
//! over their rate limit or with too many connections open are answered at
//! once (and logged once a minute). An admitted connection is served by
//! `broker_conn.rs`: the policy judges its request and the credential is
//! minted through the admin context (`broker_issue.rs`), within deadlines,
//! so a slow or broken caller holds only itself up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::broker::audit::{AuditLog, Record};
use crate::broker::policy::Caller;
use crate::broker::policy_file::PolicyFile;
use crate::broker::rate::RateLimiter;
use crate::broker::refusals::{self, Kind, Refusals};
use crate::broker::slots::{Full, Slot, Slots};
use crate::broker::socket::{self, Conn};
use crate::broker::wire::{self, ErrorCode, Response, Status};
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::ServeOptions;

use super::broker_conn::{Shared, audit, handle, now, own, setup};
use super::serve_start;

/// Connections of one caller (uid) in progress at once.
const PER_CALLER: usize = 8;

/// `kube-sa-token serve`: runs until SIGTERM or SIGINT.
pub fn serve(opts: &ServeOptions) -> Result<(), Error> {
    let policy = PolicyFile::load(&opts.policy, now()).map_err(setup)?;
    let (socket_path, audit_log) = serve_start::paths(opts)?;
    let current = policy.current(now).policy;
    let (cluster, admin, minter) = match &opts.vault {
        // The cluster is the one the engine mints for: Vault must answer
        // (with this account's token or login) before anything is served.
        Some(v) => {
            // A password login may prompt here, once, when serve starts
            // in a terminal; requests never do.
            let may_prompt = super::admin_session::terminal();
            let keeper = super::vault_keeper::VaultKeeper::new(v, may_prompt);
            let engine = super::broker_cluster::vault_cluster(v, &keeper)?;
            let cluster = Status {
                server: engine.info.server,
                ca_pem: engine.ca_pem.map(|pem| status_ca(&pem)),
                tls_server_name: None,
                cluster_name: Some(engine.name),
                ..Status::default()
            };
            let check = serve_start::AdminCheck {
                who: None,
                warnings: Vec::new(),
            };
            let minter = format!("Vault role {:?} at {}/{}", v.role, v.address, v.mount);
            (cluster, check, minter)
        }
        None => {
            let kc = Kubeconfigs::load(opts.kubeconfig.as_deref())?;
            let cluster = Status {
                server: kc.server_of(&opts.admin_context)?,
                ca_pem: kc
                    .cluster_ca(&opts.admin_context)?
                    .map(|pem| status_ca(&pem)),
                tls_server_name: kc.cluster_identity(&opts.admin_context)?.tls_server_name,
                cluster_name: Some(kc.context(&opts.admin_context)?.cluster)
                    .filter(|c| !c.is_empty()),
                ..Status::default()
            };
            let check = serve_start::check_admin(opts, &current)?;
            (
                cluster,
                check,
                format!("admin context {:?}", opts.admin_context),
            )
        }
    };
    let audit = AuditLog::open(&audit_log).map_err(|e| {
        setup(format!(
            "cannot open the audit log {}: {e}; pass --audit-log FILE (- for stdout)",
            audit_log.display()
        ))
    })?;
    let listener = socket::listen(&socket_path)?;
    let made = listener.made().map(ToOwned::to_owned);
    #[cfg(unix)]
    stop_on_signals(made);
    #[cfg(not(unix))]
    drop(made);
    eprintln!(
        "kube-sa-token {} serving {} for {minter} ({}{}); policy {} ({}); audit log {}",
        env!("CARGO_PKG_VERSION"),
        listener.describe(),
        cluster.server,
        admin.who.map(|w| format!(", as {w}")).unwrap_or_default(),
        opts.policy.display(),
        crate::wording::counted(current.rules.len(), "rule"),
        audit_log.display()
    );
    for w in &admin.warnings {
        tracing::warn!("{w}");
    }
    let (client, closed) = serve_start::client_command(&socket_path);
    eprintln!("clients: {client}");
    if let Some(closed) = closed {
        tracing::warn!("{closed}");
    }
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
