//! Errors of the token cache: one enum for every store, the index and the locks.

use super::lock::LockError;

/// Errors of the token cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The OS keyring (Secret Service, Keychain, Credential Manager) failed.
    #[error(
        "OS keyring {op} failed: {detail}; unlock the keyring (or start a Secret Service such as gnome-keyring), or pick another store with --cache keyutils|file"
    )]
    Keyring { op: &'static str, detail: String },
    /// `--cache auto` found no store.
    #[error(
        "no secure token store is available ({0}); choose one explicitly: --cache tmpfs (with XDG_RUNTIME_DIR set to a 0700 tmpfs directory of yours), --cache keyutils (Linux), --cache file (a 0600 file under the user cache dir, on the disk) or --cache none"
    )]
    NoneAvailable(String),
    /// The Linux kernel key service failed.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    #[error(
        "kernel keyring (keyutils) {op} failed: {detail}; keyctl may be blocked here (containers often block it): use --cache file or --cache keyring"
    )]
    Keyutils { op: &'static str, detail: String },
    /// The kernel key quota of this user is full.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    #[error(
        "the kernel key quota is full ({0}): each entry takes about 1.2-1.5 KB of an ordinary user's 20,000 bytes (/proc/sys/kernel/keys/maxbytes); remove entries you no longer use (kube-sa-token cache list, cache clear KEY), have an admin raise kernel.keys.maxbytes (sysctl), or use --cache keyring"
    )]
    KeyQuota(String),
    /// The store is not available on this platform.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    #[error("the {0} store is not available on this platform; use --cache keyring or --cache file")]
    Unsupported(&'static str),
    /// File store or index I/O.
    #[error(
        "cache file {path}: {source}; check the permissions of the cache directory or use another --cache"
    )]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A stored entry could not be read back; it is ignored and replaced.
    #[error("cached entry is corrupt ({0}); run `kube-sa-token cache clear --all`")]
    Corrupt(String),
    /// No directory for the cache could be found.
    #[error("cannot find a cache directory: set HOME (or XDG_CACHE_HOME)")]
    NoCacheDir,
    /// No memory-backed directory for the tmpfs store.
    #[error(
        "no memory-backed directory for the tmpfs store ({0}); set XDG_RUNTIME_DIR to a 0700 tmpfs directory of yours, or pick another --cache"
    )]
    NoRuntimeDir(String),
    /// A directory of the cache belongs to another user (a `sudo -E` run).
    #[error(
        "cache directory {path} belongs to uid {owner}, not to you (uid {me}); an earlier run as another user (sudo -E?) left it: give it back with `sudo chown -R {me} {path}` or remove it"
    )]
    #[cfg_attr(not(unix), allow(dead_code))]
    NotOwned { path: String, owner: u32, me: u32 },
    /// A directory of the cache is a link or a file.
    #[error(
        "cache path {path} is not a plain directory (a symlink or a file); the cache never follows links: remove it"
    )]
    NotADirectory { path: String },
    /// A lock of the cache could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// `logout` or `cache clear` removed the entry after this process
    /// started: nothing that started before it mints or keeps it again.
    #[error(
        "the cached credential was removed (logout or cache clear) while this call waited; nothing was minted: run the command again for a new one"
    )]
    ClearedMeanwhile,
}
