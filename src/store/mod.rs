//! Token cache: the cache key, the entry format, and the stores behind one
//! trait ([`Store`]): the OS keyring, the Linux kernel key service, a file per
//! entry, or none. Non-secret metadata sits in an index ([`index`]) so entries
//! can be listed without reading any token.

mod file;
pub mod index;
mod keyring;
#[cfg(target_os = "linux")]
mod keyutils;
pub mod lock;
pub mod paths;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::token::Token;

pub use file::FileStore;
pub use keyring::KeyringStore;
#[cfg(target_os = "linux")]
pub use keyutils::KeyutilsStore;

/// Service name under which entries are kept in the keyrings.
pub const SERVICE: &str = "kube-sa-token";

/// Errors of the token stores.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The OS keyring (Secret Service, Keychain, Credential Manager) failed.
    #[error(
        "OS keyring {op} failed: {detail}; unlock the keyring (or start a Secret Service such as gnome-keyring), or pick another store with --cache keyutils|file"
    )]
    Keyring { op: &'static str, detail: String },
    /// `--cache auto` found no store.
    #[error(
        "no secure token store is available ({0}); choose one explicitly: --cache keyutils (Linux), --cache file (0600 file under the user cache dir) or --cache none"
    )]
    NoneAvailable(String),
    /// The Linux kernel key service failed.
    #[error(
        "kernel keyring (keyutils) {op} failed: {detail}; keyctl may be blocked here (containers often block it): use --cache file or --cache keyring"
    )]
    Keyutils { op: &'static str, detail: String },
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
}

/// Which store the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheChoice {
    Auto,
    Keyring,
    Keyutils,
    File,
    None,
}

/// A concrete store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    Keyutils,
    File,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Keyring => "keyring",
            StoreKind::Keyutils => "keyutils",
            StoreKind::File => "file",
        })
    }
}

/// Identifies one cache entry: a hash of everything that makes a token
/// different, so two clusters or two ServiceAccounts never share an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CacheKey(String);

/// The fields a cache key is derived from.
#[derive(Debug, Clone)]
pub struct KeyParts<'a> {
    pub server: &'a str,
    pub admin_context: &'a str,
    pub namespace: &'a str,
    pub service_account: &'a str,
    pub source: &'a str,
    pub audiences: &'a [String],
    pub bind_secret: bool,
}

