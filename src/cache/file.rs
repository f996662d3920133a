//! `--cache file`: one JSON file per entry under the user cache dir, 0600 in a
//! 0700 directory, written atomically. Plaintext on disk: only by explicit
//! choice. `--cache tmpfs` keeps the same files in a memory-backed
//! directory instead ([`super::runtime_dir`]): never on a disk.

use std::fs;
use std::path::PathBuf;

use super::error::CacheError;
use super::key::CacheKey;
use super::paths::{self, io_err, private_dir, write_atomic};
use super::store::{Entry, Store, StoreKind, decode, encode};

pub struct FileStore {
    dir: PathBuf,
    kind: StoreKind,
}

impl FileStore {
    pub fn new(cache_dir: PathBuf) -> FileStore {
        FileStore {
            dir: super::paths::tokens_dir(&cache_dir),
            kind: StoreKind::File,
        }
    }

    /// The same files in the memory-backed directory (`--cache tmpfs`).
    pub fn in_memory(runtime_dir: PathBuf) -> FileStore {
        FileStore {
            dir: super::paths::tokens_dir(&runtime_dir),
            kind: StoreKind::Tmpfs,
        }
    }

    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }
}

impl Store for FileStore {
    fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The `<key>.json` files of the tokens directory.
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        Ok(dir
            .flatten()
            .filter_map(|e| CacheKey::parse(e.file_name().to_str()?.strip_suffix(".json")?))
            .collect())
    }

    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        if !paths::existing_dir(&self.dir)? {
            return Ok(None);
        }
        paths::read(&self.path(key))?
            .map(|b| decode(&b))
            .transpose()
    }

    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        if let Some(cache_dir) = self.dir.parent() {
            private_dir(cache_dir)?;
        }
        private_dir(&self.dir)?;
        write_atomic(&self.path(key), encode(entry).as_bytes())
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_identity::ClusterIdentity;
    use crate::secret::Token;

    fn entry(token: &str) -> Entry {
        Entry {
            credential: crate::credential::Credential::Token(Token::new(token)),
            cluster: ClusterIdentity::new("https://127.0.0.1:6443", None, None, false).unwrap(),
            clock_offset: 0,
            namespace: "team".into(),
            service_account: "viewer".into(),
            user: None,
            groups: vec![],
            minted_at: 10,
            checked_at: 10,
            secret: None,
            asked_secs: None,
            revalidate_secs: None,
            cache_dir: None,
            lease: None,
        }
    }

    #[test]
    fn round_trip_with_private_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().join("kube-sa-token"));
        let key = CacheKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert!(store.load(&key).unwrap().is_none());
        store.save(&key, &entry("t1")).unwrap();
        store.save(&key, &entry("t2")).unwrap();
        assert_eq!(
            store.load(&key).unwrap().unwrap().credential.expose_token(),
            "t2"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path(&key)), 0o600);
            assert_eq!(mode(&store.dir), 0o700);
            assert_eq!(mode(&tmp.path().join("kube-sa-token")), 0o700);
        }
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(&store.dir).unwrap().count(), 1);
        assert!(store.remove(&key).unwrap());
        assert!(!store.remove(&key).unwrap());
        assert!(store.load(&key).unwrap().is_none());
    }

    #[test]
    fn corrupt_file_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().to_path_buf());
        let key = CacheKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        private_dir(&store.dir).unwrap();
        fs::write(store.path(&key), b"{garbage").unwrap();
        assert!(matches!(store.load(&key), Err(CacheError::Corrupt(_))));
    }
}
