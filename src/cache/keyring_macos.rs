//! Keychain items (macOS): generic passwords of service `kube-sa-token`,
//! account = the opaque key, with a label naming who and where (`kube-sa-token:
//! team/viewer @ SERVER`, what Keychain Access lists) and a comment. The
//! keyring store has no labels, so items are written through
//! security-framework; they are read through the store.
//!
//! The Keychain binds "Always Allow" to the code signature of the binary
//! that made the item. After an upgrade an unsigned (or differently signed)
//! binary is asked again, and kubectl runs us without a terminal: the
//! prompt blocks, or over SSH fails with errSecInteractionNotAllowed. A
//! read the Keychain refuses is therefore a miss: the credential is minted
//! anew and the item replaced, so that this binary owns it from then on
//! (docs/security.md: signing release builds avoids the prompt).

use keyring_core::{Entry as Item, Error};
use security_framework::passwords::{
    PasswordOptions, delete_generic_password, set_generic_password_options,
};

use super::item_label::{entry_principal, item_label};
use super::key::CacheKey;
use super::store::{Entry, SERVICE, encode};

/// errSecInteractionNotAllowed, errSecAuthFailed, errSecUserCanceled:
/// the Keychain wanted a person to allow the read.
const REFUSED: [i32; 3] = [-25308, -25293, -128];
/// errSecItemNotFound.
const NOT_FOUND: i32 = -25300;

fn item(key: &CacheKey) -> Result<Item, Error> {
    Item::new(SERVICE, key.as_str())
}

/// The Keychain's status code behind a store error, if it is one.
fn status(e: &Error) -> Option<i32> {
    match e {
        Error::PlatformFailure(inner) | Error::NoStorageAccess(inner) => inner
            .downcast_ref::<security_framework::base::Error>()
            .map(|e| e.code()),
        _ => None,
    }
}

pub fn read(key: &CacheKey) -> Result<Option<Vec<u8>>, Error> {
    match item(key)?.get_secret() {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::NoEntry) => Ok(None),
        Err(e) if status(&e).is_some_and(|c| REFUSED.contains(&c)) => {
            tracing::warn!(
                "the Keychain refused to read the cached credential without asking you (it was stored by another build of kube-sa-token); minting a new one, stored for this build"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Replaces the item (a refused one too: deleting needs no prompt for the
/// item's owner, and the login keychain's owner is the user).
pub fn write(key: &CacheKey, entry: &Entry) -> Result<(), Error> {
    let decode = apple_native_keyring_store::keychain::decode_error;
    match delete_generic_password(SERVICE, key.as_str()) {
        Ok(()) => {}
        Err(e) if e.code() == NOT_FOUND => {}
        Err(e) => return Err(decode(e)),
    }
    let mut options = PasswordOptions::new_generic_password(SERVICE, key.as_str());
    options.set_label(&item_label(entry));
    options.set_comment(&format!(
        "kubectl credential of {} ({}), cached by kube-sa-token",
        entry_principal(entry),
        entry.credential.kind()
    ));
    set_generic_password_options(encode(entry).as_bytes(), options).map_err(decode)
}

pub fn delete(key: &CacheKey) -> Result<bool, Error> {
    match item(key)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(Error::NoEntry) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Our items: those of our service; their account is the key.
pub fn keys() -> Result<Vec<CacheKey>, Error> {
    let spec = std::collections::HashMap::from([("service", SERVICE)]);
    Ok(Item::search(&spec)?
        .iter()
        .filter_map(|e| CacheKey::parse(&e.get_specifiers()?.1))
        .collect())
}
