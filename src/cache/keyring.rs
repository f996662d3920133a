//! `--cache keyring`: the OS keyring through the keyring crate (Secret Service
//! on Linux and the BSDs, Keychain on macOS, Credential Manager on Windows).
//! Items: service `kube-sa-token`, user = the cache key. The entry (JSON,
//! about 1.5 KB) is stored as bytes, not as a password: Windows would store a
//! password as UTF-16 and its 2560-byte blob limit would then be too small.

use super::error::CacheError;
use super::key::CacheKey;
use super::store::{Entry, SERVICE, Store, StoreKind, decode, encode};

pub struct KeyringStore;

/// Describes a keyring error without ever formatting stored bytes (some
/// variants carry the secret they failed to decode).
fn describe(e: &keyring::Error) -> String {
    match e {
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            "the stored item is not in the expected format".into()
        }
        keyring::Error::NoStorageAccess(inner) => {
            format!("the keyring is locked or not reachable ({inner})")
        }
        keyring::Error::NoDefaultStore => match keyring::Entry::store_status() {
            Err(e) if !matches!(e, keyring::Error::NoDefaultStore) => {
                format!("no keyring service ({})", describe(e))
            }
            _ => "no keyring service is available".into(),
        },
        keyring::Error::PlatformFailure(inner) => plain(&inner.to_string()),
        other => other.to_string(),
    }
}

/// A platform failure in words a user can act on. The library's own chain
/// (zbus: addresses, D-Bus error names) goes to -vv only.
fn plain(raw: &str) -> String {
    tracing::debug!("keyring platform failure: {raw}");
    if raw.contains("Failed to connect to address")
        || raw.contains("DBUS_SESSION_BUS_ADDRESS")
        || raw.contains("autolaunch")
    {
        "no D-Bus session bus (no desktop session: DBUS_SESSION_BUS_ADDRESS is unset or its socket is gone)".into()
    } else if raw.contains("org.freedesktop.secrets") || raw.contains("ServiceUnknown") {
        "no Secret Service on the session bus (gnome-keyring, KWallet or KeePassXC is not running)"
            .into()
    } else {
        // The first clause, without the libraries' prefixes.
        let first = raw
            .split(": ")
            .find(|c| !c.ends_with(" error"))
            .unwrap_or(raw);
        format!("the keyring service failed: {first}")
    }
}

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

    fn entry(&self, key: &CacheKey) -> Result<keyring::Entry, CacheError> {
        keyring::Entry::new(SERVICE, key.as_str()).map_err(err("open"))
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

    /// The items with our service attribute; their user attribute is the key.
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        let spec = std::collections::HashMap::from([("service", SERVICE)]);
        let found = keyring_core::Entry::search(&spec).map_err(err("search"))?;
        Ok(found
            .iter()
            .filter_map(|e| {
                let attrs = e.get_attributes().ok()?;
                CacheKey::parse(attrs.get("username")?)
            })
            .collect())
    }

    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match self.entry(key)?.get_secret() {
            Ok(bytes) => decode(&bytes).map(Some),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(err("read")(e)),
        }
    }

    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        self.entry(key)?
            .set_secret(encode(entry).as_bytes())
            .map_err(err("write"))
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(err("delete")(e)),
        }
    }
}
