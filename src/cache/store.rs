//! The `Store` trait, the entry it keeps, and how a store is chosen: the OS
//! keyring, the Linux kernel key service or a file per entry (`--cache none`
//! keeps nothing). `--cache auto` never picks the file store.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::CacheError;
use super::key::CacheKey;
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::options::Principal;

/// Service name under which entries are kept in the keyrings.
pub const SERVICE: &str = "kube-sa-token";

/// A concrete store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Keyring,
    Keyutils,
    File,
    /// Files in a memory-backed directory ([`super::runtime_dir`]).
    Tmpfs,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Keyring => "keyring",
            StoreKind::Keyutils => "keyutils",
            StoreKind::File => "file",
            StoreKind::Tmpfs => "tmpfs",
        })
    }
}

/// What a store keeps for one key: the credential and what it was minted for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// A token, or a user's certificate and key.
    #[serde(flatten)]
    pub credential: Credential,
    /// The cluster the token was minted on; it is never sent elsewhere.
    pub cluster: ClusterIdentity,
    /// The server's clock minus ours at the mint (seconds): the token's
    /// times are judged in server time.
    #[serde(default)]
    pub clock_offset: i64,
    /// The ServiceAccount's namespace and name (empty for a user).
    pub namespace: String,
    pub service_account: String,
    /// The X.509 user and groups of a certificate entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Unix seconds of the mint.
    pub minted_at: i64,
    /// Unix seconds the token was last confirmed by the server (legacy tokens).
    pub checked_at: i64,
    /// The Secret the token is bound to (`--bind-secret`), or the legacy token
    /// Secret it was read from (`--source secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The lifetime asked for at the mint (`--duration`, seconds): a
    /// credential asked for longer than the entry asks now is not served.
    #[serde(default, rename = "dur", skip_serializing_if = "Option::is_none")]
    pub asked_secs: Option<u64>,
    /// `--revalidate-interval` of the entry (seconds) when it was last
    /// written: a legacy token's kernel copy lives no longer than that.
    #[serde(default, rename = "reval", skip_serializing_if = "Option::is_none")]
    pub revalidate_secs: Option<u64>,
    /// The cache directory whose index the entry belongs to: the kernel
    /// and OS keyrings are per user, shared by every HOME of that user, and
    /// a listing from one cache adopts only its own entries.
    #[serde(default, rename = "home", skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<String>,
    /// The Vault lease the token was issued under (`--source vault`):
    /// `logout` revokes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
}

impl Entry {
    /// An entry that stands in for a real one (`doctor`'s probe, a damaged
    /// entry in a listing): `credential` for `ns/ns` on `server`, nothing
    /// else known.
    pub fn stand_in(credential: Credential, server: &str, ns: &str) -> Entry {
        Entry {
            credential,
            cluster: ClusterIdentity {
                server: server.into(),
                ca: None,
                tls_server_name: None,
                insecure: false,
            },
            clock_offset: 0,
            namespace: ns.into(),
            service_account: ns.into(),
            user: None,
            groups: vec![],
            minted_at: 0,
            checked_at: 0,
            secret: None,
            asked_secs: None,
            revalidate_secs: None,
            cache_dir: None,
            lease: None,
        }
    }

    /// The credential's expiry (`exp`, NotAfter; server time) and lifetime
    /// in seconds; `None` for a legacy token (or a damaged entry).
    pub fn validity(&self) -> Option<(i64, i64)> {
        match &self.credential {
            Credential::Token(t) => {
                let (_, c) = crate::jwt::decode(t).ok()?;
                Some((c.exp?, c.lifetime_secs().unwrap_or(0)))
            }
            Credential::Certificate(c) => {
                let info = crate::x509::parse(&c.certificate).ok()?;
                Some((info.not_after, info.lifetime_secs()))
            }
        }
    }

    /// Who the credential is for, from the entry's columns.
    pub fn principal(&self) -> Principal {
        principal_of(&self.service_account, self.user.as_deref(), &self.groups)
    }

    /// Who, for messages ([`Principal::label`]).
    pub fn label(&self) -> String {
        self.principal().label(&self.namespace)
    }
}

/// The principal an entry's or a record's columns describe (a user when
/// `user` is set).
pub(super) fn principal_of(
    service_account: &str,
    user: Option<&str>,
    groups: &[String],
) -> Principal {
    match user {
        Some(name) => Principal::User {
            name: name.to_string(),
            groups: groups.to_vec(),
        },
        None => Principal::ServiceAccount(service_account.to_string()),
    }
}

/// One token store.
pub trait Store {
    fn kind(&self) -> StoreKind;
    /// The keys of every entry of ours the store holds, found in the store
    /// itself (not the index, which may be lost): for `cache list` and
    /// `cache clear --all`.
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError>;
    /// The entry for `key`, if any. A missing entry is `Ok(None)`.
    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError>;
    /// Stores `entry` under `key`, replacing any previous one atomically.
    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError>;
    /// Removes the entry; `Ok(false)` when there was none.
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError>;
}

pub(super) fn encode(entry: &Entry) -> String {
    serde_json::to_string(entry).expect("entry serializes")
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Entry, CacheError> {
    serde_json::from_slice(bytes).map_err(|e| CacheError::Corrupt(crate::parse_error::json(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an entry costs where space is short (an ordinary user's kernel
    /// key quota: 20,000 bytes): a bound token of a real cluster (about
    /// 1,000 characters with pod and node claims; the test cluster's are
    /// about 800) and everything kept beside it stay under the figure
    /// `doctor` and the quota message use.
    #[test]
    fn a_realistic_token_entry_fits_the_size_the_quota_figures_assume() {
        let e = Entry {
            credential: Credential::Token(crate::secret::Token::new("e".repeat(1_000))),
            cluster: ClusterIdentity::new(
                "https://api.prod-cluster.example.com:6443",
                Some(include_str!("../../tests/fixtures/ca-a.pem").as_bytes()),
                None,
                false,
            )
            .unwrap(),
            clock_offset: -3,
            namespace: "platform-observability".into(),
            service_account: "grafana-agent-reader".into(),
            user: None,
            groups: vec![],
            minted_at: 1_796_063_066,
            checked_at: 1_796_063_066,
            secret: None,
            asked_secs: Some(3600),
            revalidate_secs: Some(600),
            cache_dir: super::super::dir_label(),
            lease: None,
        };
        let description = "kube-sa-token-tier:".len() + 32;
        let bytes = encode(&e).len() + description;
        assert!(
            (bytes as u64) < super::super::key_quota::ENTRY_BYTES,
            "{bytes} bytes: {}",
            encode(&e).replace(&"e".repeat(1_000), "<token>")
        );
    }

    #[test]
    fn entry_debug_is_redacted() {
        let e = Entry {
            credential: Credential::Token(crate::secret::Token::new("eyJsecret")),
            cluster: ClusterIdentity::new("https://a", None, None, false).unwrap(),
            clock_offset: 0,
            namespace: "n".into(),
            service_account: "s".into(),
            user: None,
            groups: vec![],
            minted_at: 1,
            checked_at: 1,
            secret: None,
            asked_secs: None,
            revalidate_secs: None,
            cache_dir: None,
            lease: None,
        };
        assert!(!format!("{e:?}").contains("eyJsecret"));
    }
}
