//! Where the per-call bookkeeping lives: who was last served an entry (a
//! write whenever another process calls, that is every kubectl command),
//! the entries' locks (a mint), refresh starts and failure records. In the
//! memory-backed directory when there is one ([`super::runtime_dir`]):
//! home directories on NFS are common, where a write per kubectl call costs
//! milliseconds and hangs with the server. Else in the cache directory.
//! Either way under a name of this cache directory (its label), so that
//! users with several HOMEs, and the tests' many, keep theirs apart.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::error::CacheError;
use super::paths::{self, cache_dir, private_dir};
use super::runtime_dir::runtime_dir;

/// This cache directory's part of the memory-backed directory, created
/// private; taken once per process.
pub fn state_dir() -> Result<PathBuf, CacheError> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = runtime_dir().map_err(|e| e.to_string())?.dir;
        let dir = base.join(paths::dir_label().unwrap_or_else(|| "default".into()));
        private_dir(&dir).map_err(|e| e.to_string())?;
        Ok(dir)
    })
    .clone()
    .map_err(CacheError::NoRuntimeDir)
}

/// The directory of the per-call bookkeeping files.
pub fn bookkeeping_dir() -> Result<PathBuf, CacheError> {
    state_dir().or_else(|_| cache_dir())
}

/// The per-entry lock files' directory, created private: `locks/` in the
/// cache directory; where that cannot be written (a read-only or missing
/// HOME) and the store needs no file of its own (`keyutils`, `keyring`,
/// `none`), the per-user runtime directory (`$XDG_RUNTIME_DIR`), else a
/// per-user directory in the system's temporary directory, owned and
/// checked like the cache directory. A cache directory that is there but
/// another user's, or a link, is refused as everywhere (a `sudo -E` run's
/// leftovers are reported, not worked around). The first error says what
/// to fix.
pub fn locks_dir() -> Result<PathBuf, CacheError> {
    if let Ok(dir) = state_dir() {
        let locks = dir.join("locks");
        if private_dir(&locks).is_ok() {
            return Ok(locks);
        }
    }
    let first = match cache_dir() {
        Ok(dir) => match private_dir(&dir).and_then(|()| {
            let locks = dir.join("locks");
            private_dir(&locks).map(|()| locks)
        }) {
            Ok(locks) => return Ok(locks),
            Err(e @ (CacheError::NotOwned { .. } | CacheError::NotADirectory { .. })) => {
                return Err(e);
            }
            Err(e) => e,
        },
        Err(e) => e,
    };
    for base in fallback_bases() {
        let locks = base.join("locks");
        if private_dir(&base)
            .and_then(|()| private_dir(&locks))
            .is_ok()
        {
            tracing::debug!(dir = %locks.display(), "the cache directory cannot hold locks ({first}); using another");
            return Ok(locks);
        }
    }
    Err(first)
}

/// Per-user places for locks besides the cache directory.
fn fallback_bases() -> Vec<PathBuf> {
    let mut bases = Vec::new();
    if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        bases.push(PathBuf::from(run).join("kube-sa-token"));
    }
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        bases.push(std::env::temp_dir().join(format!("kube-sa-token-{me}")));
    }
    bases
}
