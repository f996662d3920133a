//! The broker's wire protocol, version 1: one JSON object on one line each
//! way, one request per connection. Small on purpose: a request names the
//! credential (who, audiences, duration, source) and the cluster the
//! client's kubectl talks to; the answer is the credential, a refusal with
//! its reason, or the broker's status. Lines are size-limited both ways.
//!
//! ```text
//! → {"v":1,"op":"credential","serviceAccount":{"namespace":"team","name":"viewer"},"durationSecs":3600,"cluster":{"server":"https://..."}}
//! ← {"v":1,"broker":"0.2.0","credential":{"token":"eyJ..."},"clockOffset":0}
//! ← {"v":1,"broker":"0.2.0","error":{"code":"denied","message":"..."}}
//! ```

use std::io::{self, BufRead, Write};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::names;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;
/// The longest request line (bytes, newline included): a request holds names,
/// a few audiences and a cluster identity, far below this.
pub const MAX_REQUEST: usize = 16 * 1024;
/// The longest answer line: a certificate chain and key fit many times over.
pub const MAX_RESPONSE: usize = 256 * 1024;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    pub v: u32,
    pub op: Op,
    /// A ServiceAccount's token (`op: credential`); exactly one of this and
    /// `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountRef>,
    /// An X.509 user's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    /// `token-request` (default) or `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// The lifetime asked for (TokenRequest tokens, certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// The cluster the client's kubectl sends the credential to; the broker
    /// refuses when its admin context mints elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterIdentity>,
    /// A background refresh: mint the successor if the broker's entry is
    /// due for one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
    /// The server rejected the credential with this fingerprint
    /// ([`fingerprint`]): the broker checks its own copy and replaces it if
    /// the server rejects it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    Credential,
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The broker's answer: exactly one of `credential`, `status`, `error`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub v: u32,
    /// The broker's release (`kube-sa-token --version`'s number).
    #[serde(default)]
    pub broker: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// The API server's clock minus the broker's (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<i64>,
    /// The Secret a token came from or is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

/// What `op: status` answers: enough for `setup --broker` to write the
/// cluster entry and for `doctor` to show the broker's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The admin context's cluster: URL, CA bundle (PEM; public), TLS name.
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// The policy file, when it was loaded, its rule count, and why the
    /// newest version was not taken (then the last valid one applies).
    pub policy_file: String,
    pub policy_loaded: String,
    pub policy_rules: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_error: Option<String>,
    /// The rules that name this caller (their names).
    #[serde(default)]
    pub your_rules: Vec<String>,
    /// What those rules let the caller have (`kube-sa-token rules`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub your_grants: Vec<Grant>,
    /// The admin context's cluster's name in the broker's kubeconfig:
    /// clients name their entries after it (`team/viewer@broker:NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
}

/// What one rule naming the caller lets it have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub rule: String,
    /// `NAMESPACE/NAME` patterns (`*` never matches `/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x509_users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x509_groups: Vec<String>,
    /// "1h", "10m" ([`crate::duration::flag`]); none: no maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// A longer request is capped to the maximum instead of refused.
    #[serde(default)]
    pub capped: bool,
    /// The audiences a token may be asked for (none: the API server's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// The policy does not allow it (the message is the policy's reason).
    Denied,
    /// The request could not be read (malformed, oversized, too slow).
    BadRequest,
    /// Another protocol version.
    Version,
    /// Too many requests from this caller; try again shortly.
    RateLimited,
    /// Too many connections at once.
    Busy,
    /// Allowed, but the mint failed (the message says why).
    Failed,
    /// Allowed, but refused for safety (cluster binding).
    Refused,
}

