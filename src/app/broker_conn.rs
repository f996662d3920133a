//! One admitted connection of the broker (`serve.rs` accepts it): the
//! request read within its deadlines, the status or the credential the
//! policy allows (issued within [`MINT_DEADLINE`] by `broker_issue.rs`),
//! the answer and its audit line.

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::broker::BrokerError;
use crate::broker::audit::{AuditLog, Record};
use crate::broker::policy::{Ask, Caller, Decision, Wanted};
use crate::broker::policy_file::PolicyFile;
use crate::broker::rate::RateLimiter;
use crate::broker::refusals::Refusals;
use crate::broker::slots::{Slot, Slots};
use crate::broker::socket::Conn;
use crate::broker::wire::{self, ErrorCode, Op, Request, Response, Status};
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::error::{Error, ExitCode};
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

/// What every connection's thread shares.
pub(super) struct Shared {
    pub opts: ServeOptions,
    pub policy: PolicyFile,
    pub audit: AuditLog,
    pub rate: RateLimiter,
    pub slots: Slots,
    pub refusals: Refusals,
    /// The admin context's cluster, as the status tells it.
    pub cluster: Status,
}

pub(super) fn now() -> String {
    rfc3339(SystemClock.now())
}

pub(super) fn setup(e: impl Into<String>) -> Error {
    Error::Broker(BrokerError::Setup(e.into()))
}

/// Root, or the account the broker runs as.
#[cfg(unix)]
pub(super) fn own(caller: &Caller) -> bool {
    // SAFETY: geteuid cannot fail.
    caller.uid == 0 || caller.uid == unsafe { libc::geteuid() }
}

/// No broker serves off Unix (`socket_off.rs`).
#[cfg(not(unix))]
pub(super) fn own(_: &Caller) -> bool {
    false
}

/// Writes the audit line, and its summary on stderr.
pub(super) fn audit(shared: &Shared, rec: &Record<'_>) {
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
pub(super) fn handle(shared: &Shared, _slot: Slot, conn: &Conn, caller: &Caller) {
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
    let rules = in_force.policy.rules_for(caller);
    let mine: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    let your_grants = rules.iter().map(|r| r.grant()).collect();
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
        your_grants,
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
