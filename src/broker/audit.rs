//! The broker's audit log: one JSON object per line for every request —
//! when, who asked (uid, gid, pid, executable, as the kernel tells it), what
//! for, the decision and, when a credential was handed out, its id (`JTI=`
//! or `X509SHA256=`, as the API server's audit log names its requests).
//! Never the credential itself.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use super::policy::Caller;

/// Where lines go: an append-only file (0600), or stdout (`-`, for a
/// journal).
pub struct AuditLog {
    out: Mutex<Box<dyn Write + Send>>,
}

/// One line.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    pub time: String,
    pub uid: u32,
    pub gid: Option<u32>,
    pub pid: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<&'a str>,
    /// `credential`, `status`, or `-` when the request could not be read.
    pub op: &'static str,
    /// What was asked for: `team/viewer`, `user:alice [dev]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// A client's background refresh (the successor minted if due).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
    /// `allow`, `deny`, `error`.
    pub decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason of a refusal or failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Like refusals of this caller not logged line by line (refused before
    /// a request was read; `refusals.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeated: Option<u64>,
}

impl<'a> Record<'a> {
    /// A record of `caller` asking `op`, decided `decision`.
    pub fn new(
        time: String,
        caller: &'a Caller,
        op: &'static str,
        decision: &'static str,
    ) -> Record<'a> {
        Record {
            time,
            uid: caller.uid,
            gid: caller.gids.first().copied(),
            pid: caller.pid,
            user: caller.user.as_deref(),
            exe: caller.exe.as_deref(),
            op,
            asked: None,
            audiences: Vec::new(),
            duration_secs: None,
            server: None,
            refresh: false,
            decision,
            rule: None,
            reason: None,
            credential_id: None,
            repeated: None,
        }
    }
}

impl AuditLog {
    /// Opens `path` for appending (created 0600, never through a link), or
    /// stdout for `-`.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            // A missing directory is made private; an existing one is left
            // as it is (it may be /var/log).
            if let Some(dir) = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            {
                crate::fsutil::private_dir(dir)?;
            }
            let mut opts = OpenOptions::new();
            opts.append(true).create(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
            }
            let f: File = opts.open(path)?;
            Box::new(f)
        };
        Ok(AuditLog {
            out: Mutex::new(out),
        })
    }

    /// Appends one line (one write: lines of concurrent requests never mix).
    pub fn write(&self, record: &Record<'_>) {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return;
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::error!("cannot write the audit log: {e}");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let caller = Caller {
            uid: 1001,
            gids: vec![1001, 5],
            pid: 7,
            user: Some("agent".into()),
            groups: vec![],
            exe: Some("/usr/bin/kubectl".into()),
        };
        for decision in ["allow", "deny"] {
            let log = AuditLog::open(&path).unwrap();
            let mut r = Record::new(
                "2026-12-01T00:00:00Z".into(),
                &caller,
                "credential",
                decision,
            );
            r.asked = Some("team/viewer".into());
            r.credential_id = Some("JTI=abc".into());
            log.write(&r);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["uid"], 1001);
        assert_eq!(lines[0]["gid"], 1001);
        assert_eq!(lines[0]["exe"], "/usr/bin/kubectl");
        assert_eq!(lines[0]["credentialId"], "JTI=abc");
        assert_eq!(lines[1]["decision"], "deny");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
