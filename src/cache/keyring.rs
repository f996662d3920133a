//! `--cache keyring`: the OS keyring through the keyring crate (Secret Service
//! on Linux and the BSDs, Keychain on macOS, Credential Manager on Windows).
//! Items: service `kube-sa-token`, user = the cache key. The entry (JSON,
//! about 1.2 KB) is stored as bytes, not as a password: Windows would store a
//! password as UTF-16, twice the size. How each platform's store names,
//! labels, splits and finds the items: `keyring_items` (one per platform).

use super::error::CacheError;
use super::key::CacheKey;
use super::keyring_error::describe;
use super::keyring_items as items;
use super::store::{Entry, SERVICE, Store, StoreKind, decode};

pub struct KeyringStore;

fn err(op: &'static str) -> impl FnOnce(keyring::Error) -> CacheError {
    move |e| CacheError::Keyring {
        op,
        detail: describe(&e),
    }
}

impl KeyringStore {
    pub fn new() -> Result<KeyringStore, CacheError> {
        if let Err(e) = keyring::Entry::store_status() {
            return Err(CacheError::Keyring {
                op: "open",
                detail: describe(e),
            });
        }
        Ok(KeyringStore)
    }

    /// One round trip to the keyring service: a lookup of an item that does
    /// not exist. Succeeds only when the service answers and is unlocked.
    pub fn probe(&self) -> Result<(), CacheError> {
        let e = keyring::Entry::new(SERVICE, "probe").map_err(err("open"))?;
        match e.get_secret() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(err("lookup")(e)),
        }
    }
}

impl Store for KeyringStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        items::keys().map_err(err("search"))
    }

    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match items::read(key).map_err(err("read"))? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Written on a mint only, with the label and search attributes of
    /// the platform's store (see [`items`]).
    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        items::write(key, entry).map_err(err("write"))
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        items::delete(key).map_err(err("delete"))
    }
}
