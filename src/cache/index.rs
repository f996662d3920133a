//! The index of cache entries: non-secret metadata only (key, ServiceAccount,
//! server, store, expiry), so `cache list`, `cache clear --all` and `logout`
//! work without reading a token. `<cache dir>/index.json`, 0600, written
//! atomically under `<cache dir>/index.lock`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::CacheError;
use super::key::CacheKey;
use super::lock::FileLock;
use super::paths::{self, cache_dir, private_dir, write_atomic};
use super::store::{Entry, StoreKind, principal_of};
use crate::options::{SourceKind, TokenSpec};

/// Metadata of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The ServiceAccount (empty for a user).
    pub namespace: String,
    pub service_account: String,
    /// The X.509 user and groups of a certificate entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    pub server: String,
    pub admin_context: String,
    /// A broker's entry: `--broker-owner`, the account the broker runs as
    /// when not root (`cache list --check` asks that broker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_owner: Option<String>,
    /// The admin kubeconfig given with --kubeconfig, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    pub source: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The store the token was last minted into.
    pub store: StoreKind,
    /// Other stores holding a copy under the same key: another kubeconfig
    /// entry for the same token with another `--cache`. Removed with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<StoreKind>,
    pub minted_at: i64,
    /// Unix seconds of the token's `exp`; none for legacy tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The Secret the token is bound to (`--bind-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_secret: Option<String>,
    /// The legacy token Secret the token was read from (`--source secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<String>,
    /// The id the API server's audit log gives its requests
    /// ([`crate::credential::Credential::id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The Vault lease the token was issued under (`--source vault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
}

/// How a record names the broker an entry came from, in place of an
/// admin context (`broker:/run/kube-sa-token/broker.sock`).
pub const BROKER_PREFIX: &str = "broker:";

impl Record {
    /// Who, for listings ([`crate::options::Principal::listed`]).
    pub fn label(&self) -> String {
        principal_of(&self.service_account, self.user.as_deref(), &self.groups)
            .listed(&self.namespace)
    }

    /// The record of `entry`, just minted for `spec` into `store`: who and
    /// when from the entry, how it was asked for from `spec`.
    pub fn new(entry: &Entry, spec: &TokenSpec, store: StoreKind) -> Record {
        Record {
            // A broker's entry: where it came from instead.
            admin_context: match (&spec.broker, &spec.vault) {
                (Some(b), _) => format!("{BROKER_PREFIX}{}", b.socket.display()),
                (None, Some(v)) => v.engine(),
                (None, None) => spec.admin_context.clone(),
            },
            broker_owner: spec.broker.as_ref().and_then(|b| b.owner.clone()),
            kubeconfig: spec.kubeconfig.as_ref().map(|p| p.display().to_string()),
            source: match &spec.vault {
                Some(v) => format!("vault:{}", v.role),
                None => spec.source_name().into(),
            },
            audiences: spec.audiences.clone(),
            bound_secret: entry.secret.clone().filter(|_| spec.bind_secret),
            token_secret: entry
                .secret
                .clone()
                .filter(|_| spec.source == SourceKind::Secret),
            ..Record::recovered(entry, store)
        }
    }

    /// A record rebuilt from an entry found in `store` that the index does
    /// not know (the index was lost or damaged): what the entry says; the
    /// admin context it came through is not kept in entries.
    pub fn recovered(entry: &Entry, store: StoreKind) -> Record {
        let expires_at = entry
            .validity()
            .map(|(exp, _)| exp.saturating_sub(entry.clock_offset));
        Record {
            namespace: entry.namespace.clone(),
            service_account: entry.service_account.clone(),
            user: entry.user.clone(),
            groups: entry.groups.clone(),
            server: entry.cluster.server.clone(),
            admin_context: "(unknown: not in the index)".into(),
            broker_owner: None,
            kubeconfig: None,
            source: String::new(),
            audiences: Vec::new(),
            store,
            also_in: Vec::new(),
            minted_at: entry.minted_at,
            expires_at,
            bound_secret: None,
            token_secret: None,
            credential_id: crate::credential_id::of(&entry.credential),
            lease: entry.lease.clone(),
        }
    }

    /// Every store holding a copy: the last minted into first.
    pub fn stores(&self) -> impl Iterator<Item = StoreKind> + '_ {
        std::iter::once(self.store).chain(self.also_in.iter().copied())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct IndexFile {
    #[serde(default)]
    entries: BTreeMap<CacheKey, Record>,
}

/// The index file's content. A damaged index only loses listing metadata:
/// it reads as empty and is rewritten on the next change.
pub(crate) fn parse(bytes: &[u8]) -> IndexFile {
    serde_json::from_slice(bytes).unwrap_or_default()
}

pub struct Index {
    dir: PathBuf,
}

impl Index {
    pub fn open() -> Result<Index, CacheError> {
        Ok(Index { dir: cache_dir()? })
    }