impl Response {
    fn new() -> Response {
        Response {
            v: VERSION,
            broker: env!("CARGO_PKG_VERSION").into(),
            credential: None,
            clock_offset: None,
            secret: None,
            status: None,
            error: None,
        }
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Response {
        Response {
            error: Some(WireError {
                code,
                message: message.into(),
            }),
            ..Response::new()
        }
    }

    pub fn credential(
        credential: Credential,
        clock_offset: i64,
        secret: Option<String>,
    ) -> Response {
        Response {
            credential: Some(credential),
            clock_offset: Some(clock_offset),
            secret,
            ..Response::new()
        }
    }

    pub fn status(status: Status) -> Response {
        Response {
            status: Some(status),
            ..Response::new()
        }
    }
}

/// Why a line could not be read.
#[derive(Debug)]
pub enum LineError {
    /// Over the limit before a newline came.
    TooLong(usize),
    /// The peer closed before a newline.
    Truncated,
    Io(io::Error),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::TooLong(max) => write!(f, "longer than {max} bytes"),
            LineError::Truncated => f.write_str("it ended without a newline"),
            LineError::Io(e) if is_timeout(e) => f.write_str("it did not arrive in time"),
            LineError::Io(e) => write!(f, "{e}"),
        }
    }
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one line of at most `max` bytes (its newline included), never
/// buffering more than that.
pub fn read_line(r: &mut impl BufRead, max: usize) -> Result<Vec<u8>, LineError> {
    let mut line = Vec::new();
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        };
        if buf.is_empty() {
            return Err(LineError::Truncated);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > max {
            return Err(LineError::TooLong(max));
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            line.pop();
            return Ok(line);
        }
    }
}

/// Writes `value` as one line.
pub fn write_line(w: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    w.write_all(&bytes)?;
    w.flush()
}

/// Why a request line was refused (never quoting it: a confused client may
/// have sent a credential).
pub fn parse_request(line: &[u8]) -> Result<Request, (ErrorCode, String)> {
    #[derive(Deserialize)]
    struct Versioned {
        v: Option<serde_json::Value>,
    }
    let bad = |what: String| (ErrorCode::BadRequest, what);
    let versioned: Versioned = serde_json::from_slice(line).map_err(|e| {
        bad(format!(
            "the request is not a JSON object ({})",
            e.classify_name()
        ))
    })?;
    match versioned.v.as_ref().and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err((
                ErrorCode::Version,
                format!(
                    "this broker (kube-sa-token {}) speaks protocol {VERSION}, the client {v}: run the same release on both sides",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        None => return Err(bad("the request has no protocol version (\"v\")".into())),
    }
    let req: Request = serde_json::from_slice(line).map_err(|e| {
        bad(format!(
            "the request is not a valid version {VERSION} request (line {}, column {}: {})",
            e.line(),
            e.column(),
            e.classify_name()
        ))
    })?;
    if req.op == Op::Credential && req.service_account.is_some() == req.user.is_some() {
        return Err(bad(
            "a credential request names exactly one of serviceAccount and user".into(),
        ));
    }
    check(&req).map_err(bad)?;
    Ok(req)
}

/// What `get` checks on its flags, checked on a request before the policy
/// or the API server sees it (`names.rs`, the one place both use): names
/// that could not be a namespace, a ServiceAccount or a certificate's
/// subject, a lifetime out of bounds, options that do not go together.
fn check(req: &Request) -> Result<(), String> {
    let name = |r: Result<(), names::Invalid>| r.map_err(|e| e.to_string());
    if let Some(sa) = &req.service_account {
        name(names::namespace(&sa.namespace))?;
        name(names::service_account(&sa.name))?;
    }
    if let Some(u) = &req.user {
        name(names::x509("user name", &u.name))?;
        for g in &u.groups {
            name(names::x509("group", g))?;
        }
        if req.source.is_some() || !req.audiences.is_empty() {
            return Err("source and audiences are for ServiceAccount tokens, not users".into());
        }
    }
    for a in &req.audiences {
        name(names::audience(a))?;
    }
    let secret = match req.source.as_deref() {
        None | Some("token-request") => false,
        Some("secret") => true,
        Some(_) => return Err("source is token-request or secret".into()),
    };
    match req.duration_secs {
        Some(_) if secret => {
            return Err(
                "durationSecs does not apply to source secret: a legacy Secret token has no lifetime"
                    .into(),
            );
        }
        Some(d) => names::lifetime(Duration::from_secs(d))?,
        None => {}
    }
    if let Some(fp) = &req.rejected
        && !(fp.len() == 64 && fp.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    {
        return Err("rejected is a credential's SHA-256 fingerprint (64 hex digits)".into());
    }
    Ok(())
}

/// Names serde_json's error classes without the input they quote.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected field or value",
            serde_json::error::Category::Eof => "incomplete",
        }
    }
}

/// A credential's fingerprint: SHA-256 (hex) of the token's text or of the
/// certificate's PEM. Names it without revealing it.
pub fn fingerprint(credential: &Credential) -> String {
    let bytes = match credential {
        Credential::Token(t) => t.expose().as_bytes(),
        Credential::Certificate(c) => c.certificate.as_bytes(),
    };
    crate::hex::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
