//! Credential Manager items (Windows). Each is a generic credential named
//! `kube-sa-token:<key>` (the opaque key binds the CA and more); its user
//! name is who it is for (`team/viewer`, `user:alice [dev]`) and its comment
//! the label `kube-sa-token: team/viewer @ SERVER`, as Credential Manager
//! and `cmdkey /list` show them. Persistence is Local: a token bound to
//! this machine's cache must not roam with a domain profile (the store's
//! default, Enterprise, would). An entry larger than the 2,560 bytes a
//! credential holds is split over `kube-sa-token:<key>:2`, `:3`, ... (see
//! `blob_parts`).

use std::collections::HashMap;

use keyring_core::{Entry as Item, Error};

use super::blob_parts::{self, LIMIT, MAX_PARTS};
use super::item_label::{entry_principal, item_label};
use super::key::CacheKey;
use super::keyring_error::describe;
use super::store::{Entry, SERVICE, encode};

/// Windows' bounds on a credential's user name and comment (UTF-16 units).
const USERNAME_MAX: usize = 513;
const COMMENT_MAX: usize = 256;

fn target(key: &CacheKey, part: usize) -> String {
    match part {
        1 => format!("{SERVICE}:{key}"),
        n => format!("{SERVICE}:{key}:{n}"),
    }
}

fn item(key: &CacheKey, part: usize) -> Result<Item, Error> {
    let target = target(key, part);
    Item::new_with_modifiers(
        SERVICE,
        key.as_str(),
        &HashMap::from([("target", target.as_str()), ("persistence", "Local")]),
    )
}

