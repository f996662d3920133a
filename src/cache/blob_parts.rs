//! An entry split over several items of a store that bounds an item's
//! secret: Windows Credential Manager keeps at most 2,560 bytes per
//! credential (`CRED_MAX_CREDENTIAL_BLOB_SIZE`), and a user's entry (a
//! certificate signed with an RSA key, many groups, and its key) or a token
//! with long names can be larger.
//!
//! An entry that fits is stored as it is (its JSON starts with `{`). One
//! that does not is cut into parts: the first starts with the header
//! `kube-sa-token parts=N\n`, the others hold the rest, in order. Used by
//! the Windows items only; compiled and tested everywhere.

#![cfg_attr(not(windows), allow(dead_code))]

/// Windows' bound on a credential's secret (bytes).
pub const LIMIT: usize = 2_560;

/// At most this many parts (20 KB): more is not an entry of ours.
pub const MAX_PARTS: usize = 8;

const HEADER: &str = "kube-sa-token parts=";

/// The entry needs more than [`MAX_PARTS`] parts.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge(pub usize);

/// `blob` cut into parts of at most `limit` bytes each, the first with the
/// header when there is more than one.
pub fn split(blob: &[u8], limit: usize) -> Result<Vec<Vec<u8>>, TooLarge> {
    if blob.len() <= limit {
        return Ok(vec![blob.to_vec()]);
    }
    // The header of a split entry: "…parts=N\n", N one digit.
    let header_len = HEADER.len() + 2;
    let first = limit - header_len;
    let rest = blob.len() - first;
    let n = 1 + rest.div_ceil(limit);
    if n > MAX_PARTS {
        return Err(TooLarge(blob.len()));
    }
    let mut head = format!("{HEADER}{n}\n").into_bytes();
    head.extend_from_slice(&blob[..first]);
    let mut parts = vec![head];
    parts.extend(blob[first..].chunks(limit).map(<[u8]>::to_vec));
    Ok(parts)
}

/// How many parts an entry whose first part is `first` has (1 when it is
/// not split); `None` for a header that is not ours.
pub fn count(first: &[u8]) -> Option<usize> {
    let Some(rest) = first.strip_prefix(HEADER.as_bytes()) else {
        return Some(1);
    };
    let (n, _) = rest.split_at_checked(2)?;
    let n = std::str::from_utf8(n).ok()?.strip_suffix('\n')?;
    n.parse().ok().filter(|n| (2..=MAX_PARTS).contains(n))
}

/// The entry the parts (all of them, in order) hold.
pub fn join(parts: Vec<Vec<u8>>) -> Vec<u8> {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return vec![];
    };
    let mut blob = match first.strip_prefix(HEADER.as_bytes()) {
        Some(rest) => rest.get(2..).unwrap_or_default().to_vec(),
        None => first,
    };
    for p in parts {
        blob.extend_from_slice(&p);
    }
    blob
}

#[cfg(test)]
#[path = "blob_parts_tests.rs"]
mod tests;
