//! What `serve` settles before it listens: its paths (the system's as root,
//! the account's own otherwise), that its admin context works now rather
//! than at a client's first request, and the command its clients run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::broker::policy::Policy;
use crate::broker::socket;
use crate::error::Error;
use crate::get_flags::SYSTEM_BROKER_SOCKET;
use crate::options::ServeOptions;
use crate::wording::shell_word;

use super::admin_session::AdminSession;

/// The audit log of a broker run by root.
const SYSTEM_AUDIT_LOG: &str = "/var/log/kube-sa-token/audit.jsonl";
/// How long the start-up check of the admin context may take, its login
/// included.
const CHECK_DEADLINE: Duration = Duration::from_secs(30);
/// Namespaces whose rights are asked about at start, at most.
const CHECKED_NAMESPACES: usize = 20;

/// Where to listen and where to log: what the flags say; else, as root,
/// the system's paths; else this account's own: the socket in its runtime
/// directory, the audit log in its state directory.
pub(super) fn paths(opts: &ServeOptions) -> Result<(PathBuf, PathBuf), Error> {
    let (uid, _) = socket::own_account();
    let socket = match &opts.socket {
        Some(s) => s.clone(),
        None if uid == 0 => SYSTEM_BROKER_SOCKET.into(),
        None => match std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
        {
            Some(dir) => dir.join("kube-sa-token").join("broker.sock"),
            None => {
                return Err(Error::Usage(format!(
                    "serve as an ordinary account (uid {uid}): no $XDG_RUNTIME_DIR for the default socket; pass --socket PATH, in a directory the callers can reach"
                )));
            }
        },
    };
    let audit = match &opts.audit_log {
        Some(a) => a.clone(),
        None if uid == 0 => SYSTEM_AUDIT_LOG.into(),
        None => match directories::ProjectDirs::from("", "", "kube-sa-token")
            .and_then(|d| d.state_dir().map(|s| s.join("audit.jsonl")))
        {
            Some(p) => p,
            None => {
                return Err(Error::Usage(
                    "serve as an ordinary account: no state directory ($XDG_STATE_HOME or $HOME) for the default audit log; pass --audit-log FILE (- for stdout)".into(),
                ));
            }
        },
    };
    Ok((socket, audit))
}

/// What the start-up check found: who the admin context is, and warnings.
pub(super) struct AdminCheck {
    pub who: Option<String>,
    pub warnings: Vec<String>,
}

/// The admin context, before any client asks. What would fail every
/// request (its login, credentials the server rejects, TLS) stops `serve`;
/// a server that is not up yet, and rights it lacks where the policy's
/// ServiceAccounts live, are warnings (a broker may start before the API
/// server; rights may be granted later).
pub(super) fn check_admin(opts: &ServeOptions, policy: &Policy) -> Result<AdminCheck, Error> {
    let context = &opts.admin_context;
    let session = AdminSession::new(opts.kubeconfig.as_deref(), context)
        .headless(Instant::now() + CHECK_DEADLINE);
    let admin = session.admin(None)?;
    let asked =
        session.block_on(async { tokio::time::timeout(CHECK_DEADLINE, admin.whoami()).await })?;
    let who = match asked.map(|r| r.map_err(Error::from)) {
        Ok(Ok(user)) => user.username.unwrap_or_default(),
        Ok(Err(e)) if e.is_unreachable() => {
            return Ok(AdminCheck {
                who: None,
                warnings: vec![format!(
                    "{e}; serving anyway: requests fail until it answers"
                )],
            });
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Ok(AdminCheck {
                who: None,
                warnings: vec![format!(
                    "the API server {} did not answer within {}s; serving anyway: requests fail until it answers",
                    admin.server(),
                    CHECK_DEADLINE.as_secs()
                )],
            });
        }
    };
    let mut warnings = Vec::new();
    let mut namespaces: Vec<&str> = policy.rules.iter().flat_map(|r| r.namespaces()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    for pattern in namespaces.into_iter().take(CHECKED_NAMESPACES) {
        // A pattern may name any namespace: asked cluster-wide.
        let (ns, place) = if pattern.contains('*') {
            (
                "",
                format!("every namespace (pattern {pattern:?} may name any)"),
            )
        } else {
            (pattern, format!("namespace {pattern:?}"))
        };
        match session.block_on(admin.can("create", "serviceaccounts", Some("token"), ns))? {
            Ok(true) => {}
            Ok(false) => warnings.push(format!(
                "admin context {context:?} ({who}) may not create serviceaccounts/token in {place}: the API server will refuse those requests; grant it (docs/broker.md)"
            )),
            Err(e) => warnings.push(format!("could not check the rights in {place}: {e}")),
        }
    }
    if policy.rules.iter().any(|r| r.issues_certificates()) {
        let asked = session.block_on(admin.can_certificates(
            "create",
            "certificatesigningrequests",
            None,
            None,
        ))?;
        match asked {
            Ok(true) => {}
            Ok(false) => warnings.push(format!(
                "admin context {context:?} ({who}) may not create CertificateSigningRequests: the policy's x509Users rules cannot be served; grant it (docs/users.md)"
            )),
            Err(e) => warnings.push(format!("could not check the right to create CertificateSigningRequests: {e}")),
        }
    }
    Ok(AdminCheck {
        who: Some(who),
        warnings,
    })
}

/// The command a client types for this broker: `--broker` alone for the
/// system broker's socket, `--broker-owner` when the broker is not root,
/// and a warning when other accounts cannot reach the socket at all.
pub(super) fn client_command(socket_path: &Path) -> (String, Option<String>) {
    let (uid, name) = socket::own_account();
    let mut cmd = "kube-sa-token setup NAMESPACE/SERVICEACCOUNT --broker".to_string();
    if socket_path != Path::new(SYSTEM_BROKER_SOCKET) {
        cmd.push(' ');
        cmd.push_str(&shell_word(&socket_path.display().to_string()));
    }
    if uid != 0 {
        let owner = name.unwrap_or_else(|| uid.to_string());
        cmd.push_str(&format!(" --broker-owner {}", shell_word(&owner)));
    }
    let closed = socket::closed_to_others(socket_path).map(|dir| {
        format!(
            "only this account and root can reach the socket: {} is closed to others; for other accounts, serve with --socket in a directory they can reach",
            dir.display()
        )
    });
    (cmd, closed)
}
