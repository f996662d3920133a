//! Where the cache keeps its files: the user's own cache directory (from
//! `directories`), and the names inside it. Nothing outside `cache/` knows them.

use std::path::{Path, PathBuf};

use super::CacheError;

/// `~/.cache/kube-sa-token` on Linux (XDG_CACHE_HOME respected), the
/// platform's equivalent elsewhere.
pub fn cache_dir() -> Result<PathBuf, CacheError> {
    let dirs =
        directories::ProjectDirs::from("", "", "kube-sa-token").ok_or(CacheError::NoCacheDir)?;
    Ok(dirs.cache_dir().to_path_buf())
}

/// The file store's directory.
pub fn tokens_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("tokens")
}

/// The per-entry lock files' directory.
pub fn locks_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("locks")
}

/// Wraps an I/O error on `path` into the cache's error.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Creates a cache directory (and its parents) 0700.
pub fn private_dir(dir: &Path) -> Result<(), CacheError> {
    crate::fsutil::private_dir(dir).map_err(io_err(dir))
}

/// Writes a cache file atomically, 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    crate::fsutil::write_atomic(path, bytes, 0o600).map_err(io_err(path))
}
