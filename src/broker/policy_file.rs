//! The policy file as the broker follows it: read at start (an invalid one
//! stops `serve`), then looked at again before each request; a changed file
//! applies at once, an invalid change keeps the last valid policy and is
//! logged once, with the reason (`doctor` shows it through the status).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::policy::Policy;
use crate::fsutil::{Sticky, changeable_by_others};

/// What identifies a version of the file: status change time (a write,
/// but also a chmod or chown, which may make the file unsafe), size, inode.
type Stamp = Option<(SystemTime, u64, u64)>;

pub struct PolicyFile {
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    policy: Arc<Policy>,
    loaded_at: String,
    stamp: Stamp,
    /// Why the file's newest version is not the policy in force.
    error: Option<String>,
}

/// The policy in force and its bookkeeping, for the status answer.
pub struct InForce {
    pub policy: Arc<Policy>,
    pub loaded_at: String,
    pub error: Option<String>,
}

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        std::time::UNIX_EPOCH
            + std::time::Duration::new(
                u64::try_from(m.ctime()).unwrap_or(0),
                u32::try_from(m.ctime_nsec()).unwrap_or(0),
            )
    };
    #[cfg(not(unix))]
    let changed = m.modified().ok()?;
    Some((changed, m.len(), ino))
}

fn read(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    strict(path)?;
    Policy::parse(&text)
}

/// As sshd's StrictModes (issue 32, finding 8): the policy decides who gets
/// credentials, so only root and the broker's own account may be able to
/// change it, nor any directory above it ([`changeable_by_others`]; a
/// sticky directory such as /tmp passes: what it holds can be moved only
/// by its owner, who is checked next).
fn strict(path: &Path) -> Result<(), String> {
    match changeable_by_others(path, Sticky::Passes) {
        None => Ok(()),
        Some(why) => Err(format!(
            "another user could change it: {why}; anyone who can change the policy can give themselves credentials: make it and its directories root's or the broker account's, not writable by group or others (chown, chmod go-w)"
        )),
    }
}

impl PolicyFile {
    /// Loads `path`; the error says what to fix.
    pub fn load(path: &Path, now: String) -> Result<PolicyFile, String> {
        let stamp = stamp(path);
        let policy =
            read(path).map_err(|e| format!("the policy {} is invalid: {e}", path.display()))?;
        Ok(PolicyFile {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                policy: Arc::new(policy),
                loaded_at: now,
                stamp,
                error: None,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The policy in force now, re-read first if the file changed.
    pub fn current(&self, now: impl FnOnce() -> String) -> InForce {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = stamp(&self.path);
        if stamp != s.stamp {
            s.stamp = stamp;
            match read(&self.path) {
                Ok(p) => {
                    tracing::warn!(
                        "policy {} reloaded: {}",
                        self.path.display(),
                        crate::wording::counted(p.rules.len(), "rule")
                    );
                    s.policy = Arc::new(p);
                    s.loaded_at = now();
                    s.error = None;
                }
                Err(e) => {
                    tracing::error!(
                        "policy {} is invalid ({e}); keeping the last valid one, loaded {}",
                        self.path.display(),
                        s.loaded_at
                    );
                    s.error = Some(e);
                }
            }
        }
        InForce {
            policy: s.policy.clone(),
            loaded_at: s.loaded_at.clone(),
            error: s.error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 32, finding 8: a policy others could change is refused at the
    /// start and at every reload (then the last valid one stays).
    #[cfg(unix)]
    #[test]
    fn a_policy_others_can_change_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, ONE).unwrap();
        mode(&path, 0o666);
        let e = PolicyFile::load(&path, "t0".into()).err().unwrap();
        assert!(e.contains("writable by every user (mode 666)"), "{e}");
        assert!(e.contains("chmod go-w"), "{e}");
        if unsafe { libc::getegid() } != 4242 && unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&path, None, Some(4242)).unwrap();
            mode(&path, 0o620);
            let e = PolicyFile::load(&path, "t0".into()).err().unwrap();
            assert!(e.contains("writable by its group (gid 4242)"), "{e}");
        }
        mode(&path, 0o644);
        mode(dir.path(), 0o777);
        let e = PolicyFile::load(&path, "t0".into()).err().unwrap();
        assert!(
            e.contains(&format!(
                "{} is writable by every user",
                dir.path().display()
            )),
            "{e}"
        );
        // A sticky directory writable by all (as /tmp) is fine.
        mode(dir.path(), 0o1777);
        let f = PolicyFile::load(&path, "t0".into()).unwrap();
        mode(dir.path(), 0o700);
        // Made writable later (a chmod alone, the text unchanged): the
        // reload refuses it and keeps the policy it had.
        mode(&path, 0o646);
        let now = f.current(|| "t1".into());
        assert_eq!(now.policy.rules.len(), 1);
        assert!(now.error.unwrap().contains("writable by every user"));
        // Owned by another account (not root, not us).
        if unsafe { libc::geteuid() } == 0 {
            mode(&path, 0o644);
            std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
            let e = PolicyFile::load(&path, "t0".into()).err().unwrap();
            assert!(e.contains("owned by uid 4242"), "{e}");
        }
    }

    const ONE: &str =
        "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n";

    #[test]
    fn changes_apply_and_invalid_ones_keep_the_last_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.yaml");
        assert!(
            PolicyFile::load(&path, "t0".into())
                .err()
                .unwrap()
                .contains("cannot read it")
        );
        std::fs::write(&path, ONE).unwrap();
        let f = PolicyFile::load(&path, "t0".into()).unwrap();
        assert_eq!(f.current(|| "t1".into()).policy.rules.len(), 1);
        // Replaced (a new inode, as editors and config management write).
        let two =
            format!("{ONE}  - name: b\n    callers: {{uids: [2]}}\n    serviceAccounts: [a/c]\n");
        std::fs::write(dir.path().join("new"), &two).unwrap();
        std::fs::rename(dir.path().join("new"), &path).unwrap();
        let now = f.current(|| "t2".into());
        assert_eq!(
            (now.policy.rules.len(), now.loaded_at.as_str(), now.error),
            (2, "t2", None)
        );
        // Broken: the last valid one stays, with the reason.
        std::fs::write(dir.path().join("new"), "version: 1\nrules: [\n").unwrap();
        std::fs::rename(dir.path().join("new"), &path).unwrap();
        let now = f.current(|| "t3".into());
        assert_eq!(now.policy.rules.len(), 2);
        assert_eq!(now.loaded_at, "t2");
        assert!(now.error.unwrap().contains("line"));
        // Removed: the same.
        std::fs::remove_file(&path).unwrap();
        assert!(
            f.current(|| "t4".into())
                .error
                .unwrap()
                .contains("cannot read it")
        );
    }
}
