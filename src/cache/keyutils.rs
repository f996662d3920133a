//! `--cache keyutils`: the Linux kernel key service. Entries are `user` keys
//! named `kube-sa-token:<key>` in the user keyring (`@u`), so they outlive the
//! process that wrote them and every later kubectl call of the same user finds
//! them; they never touch the disk. A key expires with its token (kernel timeout).

use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

use super::error::CacheError;
use super::key::CacheKey;
use super::key_quota::{KeyQuota, parse_key_users};
use super::store::{Entry, SERVICE, Store, StoreKind, decode, encode};

pub struct KeyutilsStore {
    ring: KeyRing,
    /// What the key descriptions start with: the store's own entries, or
    /// the kernel tier's copies of another store's ([`super::tier`]).
    prefix: &'static str,
    /// Seconds until the kernel drops an entry's key; `None`: never.
    lifetime: fn(&Entry) -> Option<i64>,
}

fn err(op: &'static str) -> impl FnOnce(KeyError) -> CacheError {
    move |e| match e {
        KeyError::QuotaExceeded => CacheError::KeyQuota(
            quota().map_or_else(|| "its size is unknown".into(), |q| q.describe()),
        ),
        e => CacheError::Keyutils {
            op,
            detail: format!("{e:?}"),
        },
    }
}

/// The effective user's line of `/proc/key-users`, if the kernel has one.
pub fn quota() -> Option<KeyQuota> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    parse_key_users(&std::fs::read_to_string("/proc/key-users").ok()?, uid)
}

/// A credential's remaining life by the server's clock: the kernel drops the
/// key when it is useless. Legacy tokens (no exp) stay until removed.
fn token_life(entry: &Entry) -> Option<i64> {
    let (exp, _) = entry.validity()?;
    Some(
        exp.saturating_sub(entry.clock_offset)
            .saturating_sub(time::OffsetDateTime::now_utc().unix_timestamp()),
    )
}

impl KeyutilsStore {
    pub fn new() -> Result<KeyutilsStore, CacheError> {
        KeyutilsStore::with(SERVICE, token_life)
    }

    /// A store whose keys are named `<prefix>:<key>` and dropped after
    /// `lifetime`.
    pub fn with(
        prefix: &'static str,
        lifetime: fn(&Entry) -> Option<i64>,
    ) -> Result<KeyutilsStore, CacheError> {
        let ring = KeyRing::from_special_id(KeyRingIdentifier::User, true).map_err(err("open"))?;
        Ok(KeyutilsStore {
            ring,
            prefix,
            lifetime,
        })
    }

    /// The description of the key for `key`, as `keyctl search @u user DESC`
    /// finds it.
    pub fn description(&self, key: &CacheKey) -> String {
        format!("{}:{key}", self.prefix)
    }

    /// Is there a live key for `key`?
    pub fn holds(&self, key: &CacheKey) -> bool {
        matches!(self.find(key), Ok(Some(_)))
    }

    fn find(&self, key: &CacheKey) -> Result<Option<linux_keyutils::Key>, CacheError> {
        self.find_named(&self.description(key))
    }

    fn find_named(&self, description: &str) -> Result<Option<linux_keyutils::Key>, CacheError> {
        match self.ring.search(description) {
            Ok(k) => Ok(Some(k)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(err("search")(e)),
        }
    }
}

impl Store for KeyutilsStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyutils
    }

    /// The user keyring's keys named `<prefix>:<key>`.
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        let prefix = format!("{}:", self.prefix);
        let links = self.ring.get_links(4096).map_err(err("list"))?;
        Ok(links
            .iter()
            .filter_map(|node| {
                let meta = node.as_key()?.metadata().ok()?;
                CacheKey::parse(meta.get_description().strip_prefix(&prefix)?)
            })
            .collect())
    }

    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        self.read_named(&self.description(key))?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        self.write_named(
            &self.description(key),
            encode(entry).as_bytes(),
            (self.lifetime)(entry),
        )
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        self.remove_named(&self.description(key))
    }
}

/// Keys by their description: the entries' ([`Store`]) and the kept
/// logins' ([`super::login_store`]).
impl KeyutilsStore {
    pub fn read_named(&self, description: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let Some(k) = self.find_named(description)? else {
            return Ok(None);
        };
        match k.read_to_vec() {
            Ok(bytes) => Ok(Some(bytes)),
            Err(KeyError::KeyExpired | KeyError::KeyRevoked | KeyError::KeyDoesNotExist) => {
                Ok(None)
            }
            Err(e) => Err(err("read")(e)),
        }
    }

    /// Writes `bytes` under `description`, dropped by the kernel after
    /// `lifetime` seconds (`None`: never).
    pub fn write_named(
        &self,
        description: &str,
        bytes: &[u8],
        lifetime: Option<i64>,
    ) -> Result<(), CacheError> {
        // add_key replaces the payload of an existing key of the same
        // description atomically.
        let k = self
            .ring
            .add_key(description, bytes)
            .map_err(err("write"))?;
        // Only this user may use the key, whether or not it "possesses" the
        // user keyring through its session keyring.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        k.set_perms(perms).map_err(err("set permissions"))?;
        // Let the kernel drop the key once it is of no use.
        if let Some(left) = lifetime {
            k.set_timeout(left.max(1) as usize)
                .map_err(err("set timeout"))?;
        }
        Ok(())
    }

    pub fn remove_named(&self, description: &str) -> Result<bool, CacheError> {
        let Some(k) = self.find_named(description)? else {
            return Ok(false);
        };
        match k.invalidate() {
            Ok(()) => Ok(true),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(false)
            }
            Err(e) => Err(err("delete")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cluster_identity::ClusterIdentity;
    use crate::secret::Token;

    /// Runs against the real kernel key service (skips with a message where
    /// keyctl is blocked, e.g. by a container seccomp profile).
    #[test]
    fn round_trip_in_the_kernel() {
        let store = match KeyutilsStore::new() {
            Ok(s) => s,
            // CI must exercise the kernel; elsewhere (a container that blocks
            // keyctl) say why the test did nothing.
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("kernel keyring unavailable here, test not run: {e}");
                return;
            }
            Err(e) => panic!("kernel keyring unavailable in CI: {e}"),
        };
        let key = CacheKey::parse(&format!("{:032x}", std::process::id() as u128 * 7919)).unwrap();
        let entry = Entry {
            credential: crate::credential::Credential::Token(Token::new("not-a-jwt")),
            cluster: ClusterIdentity::new("https://127.0.0.1:1", None, None, false).unwrap(),
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
        store.save(&key, &entry).unwrap();
        assert_eq!(
            store.load(&key).unwrap().unwrap().credential.expose_token(),
            "not-a-jwt"
        );
        assert!(store.remove(&key).unwrap());
        assert!(store.load(&key).unwrap().is_none());
    }
}