impl CacheKey {
    pub fn new(p: &KeyParts<'_>) -> CacheKey {
        let mut aud: Vec<&str> = p.audiences.iter().map(String::as_str).collect();
        aud.sort_unstable();
        aud.dedup();
        let mut h = Sha256::new();
        // Length-prefixed fields: no two different inputs hash the same text.
        for field in [
            "v1",
            p.server,
            p.admin_context,
            p.namespace,
            p.service_account,
            p.source,
            if p.bind_secret {
                "bound-secret"
            } else {
                "unbound"
            },
        ]
        .into_iter()
        .chain(aud)
        {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        let digest = h.finalize();
        CacheKey(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Accepts a key typed by the user (from `cache list`).
    pub fn parse(s: &str) -> Option<CacheKey> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| CacheKey(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a store keeps for one key: the token and what it was minted for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub token: Token,
    /// The API server the token was minted on; it is never sent elsewhere.
    pub server: String,
    pub namespace: String,
    pub service_account: String,
    /// Unix seconds of the mint.
    pub minted_at: i64,
    /// Unix seconds the token was last confirmed by the server (legacy tokens).
    pub checked_at: i64,
    /// The Secret the token is bound to (`--bind-secret`), or the legacy token
    /// Secret it was read from (`--source secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One token store.
pub trait Store {
    fn kind(&self) -> StoreKind;
    /// The entry for `key`, if any. A missing entry is `Ok(None)`.
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, StoreError>;
    /// Stores `entry` under `key`, replacing any previous one atomically.
    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), StoreError>;
    /// Removes the entry; `Ok(false)` when there was none.
    fn remove(&self, key: &CacheKey) -> Result<bool, StoreError>;
}

fn encode(entry: &Entry) -> String {
    serde_json::to_string(entry).expect("entry serializes")
}

fn decode(bytes: &[u8]) -> Result<Entry, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Opens the store of a concrete kind.
pub fn open(kind: StoreKind) -> Result<Box<dyn Store>, StoreError> {
    Ok(match kind {
        StoreKind::Keyring => Box::new(KeyringStore::new()?),
        #[cfg(target_os = "linux")]
        StoreKind::Keyutils => Box::new(KeyutilsStore::new()?),
        #[cfg(not(target_os = "linux"))]
        StoreKind::Keyutils => return Err(StoreError::Unsupported("keyutils")),
        StoreKind::File => Box::new(FileStore::new(paths::cache_dir()?)),
    })
}

/// How `--cache auto` decided, for `doctor` and `-v`.
#[derive(Debug)]
pub struct AutoChoice {
    pub kind: StoreKind,
    pub why: String,
}

/// Resolves `--cache auto`: the OS keyring when a Secret Service/Keychain
/// answers, else the kernel keyring on Linux, else an error naming the choices.
/// Never the file store: plaintext on disk is only ever an explicit choice.
pub fn auto() -> Result<(Box<dyn Store>, AutoChoice), StoreError> {
    let keyring_problem = match KeyringStore::new().and_then(|s| s.probe().map(|()| s)) {
        Ok(s) => {
            return Ok((
                Box::new(s),
                AutoChoice {
                    kind: StoreKind::Keyring,
                    why: "the OS keyring answered".into(),
                },
            ));
        }
        Err(e) => e.to_string(),
    };
    #[cfg(target_os = "linux")]
    {
        match KeyutilsStore::new() {
            Ok(s) => Ok((
                Box::new(s),
                AutoChoice {
                    kind: StoreKind::Keyutils,
                    why: format!(
                        "no OS keyring ({}); using the kernel keyring",
                        short(&keyring_problem)
                    ),
                },
            )),
            Err(e) => Err(StoreError::NoneAvailable(format!(
                "OS keyring: {}; kernel keyring: {}",
                short(&keyring_problem),
                short(&e.to_string())
            ))),
        }
    }
    #[cfg(not(target_os = "linux"))]
    Err(StoreError::NoneAvailable(short(&keyring_problem)))
}

/// The first clause of an error message, for messages that nest another.
fn short(msg: &str) -> String {
    msg.split(';').next().unwrap_or(msg).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(server: &'a str, sa: &'a str, aud: &'a [String]) -> KeyParts<'a> {
        KeyParts {
            server,
            admin_context: "admin",
            namespace: "team",
            service_account: sa,
            source: "token-request",
            audiences: aud,
            bind_secret: false,
        }
    }

    #[test]
    fn key_differs_per_server_sa_and_audience() {
        let none: Vec<String> = vec![];
        let a = CacheKey::new(&parts("https://a:6443", "viewer", &none));
        let b = CacheKey::new(&parts("https://b:6443", "viewer", &none));
        let c = CacheKey::new(&parts("https://a:6443", "editor", &none));
        let d = CacheKey::new(&parts("https://a:6443", "viewer", &["vault".to_string()]));
        assert_eq!(a.as_str().len(), 32);
        let all = [&a, &b, &c, &d];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        let mut p = parts("https://a:6443", "viewer", &none);
        p.bind_secret = true;
        assert_ne!(CacheKey::new(&p), a);
    }

    #[test]
    fn key_ignores_audience_order_and_is_stable() {
        let ab = ["a".to_string(), "b".to_string()];
        let ba = ["b".to_string(), "a".to_string()];
        assert_eq!(
            CacheKey::new(&parts("https://a", "s", &ab)),
            CacheKey::new(&parts("https://a", "s", &ba))
        );
        // Fields are length-prefixed: moving a character between fields changes the key.
        let k1 = CacheKey::new(&KeyParts {
            namespace: "ab",
            service_account: "c",
            ..parts("s", "x", &[])
        });
        let k2 = CacheKey::new(&KeyParts {
            namespace: "a",
            service_account: "bc",
            ..parts("s", "x", &[])
        });
        assert_ne!(k1, k2);
    }

    #[test]
    fn parse_accepts_only_keys() {
        let k = CacheKey::new(&parts("https://a", "s", &[]));
        assert_eq!(CacheKey::parse(k.as_str()), Some(k));
        assert_eq!(CacheKey::parse("../../etc/passwd"), None);
        assert_eq!(CacheKey::parse("zz"), None);
    }

    #[test]
    fn entry_debug_is_redacted() {
        let e = Entry {
            token: Token::new("eyJsecret"),
            server: "https://a".into(),
            namespace: "n".into(),
            service_account: "s".into(),
            minted_at: 1,
            checked_at: 1,
            secret: None,
        };
        assert!(!format!("{e:?}").contains("eyJsecret"));
    }
}
