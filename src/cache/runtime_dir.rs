//! The memory-backed directory of `--cache tmpfs` (and of `--cache auto`
//! where no OS keyring answers): entries kept in files, like the file
//! store, but on a tmpfs that belongs to this user, so no secret is ever
//! written to a disk and all are gone at reboot. The kernel keyring's
//! quota (about 16 entries for an ordinary user) does not bound it.
//!
//! Where, first that qualifies: `$XDG_RUNTIME_DIR/kube-sa-token` (the
//! per-user 0700 tmpfs systemd-logind makes), `/run/user/<uid>/kube-sa-token`
//! (the same directory for processes without the variable: cron, some SSH
//! setups), else `/dev/shm/kube-sa-token-<uid>` (created 0700, owner
//! checked). A base directory qualifies when it is a real directory (not a
//! link) of this user, 0700, on tmpfs or ramfs.

use std::path::PathBuf;

/// The memory-backed directory, and how it was chosen (for `doctor`, `-v`).
#[derive(Debug, Clone)]
pub struct RuntimeDir {
    pub dir: PathBuf,
    pub why: String,
}

pub use imp::runtime_dir;

#[cfg(unix)]
mod imp {
    use std::path::{Path, PathBuf};

    use crate::cache::error::CacheError;
    use crate::cache::paths::private_dir;
    use crate::cache::runtime_dir::RuntimeDir;

    impl RuntimeDir {
        /// Bytes an unprivileged user may still write there (`statvfs`), for
        /// `doctor`'s capacity line.
        pub fn free_bytes(&self) -> Option<u64> {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(self.dir.as_os_str().as_bytes()).ok()?;
            // SAFETY: `c` is a NUL-terminated path and `buf` a zeroed statvfs
            // that the call fills in.
            let mut buf: libc::statvfs = unsafe { std::mem::zeroed() };
            if unsafe { libc::statvfs(c.as_ptr(), &mut buf) } != 0 {
                return None;
            }
            #[allow(clippy::unnecessary_cast)]
            Some((buf.f_bavail as u64).saturating_mul(buf.f_frsize as u64))
        }
    }

    /// Whether `path` is on a memory file system (tmpfs, ramfs).
    #[cfg(target_os = "linux")]
    pub(super) fn in_memory(path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        const RAMFS_MAGIC: i64 = 0x8584_58f6;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a NUL-terminated path and `buf` a zeroed statfs that
        // the call fills in; nothing is kept past the call.
        let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statfs(c.as_ptr(), &mut buf) } != 0 {
            return false;
        }
        #[allow(clippy::unnecessary_cast)]
        let kind = buf.f_type as i64;
        kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn in_memory(_: &Path) -> bool {
        false
    }

    fn me() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    /// Why `base` (a per-user runtime directory) does not qualify, if it does not.
    pub(super) fn unfit(base: &Path) -> Option<String> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match std::fs::symlink_metadata(base) {
            Ok(m) => m,
            Err(_) => return Some(format!("{} does not exist", base.display())),
        };
        if !meta.file_type().is_dir() {
            return Some(format!("{} is not a plain directory", base.display()));
        }
        if meta.uid() != me() {
            return Some(format!(
                "{} belongs to uid {}, not to you",
                base.display(),
                meta.uid()
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Some(format!(
                "{} is open to others (mode {:o})",
                base.display(),
                meta.permissions().mode() & 0o777
            ));
        }
        if !in_memory(base) {
            return Some(format!("{} is not a tmpfs", base.display()));
        }
        None
    }

    /// The memory-backed directory, created 0700 when missing; else why there
    /// is none, every candidate's reason.
    pub fn runtime_dir() -> Result<RuntimeDir, CacheError> {
        let mut why_not = Vec::new();
        let mut candidates: Vec<(PathBuf, &str)> = Vec::new();
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(d) => candidates.push((PathBuf::from(d), "XDG_RUNTIME_DIR")),
            None => why_not.push("XDG_RUNTIME_DIR is unset".to_string()),
        }
        let run_user = PathBuf::from(format!("/run/user/{}", me()));
        if !candidates.iter().any(|(d, _)| *d == run_user) {
            candidates.push((run_user, "your login session's runtime directory"));
        }
        for (base, what) in candidates {
            match unfit(&base) {
                None => {
                    let dir = base.join("kube-sa-token");
                    match private_dir(&dir) {
                        Ok(()) => {
                            return Ok(RuntimeDir {
                                dir,
                                why: format!("{what}, a tmpfs of yours"),
                            });
                        }
                        Err(e) => why_not.push(e.to_string()),
                    }
                }
                Some(why) => why_not.push(why),
            }
        }
        let shm = Path::new("/dev/shm");
        if in_memory(shm) {
            let dir = shm.join(format!("kube-sa-token-{}", me()));
            match private_dir(&dir) {
                Ok(()) => {
                    return Ok(RuntimeDir {
                        dir,
                        why: "/dev/shm, a tmpfs (no runtime directory of your session)".into(),
                    });
                }
                Err(e) => why_not.push(e.to_string()),
            }
        } else {
            why_not.push("/dev/shm is not a tmpfs".into());
        }
        Err(CacheError::NoRuntimeDir(why_not.join(", ")))
    }
}

/// No per-user memory file system that only its owner can reach: the
/// store is not offered here, and `--cache auto` goes on to the next.
#[cfg(not(unix))]
mod imp {
    use crate::cache::error::CacheError;
    use crate::cache::runtime_dir::RuntimeDir;

    impl RuntimeDir {
        pub fn free_bytes(&self) -> Option<u64> {
            None
        }
    }

    pub fn runtime_dir() -> Result<RuntimeDir, CacheError> {
        Err(CacheError::NoRuntimeDir(
            "this OS has no per-user memory file system".into(),
        ))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::imp::*;
    use std::path::Path;

    #[test]
    fn only_a_private_memory_directory_of_ours_qualifies() {
        // /dev/shm is a tmpfs on the machines the tests run on.
        assert!(in_memory(Path::new("/dev/shm")), "/dev/shm is a tmpfs here");
        // The checkout's file system, unless it is itself in memory.
        let disk = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(disk.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if !in_memory(disk.path()) {
            assert!(unfit(disk.path()).unwrap().contains("not a tmpfs"));
        }
        let mem = tempfile::tempdir_in("/dev/shm").unwrap();
        std::fs::set_permissions(mem.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(unfit(mem.path()), None);
        std::fs::set_permissions(mem.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(unfit(mem.path()).unwrap().contains("open to others"));
        assert!(
            unfit(&mem.path().join("missing"))
                .unwrap()
                .contains("does not exist")
        );
    }
}
