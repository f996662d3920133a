//! The policy file as the broker follows it: read at start (an invalid one
//! stops `serve`), then looked at again before each request; a changed file
//! applies at once, an invalid change keeps the last valid policy and is
//! logged once, with the reason (`doctor` shows it through the status).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::policy::Policy;

/// What identifies a version of the file: change time, size, inode.
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
    Some((m.modified().ok()?, m.len(), ino))
}

fn read(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    Policy::parse(&text)
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
                        "policy {} reloaded: {} rule{}",
                        self.path.display(),
                        p.rules.len(),
                        if p.rules.len() == 1 { "" } else { "s" }
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