fn secret(key: &CacheKey, part: usize) -> Result<Option<Vec<u8>>, Error> {
    match item(key, part)?.get_secret() {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Error::NoEntry) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The entry's bytes; a split entry with a part missing reads as a damaged
/// entry (it is minted anew).
pub fn read(key: &CacheKey) -> Result<Option<Vec<u8>>, Error> {
    let Some(first) = secret(key, 1)? else {
        return Ok(None);
    };
    let n = blob_parts::count(&first).unwrap_or(1);
    let mut parts = vec![first];
    for part in 2..=n {
        match secret(key, part)? {
            Some(p) => parts.push(p),
            None => break,
        }
    }
    Ok(Some(blob_parts::join(parts)))
}

pub fn write(key: &CacheKey, entry: &Entry) -> Result<(), Error> {
    let blob = encode(entry);
    let parts = blob_parts::split(blob.as_bytes(), LIMIT).map_err(|too| {
        Error::TooLong(
            format!("the entry ({} bytes)", too.0),
            (MAX_PARTS * LIMIT) as u32,
        )
    })?;
    let who = entry_principal(entry);
    let label = item_label(entry);
    let total = parts.len();
    // The first part last: a reader finds the others in place.
    for (i, part) in parts.iter().enumerate().rev() {
        let it = item(key, i + 1)?;
        it.set_secret(part)?;
        let comment = match i {
            0 => label.clone(),
            _ => format!("part {} of {total}: {label}", i + 1),
        };
        let attributes = HashMap::from([
            ("username", fit(&who, USERNAME_MAX)),
            ("comment", fit(&comment, COMMENT_MAX)),
        ]);
        let attributes = attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Err(e) = it.update_attributes(&attributes) {
            // Decoration only: the item is stored and found by its name.
            tracing::debug!("could not label the credential: {}", describe(&e));
        }
    }
    // Parts of a larger entry written before.
    for part in total + 1..=MAX_PARTS {
        match item(key, part)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn delete(key: &CacheKey) -> Result<bool, Error> {
    let mut found = false;
    for part in 1..=MAX_PARTS {
        match item(key, part)?.delete_credential() {
            Ok(()) => found |= part == 1,
            Err(Error::NoEntry) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Our credentials, by name: `kube-sa-token:<key>` (first parts only).
pub fn keys() -> Result<Vec<CacheKey>, Error> {
    Ok(names()?
        .iter()
        .filter_map(|name| CacheKey::parse(name.strip_prefix(SERVICE)?.strip_prefix(':')?))
        .collect())
}

/// The names of the credentials `kube-sa-token:*`, by CredEnumerateW with
/// that filter. The structures are read unaligned: Wine packs them.
fn names() -> Result<Vec<String>, Error> {
    use windows_sys::Win32::Foundation::{ERROR_NOT_FOUND, GetLastError};
    use windows_sys::Win32::Security::Credentials::{CREDENTIALW, CredEnumerateW, CredFree};
    let filter: Vec<u16> = format!("{SERVICE}:*").encode_utf16().chain([0]).collect();
    let mut count = 0u32;
    let mut creds: *mut *mut CREDENTIALW = std::ptr::null_mut();
    // SAFETY: `filter` is NUL-terminated; on success the call hands us
    // `count` credential pointers, freed below with CredFree.
    if unsafe { CredEnumerateW(filter.as_ptr(), 0, &mut count, &mut creds) } == 0 {
        // SAFETY: no preconditions.
        return match unsafe { GetLastError() } {
            ERROR_NOT_FOUND => Ok(vec![]),
            code => Err(Error::PlatformFailure(Box::new(
                std::io::Error::from_raw_os_error(code as i32),
            ))),
        };
    }
    let mut names = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        // SAFETY: `creds` holds `count` pointers to credentials, each with
        // a NUL-terminated TargetName, alive until CredFree.
        let name = unsafe {
            let cred = creds.add(i).read_unaligned().read_unaligned();
            wide(cred.TargetName)
        };
        names.push(name);
    }
    // SAFETY: the buffer CredEnumerateW allocated, freed once.
    unsafe { CredFree(creds as *const std::ffi::c_void) };
    Ok(names)
}

/// A NUL-terminated UTF-16 string at `p`, read unaligned.
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn wide(p: *const u16) -> String {
    let mut units = Vec::new();
    if !p.is_null() {
        loop {
            // SAFETY: within the string, up to and including its NUL.
            let u = unsafe { p.add(units.len()).read_unaligned() };
            if u == 0 {
                break;
            }
            units.push(u);
        }
    }
    String::from_utf16_lossy(&units)
}

/// `s` within `max` UTF-16 units, cut with an ellipsis.
fn fit(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 1;
    for c in s.chars() {
        used += c.len_utf16();
        if used > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Windows only (under wine in `.ci/run`): the real Credential Manager.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credential;
    use crate::secret::Token;

    fn entry(token_len: usize) -> Entry {
        let mut e = Entry::stand_in(
            Credential::Token(Token::new("e".repeat(token_len))),
            "https://api.example:6443",
            "team",
        );
        e.service_account = "viewer".into();
        e
    }

    #[test]
    fn an_entry_round_trips_split_labelled_and_local() {
        assert!(keyring::Entry::store_status().is_ok(), "Credential Manager");
        let key = CacheKey::parse(&format!("{:032x}", std::process::id())).unwrap();
        let big = entry(6_000);
        write(&key, &big).unwrap();
        assert_eq!(read(&key).unwrap().unwrap(), encode(&big).as_bytes());
        assert!(secret(&key, 3).unwrap().is_some(), "split in three");
        let attrs = item(&key, 1).unwrap().get_attributes().unwrap();
        assert_eq!(attrs["target_name"], format!("kube-sa-token:{key}"));
        assert_eq!(attrs["username"], "team/viewer");
        assert_eq!(
            attrs["comment"],
            "kube-sa-token: team/viewer @ https://api.example:6443"
        );
        assert_eq!(attrs["persistence"], "Local");
        assert_eq!(keys().unwrap().iter().filter(|k| **k == key).count(), 1);

        // A smaller entry leaves no part of the larger one behind.
        let small = entry(100);
        write(&key, &small).unwrap();
        assert_eq!(read(&key).unwrap().unwrap(), encode(&small).as_bytes());
        assert!(secret(&key, 2).unwrap().is_none());

        assert!(delete(&key).unwrap());
        assert!(read(&key).unwrap().is_none());
        assert!(!delete(&key).unwrap());
    }

    #[test]
    fn labels_are_cut_to_what_windows_keeps() {
        assert_eq!(fit("short", 10), "short");
        let cut = fit(&"ä".repeat(300), COMMENT_MAX);
        assert_eq!(cut.encode_utf16().count(), COMMENT_MAX);
        assert!(cut.ends_with('…'));
    }
}
