//! Secret Service items (Linux and the BSDs: gnome-keyring, KWallet,
//! KeePassXC), as git-credential-libsecret and docker-credential-secretservice
//! make theirs: a label naming who and where (`kube-sa-token: team/viewer @
//! SERVER`), and non-secret attributes to search by (`principal`, `server`,
//! `kind`, our `xdg:schema`). The lookup stays by the opaque key (attribute
//! `username`), which binds the CA and more.

use std::collections::HashMap;

use keyring_core::{Entry as Item, Error};

use super::item_label::{entry_principal, item_label};
use super::key::CacheKey;
use super::keyring_error::describe;
use super::store::{Entry, SERVICE, encode};

/// The schema our items carry (`xdg:schema`).
const SCHEMA: &str = "io.github.kube_sa_token.Credential";

fn item(key: &CacheKey) -> Result<Item, Error> {
    Item::new(SERVICE, key.as_str())
}

pub fn read(key: &CacheKey) -> Result<Option<Vec<u8>>, Error> {
    match item(key)?.get_secret() {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::NoEntry) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Written on a mint only: an item of an earlier release, or with an older
/// label, is replaced by one that carries them (the store keeps an item's
/// label when only its secret is set).
pub fn write(key: &CacheKey, entry: &Entry) -> Result<(), Error> {
    let label = item_label(entry);
    let item = Item::new_with_modifiers(
        SERVICE,
        key.as_str(),
        &HashMap::from([("label", label.as_str())]),
    )?;
    match item.delete_credential() {
        Ok(()) | Err(Error::NoEntry) => {}
        Err(e) => return Err(e),
    }
    item.set_secret(encode(entry).as_bytes())?;
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

pub fn delete(key: &CacheKey) -> Result<bool, Error> {
    match item(key)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(Error::NoEntry) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The items with our service attribute; their user attribute is the key.
pub fn keys() -> Result<Vec<CacheKey>, Error> {
    let spec = HashMap::from([("service", SERVICE)]);
    let found = Item::search(&spec)?;
    Ok(found
        .iter()
        .filter_map(|e| {
            let attrs = e.get_attributes().ok()?;
            CacheKey::parse(attrs.get("username")?)
        })
        .collect())
}
