//! Single flight: a per-entry lock file in the user's own cache directory,
//! held through the whole mint, so concurrent calls on a cold cache cause one
//! mint. The lock is an OS file lock (flock / LockFileEx): the kernel releases
//! it when the holder dies, so a killed process never blocks the next call.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fsutil::no_follow;

/// Errors taking a lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for longer than the wait bound.
    #[error("timed out after {}s waiting for another kube-sa-token process minting the same token (lock {path}); if it hangs, check that process, or retry", timeout.as_secs())]
    Timeout { path: String, timeout: Duration },
    /// The lock file could not be opened.
    #[error("cannot open lock file {path}: {source}; check the permissions of the cache directory")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes the exclusive lock on `path` (in a directory that exists; never
    /// through a link), waiting at most `timeout`.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock, LockError> {
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        no_follow(&mut opts);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path).map_err(io)?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
            if start.elapsed() >= timeout {
                return Err(LockError::Timeout {
                    path: path.display().to_string(),
                    timeout,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// What a lock file holds: nothing, or `cleared <unix nanos>` written by the
/// last `logout`/`cache clear` of the entry, under the lock.
const CLEARED: &str = "cleared ";

impl FileLock {
    /// When the entry was last cleared (`logout`, `cache clear`), if ever:
    /// read under the lock, so no clear runs meanwhile.
    pub fn cleared_at(&self) -> Option<i128> {
        let mut text = String::new();
        let mut f = &self.file;
        f.rewind().ok()?;
        f.take(64).read_to_string(&mut text).ok()?;
        text.trim().strip_prefix(CLEARED)?.parse().ok()
    }

    /// Records that the entry is cleared now (`at`, unix nanos).
    pub fn mark_cleared(&self, at: i128) -> std::io::Result<()> {
        let mut f = &self.file;
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(format!("{CLEARED}{at}\n").as_bytes())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_then_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cache").join("locks").join("k.lock");
        super::super::paths::private_dir(path.parent().unwrap()).unwrap();
        let held = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode(&tmp.path().join("cache")),
                0o700,
                "parents are created private too"
            );
            assert_eq!(mode(&tmp.path().join("cache/locks")), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
        let err = FileLock::acquire(&path, Duration::from_millis(150)).unwrap_err();
        assert!(matches!(err, LockError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("timed out"));
        drop(held);
        FileLock::acquire(&path, Duration::from_millis(150)).unwrap();
    }

    #[test]
    fn a_clear_is_recorded_in_the_lock_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.lock");
        let lock = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(lock.cleared_at(), None);
        lock.mark_cleared(1_700_000_000_123_456_789).unwrap();
        lock.mark_cleared(1_700_000_000_123_456_790).unwrap();
        drop(lock);
        let again = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(again.cleared_at(), Some(1_700_000_000_123_456_790));
    }

    /// The lock holds across processes and dies with its holder: a child
    /// process takes it, is killed, and the lock is free again at once.
    #[cfg(unix)]
    #[test]
    fn lock_is_released_when_holder_is_killed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.lock");
        std::fs::write(&path, b"").unwrap();
        // One process (sh exec'ing into sleep) holds the lock on fd 9.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "exec 9>>\"$0\" && flock 9 && exec sleep 30"])
            .arg(&path)
            .spawn()
            .expect("sh and flock(1) from util-linux");
        // Wait until the child holds the lock.
        let start = Instant::now();
        loop {
            match FileLock::acquire(&path, Duration::from_millis(1)) {
                Err(LockError::Timeout { .. }) => break,
                Ok(l) => drop(l),
                Err(e) => panic!("{e}"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "child never took the lock"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        FileLock::acquire(&path, Duration::from_secs(2))
            .expect("lock free after holder was killed");
    }
}
