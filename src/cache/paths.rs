//! Where the cache keeps its files: the user's own cache directory (from
//! `directories`), and the names inside it. Nothing outside `cache/` knows them.

use std::path::{Path, PathBuf};

use super::error::CacheError;

/// `~/.cache/kube-sa-token` on Linux (XDG_CACHE_HOME respected), the
/// platform's equivalent elsewhere.
/// Worked out once per process: a cache hit asks for it several times,
/// and each answer reads a dozen environment variables.
pub fn cache_dir() -> Result<PathBuf, CacheError> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        directories::ProjectDirs::from("", "", "kube-sa-token").map(|d| d.cache_dir().to_path_buf())
    })
    .clone()
    .ok_or(CacheError::NoCacheDir)
}

/// The file store's directory.
pub fn tokens_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("tokens")
}

/// Wraps an I/O error on `path` into the cache's error.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Checks a directory of the cache that exists: a real directory (not a
/// link) owned by this user. `Ok(false)` when it does not exist.
pub fn existing_dir(dir: &Path) -> Result<bool, CacheError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err(dir)(e)),
    };
    if !meta.file_type().is_dir() {
        return Err(CacheError::NotADirectory {
            path: dir.display().to_string(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(CacheError::NotOwned {
                path: dir.display().to_string(),
                owner: meta.uid(),
                me,
            });
        }
    }
    Ok(true)
}

/// Creates a cache directory (and its parents) 0700, or checks the one that
/// is there (see [`existing_dir`]) and makes it 0700.
pub fn private_dir(dir: &Path) -> Result<(), CacheError> {
    existing_dir(dir)?;
    crate::fsutil::private_dir(dir).map_err(io_err(dir))?;
    existing_dir(dir).map(|_| ())
}

/// Reads a cache file; `Ok(None)` when it does not exist. Never through a link.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, CacheError> {
    match crate::fsutil::read_no_follow(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Writes a cache file atomically, 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    crate::fsutil::write_atomic(path, bytes, 0o600).map_err(io_err(path))
}

/// A 0600 bookkeeping file (no secret; a crash may lose it), replaced
/// atomically but not flushed to disk.
pub fn write_bookkeeping(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    crate::fsutil::write_atomic_unsynced(path, bytes, 0o600).map_err(io_err(path))
}

/// The cache directory, as entries record it (see [`Entry::cache_dir`]):
/// 16 hex digits of its path's SHA-256 (entries stay small: an ordinary
/// user's kernel key quota holds about 16).
pub fn dir_label() -> Option<String> {
    use sha2::{Digest, Sha256};
    let dir = cache_dir().ok()?;
    let hash = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    Some(crate::hex::hex(&hash[..8]))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_link_or_another_users_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("elsewhere");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("cache");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("not a plain directory"), "{err}");
        // Reads never follow a link in the cache either.
        std::fs::write(real.join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(real.join("secret"), real.join("entry.json")).unwrap();
        assert!(read(&real.join("entry.json")).is_err());

        // Owned by someone else: only root can set that up.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let theirs = tmp.path().join("theirs");
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            let err = private_dir(&theirs).unwrap_err().to_string();
            assert!(
                err.contains("belongs to uid 65534") && err.contains("chown"),
                "{err}"
            );
        }
    }
}
