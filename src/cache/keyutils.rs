//! `--cache keyutils`: the Linux kernel key service. Entries are `user` keys
//! named `kube-sa-token:<key>` in the user keyring (`@u`), so they outlive the
//! process that wrote them and every later kubectl call of the same user finds
//! them; they never touch the disk. A key expires with its token (kernel timeout).

use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

use super::error::CacheError;
use super::key::CacheKey;
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

/// This user's kernel key quota and its use, from `/proc/key-users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyQuota {
    pub keys: u64,
    pub max_keys: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// What one entry of ours costs the quota, about: a bound token's entry is
/// 1,150-1,450 bytes (its token is about 70% of it), a user's certificate
/// and key about 1,900.
pub const ENTRY_BYTES: u64 = 1_450;

impl KeyQuota {
    /// How many more entries of [`ENTRY_BYTES`] fit.
    pub fn room(&self) -> u64 {
        let bytes = self.max_bytes.saturating_sub(self.bytes) / ENTRY_BYTES;
        bytes.min(self.max_keys.saturating_sub(self.keys))
    }

    pub fn describe(&self) -> String {
        format!(
            "{} of {} bytes and {} of {} keys used (/proc/key-users), room for about {} more entries",
            self.bytes,
            self.max_bytes,
            self.keys,
            self.max_keys,
            self.room()
        )
    }
}

/// The effective user's line of `/proc/key-users`, if the kernel has one.
pub fn quota() -> Option<KeyQuota> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    parse_key_users(&std::fs::read_to_string("/proc/key-users").ok()?, uid)
}

/// `  UID:  USAGE NKEYS/NIKEYS QNKEYS/MAXKEYS QNBYTES/MAXBYTES` per line.
fn parse_key_users(text: &str, uid: u32) -> Option<KeyQuota> {
    text.lines().find_map(|line| {
        let (who, rest) = line.split_once(':')?;
        if who.trim().parse::<u32>().ok()? != uid {
            return None;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let pair = |f: &str| -> Option<(u64, u64)> {
            let (a, b) = f.split_once('/')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let (keys, max_keys) = pair(fields.get(2)?)?;
        let (bytes, max_bytes) = pair(fields.get(3)?)?;
        Some(KeyQuota {
            keys,
            max_keys,
            bytes,
            max_bytes,
        })
    })
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
        match self.ring.search(&self.description(key)) {
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
        let Some(k) = self.find(key)? else {
            return Ok(None);
        };
        match k.read_to_vec() {
            Ok(bytes) => decode(&bytes).map(Some),
            Err(KeyError::KeyExpired | KeyError::KeyRevoked | KeyError::KeyDoesNotExist) => {
                Ok(None)
            }
            Err(e) => Err(err("read")(e)),
        }
    }

    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        // add_key replaces the payload of an existing key of the same
        // description atomically.
        let k = self
            .ring
            .add_key(&self.description(key), encode(entry).as_bytes())
            .map_err(err("write"))?;
        // Only this user may use the key, whether or not it "possesses" the
        // user keyring through its session keyring.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        k.set_perms(perms).map_err(err("set permissions"))?;
        // Let the kernel drop the key once it is of no use.
        if let Some(left) = (self.lifetime)(entry) {
            k.set_timeout(left.max(1) as usize)
                .map_err(err("set timeout"))?;
        }
        Ok(())
    }

    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let Some(k) = self.find(key)? else {
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

    #[test]
    fn reads_the_quota_of_one_user() {
        let text =
            "    0:    11 10/10 5/1000000 2591/25000000\n 1000:     3 2/2 17/200 19871/20000\n";
        assert_eq!(
            parse_key_users(text, 1000),
            Some(KeyQuota {
                keys: 17,
                max_keys: 200,
                bytes: 19_871,
                max_bytes: 20_000
            })
        );
        let q = parse_key_users(text, 1000).unwrap();
        assert_eq!(q.room(), 0);
        assert!(
            q.describe().contains("19871 of 20000 bytes"),
            "{}",
            q.describe()
        );
        assert_eq!(parse_key_users(text, 0).unwrap().room(), 17_239);
        assert_eq!(parse_key_users(text, 5), None);
        assert_eq!(parse_key_users("garbage\n7: x y", 7), None);
    }
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