    #[cfg(test)]
    pub fn at(dir: PathBuf) -> Index {
        Index { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn read(&self) -> Result<IndexFile, CacheError> {
        if !paths::existing_dir(&self.dir)? {
            return Ok(IndexFile::default());
        }
        Ok(paths::read(&self.path())?
            .map(|bytes| parse(&bytes))
            .unwrap_or_default())
    }

    fn update(&self, f: impl FnOnce(&mut IndexFile)) -> Result<(), CacheError> {
        private_dir(&self.dir)?;
        let lock_path = self.dir.join("index.lock");
        let _lock = FileLock::acquire(&lock_path, Duration::from_secs(10))?;
        let mut index = self.read()?;
        f(&mut index);
        let bytes = serde_json::to_vec_pretty(&index).expect("index serializes");
        write_atomic(&self.path(), &bytes)
    }

    /// Records a mint into `record.store`; the stores of an earlier record
    /// of the key still hold their copies and are remembered in `also_in`.
    pub(super) fn put(&self, key: &CacheKey, mut record: Record) -> Result<(), CacheError> {
        self.update(|i| {
            if let Some(old) = i.entries.get(key) {
                let mut also: Vec<StoreKind> =
                    old.stores().filter(|s| *s != record.store).collect();
                also.sort_unstable_by_key(|s| s.to_string());
                also.dedup();
                record.also_in = also;
            }
            i.entries.insert(key.clone(), record);
        })
    }

    pub(super) fn remove(&self, key: &CacheKey) -> Result<(), CacheError> {
        self.update(|i| {
            i.entries.remove(key);
        })
    }

    pub fn list(&self) -> Result<Vec<(CacheKey, Record)>, CacheError> {
        Ok(self.read()?.entries.into_iter().collect())
    }

    pub fn get(&self, key: &CacheKey) -> Result<Option<Record>, CacheError> {
        Ok(self.read()?.entries.remove(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sa: &str) -> Record {
        Record {
            namespace: "team".into(),
            service_account: sa.into(),
            user: None,
            groups: vec![],
            server: "https://127.0.0.1:6443".into(),
            admin_context: "admin".into(),
            broker_owner: None,
            kubeconfig: None,
            source: "token-request".into(),
            audiences: vec![],
            store: StoreKind::File,
            also_in: vec![],
            minted_at: 1,
            expires_at: Some(3601),
            bound_secret: None,
            token_secret: None,
            credential_id: None,
            lease: None,
        }
    }

    #[test]
    fn put_list_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let index = Index::at(tmp.path().join("c"));
        let k1 = CacheKey::parse(&"1".repeat(32)).unwrap();
        let k2 = CacheKey::parse(&"2".repeat(32)).unwrap();
        index.put(&k1, record("a")).unwrap();
        index.put(&k2, record("b")).unwrap();
        index.put(&k1, record("c")).unwrap();
        let all = index.list().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(index.get(&k1).unwrap().unwrap().service_account, "c");
        index.remove(&k1).unwrap();
        assert_eq!(index.list().unwrap(), vec![(k2, record("b"))]);
        let text = std::fs::read_to_string(tmp.path().join("c/index.json")).unwrap();
        assert!(!text.contains("token\""), "index holds no token: {text}");
    }

    #[test]
    fn a_mint_into_another_store_remembers_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let index = Index::at(tmp.path().join("c"));
        let k = CacheKey::parse(&"1".repeat(32)).unwrap();
        let into = |store| Record {
            store,
            ..record("a")
        };
        index.put(&k, into(StoreKind::Keyring)).unwrap();
        index.put(&k, into(StoreKind::File)).unwrap();
        index.put(&k, into(StoreKind::Keyutils)).unwrap();
        index.put(&k, into(StoreKind::File)).unwrap();
        let r = index.get(&k).unwrap().unwrap();
        assert_eq!(r.store, StoreKind::File);
        assert_eq!(r.also_in, vec![StoreKind::Keyring, StoreKind::Keyutils]);
        assert_eq!(
            r.stores().collect::<Vec<_>>(),
            vec![StoreKind::File, StoreKind::Keyring, StoreKind::Keyutils]
        );
        // An index written before `also_in` existed reads as one store.
        let old = r#"{"entries":{"11111111111111111111111111111111":{"namespace":"team","service_account":"a","server":"s","admin_context":"admin","source":"token-request","store":"file","minted_at":1}}}"#;
        let parsed = parse(old.as_bytes());
        assert_eq!(parsed.entries[&k].stores().count(), 1);
    }
}
