//! Where a person's Vault login is kept between mints (`--vault-login
//! userpass|ldap`): one record per Vault server, auth mount and user name,
//! in the store `--cache auto` picks (the OS keyring where one answers,
//! else memory-backed files, else the kernel key service; never plain
//! files), whatever store an entry names. The records are named apart from the entries, so
//! `cache list` and `cache clear --all` never take them for one: service
//! `kube-sa-token-vault-login` in the OS keyring, keys
//! `kube-sa-token-vault-login:NAME` in the kernel's, `logins/NAME.json`
//! beside the files' `tokens/`.

use sha2::{Digest, Sha256};

use super::error::CacheError;
use super::keyring_error::describe;
use super::keyutils::KeyutilsStore;
use super::paths;
use super::store::StoreKind;

/// The OS keyring service of the records, and the kernel keys' prefix.
pub const LOGIN_SERVICE: &str = "kube-sa-token-vault-login";

/// One kept login's record.
pub struct LoginStore {
    kind: StoreKind,
    /// `login-` and 32 hex digits of the login's identity.
    name: String,
    /// The file stores' `logins/` directory.
    dir: std::path::PathBuf,
}

impl LoginStore {
    /// The record of the login `parts` name (the server, the mount, the
    /// method, the user).
    pub fn open(parts: &[&str]) -> Result<LoginStore, CacheError> {
        let kind = super::factory::auto()?.1.kind;
        let dir = match kind {
            StoreKind::Tmpfs => super::state::state_dir()?,
            _ => paths::cache_dir()?,
        }
        .join("logins");
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0]);
        }
        Ok(LoginStore {
            kind,
            name: format!("login-{}", crate::hex::hex(&h.finalize()[..16])),
            dir,
        })
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    fn keyring_item(&self) -> Result<keyring::Entry, CacheError> {
        keyring::Entry::new(LOGIN_SERVICE, &self.name).map_err(keyring_err("open"))
    }

    fn description(&self) -> String {
        format!("{LOGIN_SERVICE}:{}", self.name)
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir.join(format!("{}.json", self.name))
    }

    pub fn read(&self) -> Result<Option<Vec<u8>>, CacheError> {
        match self.kind {
            StoreKind::Keyring => match self.keyring_item()?.get_secret() {
                Ok(bytes) => Ok(Some(bytes)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_err("read")(e)),
            },
            StoreKind::Keyutils => KeyutilsStore::new()?.read_named(&self.description()),
            StoreKind::File | StoreKind::Tmpfs if paths::existing_dir(&self.dir)? => {
                paths::read(&self.file())
            }
            StoreKind::File | StoreKind::Tmpfs => Ok(None),
        }
    }

    /// Writes the record, dropped by the kernel's store after `lifetime`
    /// seconds (`None`: never).
    pub fn write(&self, bytes: &[u8], lifetime: Option<i64>) -> Result<(), CacheError> {
        match self.kind {
            StoreKind::Keyring => self
                .keyring_item()?
                .set_secret(bytes)
                .map_err(keyring_err("write")),
            StoreKind::Keyutils => {
                KeyutilsStore::new()?.write_named(&self.description(), bytes, lifetime)
            }
            StoreKind::File | StoreKind::Tmpfs => {
                if let Some(base) = self.dir.parent() {
                    paths::private_dir(base)?;
                }
                paths::private_dir(&self.dir)?;
                paths::write_atomic(&self.file(), bytes)
            }
        }
    }

    pub fn remove(&self) -> Result<bool, CacheError> {
        match self.kind {
            StoreKind::Keyring => match self.keyring_item()?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(keyring_err("delete")(e)),
            },
            StoreKind::Keyutils => KeyutilsStore::new()?.remove_named(&self.description()),
            StoreKind::File | StoreKind::Tmpfs => {
                let file = self.file();
                match std::fs::remove_file(&file) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                    Err(e) => Err(paths::io_err(&file)(e)),
                }
            }
        }
    }
}

fn keyring_err(op: &'static str) -> impl FnOnce(keyring::Error) -> CacheError {
    move |e| CacheError::Keyring {
        op,
        detail: describe(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Store;

    /// The file stores' records: 0600 in a 0700 `logins/` beside
    /// `tokens/`, which the entries' listing never reads.
    #[test]
    fn a_file_record_round_trips_beside_the_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache_dir = tmp.path().join("kube-sa-token");
        let store = LoginStore {
            kind: StoreKind::File,
            name: "login-00".into(),
            dir: cache_dir.join("logins"),
        };
        assert_eq!(store.read().unwrap(), None);
        assert!(!store.remove().unwrap());
        store.write(b"{\"token\":\"x\"}", None).unwrap();
        store.write(b"{\"token\":\"y\"}", None).unwrap();
        assert_eq!(store.read().unwrap().unwrap(), b"{\"token\":\"y\"}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode(&store.file()) & 0o777, 0o600);
            assert_eq!(mode(&store.dir) & 0o777, 0o700);
            assert_eq!(mode(&cache_dir) & 0o777, 0o700);
        }
        let entries = super::super::file::FileStore::new(cache_dir);
        assert!(
            entries.keys().unwrap().is_empty(),
            "a record is not an entry"
        );
        assert!(store.remove().unwrap());
        assert_eq!(store.read().unwrap(), None);
    }
}
