//! Writing one kubeconfig file the way `kubectl config set-*` does:
//! client-go's `<file>.lock` held (created exclusively, removed after), the
//! file re-read under it and required unchanged, the previous content kept
//! as `<file>.kube-sa-token-<UTC time>.bak` (the newest [`BACKUPS_KEPT`]),
//! the new one written atomically through a symlink (the link stays), and
//! the file kept its owner's when root writes another account's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_yaml::Value;

use super::error::KubeconfigError;
use super::files::to_yaml;
use crate::fsutil::write_atomic;

/// How many backups of a file `setup` keeps.
pub const BACKUPS_KEPT: usize = 5;
/// How long to wait for another writer's `<file>.lock`.
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(super) fn read(path: &Path) -> Result<Option<String>, KubeconfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KubeconfigError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// client-go's lock: `<file>.lock`, created exclusively, removed on drop.
struct Lock(PathBuf);

impl Lock {
    fn take(file: &Path) -> Result<Lock, KubeconfigError> {
        let mut name = file.as_os_str().to_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let start = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= LOCK_WAIT {
                        return Err(KubeconfigError::Locked {
                            lock: path.display().to_string(),
                            waited: LOCK_WAIT.as_secs(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(source) => {
                    return Err(KubeconfigError::Write {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(super) fn save_file(
    path: &Path,
    original: Option<&str>,
    doc: &Value,
) -> Result<(PathBuf, Option<PathBuf>), KubeconfigError> {
    let werr = |source: std::io::Error| KubeconfigError::Write {
        path: path.display().to_string(),
        source,
    };
    // Whose the file is: its owner, or for a new one the owner of the
    // nearest directory there is (root writing into an agent's home).
    let owner = owner_unless_me(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        std::fs::create_dir_all(dir).map_err(werr)?;
        for d in missing {
            give(d, owner).map_err(werr)?;
        }
    }
    let _lock = Lock::take(path)?;
    if read(path)?.as_deref() != original {
        return Err(KubeconfigError::Changed {
            path: path.display().to_string(),
        });
    }
    // A link another account could have made: never followed as root
    // into a file of someone else's (its content replaced, its owner kept).
    let link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if link && path.parent().is_some_and(|d| owner_unless_me(d).is_some()) {
        return Err(werr(std::io::Error::other(
            "it is a link in a directory of another account's; not followed: give the file it points to, if that is meant",
        )));
    }
    // Through a symlink: replace the file it points at, keep the link.
    let target = match std::fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(werr(e)),
    };
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&target)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o600)
    };
    #[cfg(not(unix))]
    let mode = 0o600;
    let content = to_yaml(doc)?;
    let backup = match &original {
        Some(orig) => {
            let b = backup_path(path);
            write_atomic(&b, orig.as_bytes(), mode).map_err(werr)?;
            prune_backups(path);
            Some(b)
        }
        None => None,
    };
    write_atomic(&target, content.as_bytes(), mode).map_err(werr)?;
    // Root writing another account's file (set up for an agent): the file
    // and its backup stay that account's, as kubectl runs as it.
    for p in std::iter::once(&target).chain(backup.as_ref()) {
        give(p, owner).map_err(werr)?;
    }
    Ok((path.to_path_buf(), backup))
}

/// The owner of `path`, or of the nearest directory above it there is,
/// when that is another account than ours.
#[cfg(unix)]
fn owner_unless_me(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = path.ancestors().find_map(|p| std::fs::metadata(p).ok())?;
    // SAFETY: geteuid cannot fail.
    (m.uid() != unsafe { libc::geteuid() }).then(|| (m.uid(), m.gid()))
}

#[cfg(not(unix))]
fn owner_unless_me(_: &Path) -> Option<(u32, u32)> {
    None
}

/// Hands `path` to `owner`, if any.
#[cfg(unix)]
fn give(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    match owner {
        Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn give(_: &Path, _: Option<(u32, u32)>) -> std::io::Result<()> {
    Ok(())
}

fn backup_prefix(file: &Path) -> String {
    format!(
        "{}.kube-sa-token-",
        file.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// `<file>.kube-sa-token-20261129T101500.123Z.bak`: sorts by time.
fn backup_path(file: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    );
    file.with_file_name(format!("{}{stamp}.bak", backup_prefix(file)))
}

/// Deletes all but the newest [`BACKUPS_KEPT`] backups of `file`.
fn prune_backups(file: &Path) {
    let dir = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    let prefix = backup_prefix(file);
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".bak"))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(BACKUPS_KEPT);
    for old in &backups[..excess] {
        let _ = std::fs::remove_file(old);
    }
}
