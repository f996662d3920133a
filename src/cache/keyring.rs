//! `--cache keyring`: the OS keyring through the keyring crate (Secret Service
//! on Linux and the BSDs, Keychain on macOS, Credential Manager on Windows).
//! Items: service `kube-sa-token`, user = the cache key. The entry (JSON,
//! about 1.5 KB) is stored as bytes, not as a password: Windows would store a
//! password as UTF-16 and its 2560-byte blob limit would then be too small.

use super::error::CacheError;
use super::key::CacheKey;
use super::store::{Entry, SERVICE, Store, StoreKind, decode, encode};

pub struct KeyringStore;

/// The Secret Service schema our items carry (`xdg:schema`).
pub const SCHEMA: &str = "io.github.kube_sa_token.Credential";

/// Who an entry is for, as `cache list` names it: `NS/SA`, or
/// `user:NAME` with its groups in brackets.
pub fn entry_principal(entry: &Entry) -> String {
    match &entry.user {
        Some(u) if entry.groups.is_empty() => format!("user:{u}"),
        Some(u) => format!("user:{u} [{}]", entry.groups.join(",")),
        None => format!("{}/{}", entry.namespace, entry.service_account),
    }
}

/// The label of an entry's item: `kube-sa-token: team/viewer @ SERVER`.
pub fn item_label(entry: &Entry) -> String {
    label_for(&entry_principal(entry), &entry.cluster.server)
}

/// The label of an item for `principal` on `server` (`cache list` shows
/// the same).
pub fn label_for(principal: &str, server: &str) -> String {
    format!("kube-sa-token: {principal} @ {server}")
}

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

    #[cfg(not(target_os = "linux"))]
    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        self.entry(key)?
            .set_secret(encode(entry).as_bytes())
            .map_err(err("write"))
    }

    /// On the Secret Service, the item a person recognises in Seahorse or
    /// KWallet: a label naming who and where, and non-secret attributes
    /// (`principal`, `server`, `kind`, our `xdg:schema`) to search by. The
    /// lookup stays by the opaque key (`username`), which binds the CA and
    /// more. Written on a mint only: an item of an earlier release, or with
    /// an older label, is replaced by one that carries them.
    #[cfg(target_os = "linux")]
    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        use std::collections::HashMap;
        let label = item_label(entry);
        let item = keyring_core::Entry::new_with_modifiers(
            SERVICE,
            key.as_str(),
            &HashMap::from([("label", label.as_str())]),
        )
        .map_err(err("open"))?;
        match item.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(err("write")(e)),
        }
        item.set_secret(encode(entry).as_bytes())
            .map_err(err("write"))?;
        let principal = entry_principal(entry);
        let attributes = HashMap::from([
            ("xdg:schema", SCHEMA),
            ("principal", principal.as_str()),
            ("server", entry.cluster.server.as_str()),
            ("kind", entry.credential.kind()),
        ]);
        if let Err(e) = item.update_attributes(&attributes) {
            // Decoration only: the item is stored and found by its key.
            tracing::debug!("could not add the search attributes: {}", describe(&e));
        }
        Ok(())
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(err("delete")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_identity::ClusterIdentity;
    use crate::credential::Credential;
    use crate::secret::Token;

    fn entry(user: Option<&str>, groups: &[&str]) -> Entry {
        Entry {
            credential: Credential::Token(Token::new("t")),
            cluster: ClusterIdentity::new("https://api.example:6443", None, None, false).unwrap(),
            clock_offset: 0,
            namespace: "team".into(),
            service_account: if user.is_some() {
                String::new()
            } else {
                "viewer".into()
            },
            user: user.map(String::from),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            minted_at: 0,
            checked_at: 0,
            asked_secs: None,
            revalidate_secs: None,
            secret: None,
            cache_dir: None,
        }
    }

    /// Issue 21: labels a person recognises in Seahorse or KWallet.
    #[test]
    fn items_are_labelled_with_who_and_where() {
        assert_eq!(
            item_label(&entry(None, &[])),
            "kube-sa-token: team/viewer @ https://api.example:6443"
        );
        assert_eq!(
            item_label(&entry(Some("alice"), &["dev", "qa"])),
            "kube-sa-token: user:alice [dev,qa] @ https://api.example:6443"
        );
        assert_eq!(
            item_label(&entry(Some("alice"), &[])),
            "kube-sa-token: user:alice @ https://api.example:6443"
        );
    }
}
