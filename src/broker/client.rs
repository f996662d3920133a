//! Asking the broker: one request, one answer, over a socket whose server
//! the kernel says is root or the configured owner. Used by `get --broker`
//! (through `app/broker_minter.rs`), `setup --broker` and `doctor`.

use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use super::error::BrokerError;
use super::socket;
use super::wire::{self, ErrorCode, Request, Response, Status};

/// Sends `req` to the broker at `path` (served by root or `owner`) and
/// reads its answer; a refusal or failure is the broker's reason as an
/// error. Waits at most `timeout` for each read or write.
pub fn ask(
    path: &Path,
    owner: Option<&str>,
    req: &Request,
    timeout: Duration,
) -> Result<Response, BrokerError> {
    let trusted = socket::owner_uid(owner)?;
    let mut conn = socket::connect(path, trusted, timeout)?;
    let broken = |detail: String| BrokerError::Broken {
        path: path.to_path_buf(),
        detail,
    };
    // A broker that refuses at the door (a caller no rule names, one over
    // its limits) answers without reading and closes: the answer is there
    // to read even when sending failed.
    let sent = wire::write_line(&mut conn, req);
    let line = wire::read_line(&mut BufReader::new(&mut conn), wire::MAX_RESPONSE).map_err(
        |e| match &sent {
            Err(w) => broken(format!("cannot send the request: {w}")),
            Ok(()) => broken(format!("its answer could not be read: {e}")),
        },
    )?;
    let resp: Response = serde_json::from_slice(&line).map_err(|_| BrokerError::Version {
        path: path.to_path_buf(),
        detail: "its answer is not a kube-sa-token broker answer".into(),
    })?;
    if resp.v != wire::VERSION {
        return Err(BrokerError::Version {
            path: path.to_path_buf(),
            detail: format!(
                "it answers in protocol {} (kube-sa-token {}), this client speaks {} (kube-sa-token {}): run the same release on both sides",
                resp.v,
                resp.broker,
                wire::VERSION,
                env!("CARGO_PKG_VERSION")
            ),
        });
    }
    let Some(e) = resp.error else {
        return Ok(resp);
    };
    let path = path.to_path_buf();
    Err(match e.code {
        ErrorCode::Denied | ErrorCode::Refused => BrokerError::Denied {
            path,
            reason: e.message,
        },
        ErrorCode::Version => BrokerError::Version {
            path,
            detail: e.message,
        },
        ErrorCode::BadRequest => BrokerError::Broken {
            path,
            detail: format!("it could not read the request: {}", e.message),
        },
        ErrorCode::RateLimited | ErrorCode::Busy | ErrorCode::Failed => BrokerError::Failed {
            path,
            reason: e.message,
        },
    })
}

/// The broker's status (`op: status`).
pub fn status(
    path: &Path,
    owner: Option<&str>,
    timeout: Duration,
) -> Result<(String, Status), BrokerError> {
    let req = Request {
        v: wire::VERSION,
        op: wire::Op::Status,
        service_account: None,
        user: None,
        source: None,
        audiences: Vec::new(),
        duration_secs: None,
        cluster: None,
        refresh: false,
        rejected: None,
    };
    let resp = ask(path, owner, &req, timeout)?;
    let broker = resp.broker;
    resp.status
        .map(|s| (broker, s))
        .ok_or_else(|| BrokerError::Version {
            path: path.to_path_buf(),
            detail: "it answered a status request without a status".into(),
        })
}
