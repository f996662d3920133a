//! The OS keyring with a kernel-keyring copy in front (the default store on
//! Linux). A hit over D-Bus costs a Secret Service session (≈13 ms on the CI
//! machine); the same entry read from the kernel costs what a `--cache
//! keyutils` hit costs. So:
//!
//! - reads try the kernel copy first, a `user` key `kube-sa-token-tier:<key>`
//!   in the user keyring (possessor and user permissions only), and only on
//!   a miss resolve the durable store (`auto` probes the keyring then) and
//!   read it, filling the kernel copy;
//! - writes and removals go to both; the durable store is the one that
//!   survives a reboot;
//! - the kernel drops a copy at the end of its serve window (the token's
//!   `exp` minus the margin, or a legacy token's revalidation interval), so
//!   a stale copy never outlives the moment `get` would stop serving it;
//! - where keyctl is blocked (containers), the keyring is used alone.
//!
//! The trade-off (docs/security.md): a locked keyring no longer stops an entry
//! already copied into the kernel until that timeout.

use std::cell::OnceCell;

use super::error::CacheError;
use super::key::CacheKey;
use super::keyutils::KeyutilsStore;
use super::store::{Entry, Store, StoreKind};
use crate::options::DEFAULT_REVALIDATE;

/// Key descriptions of the kernel tier.
pub const TIER_PREFIX: &str = "kube-sa-token-tier";

/// Seconds until `entry` stops being served: the kernel copy's lifetime.
fn serve_window(entry: &Entry) -> Option<i64> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let left = match entry.validity() {
        Some((exp, lifetime)) => exp
            .saturating_sub(entry.clock_offset)
            .saturating_sub(crate::jwt::margin_for_lifetime(lifetime))
            .saturating_sub(now),
        // A legacy token: served until its next revalidation, by the
        // interval its entry was written with.
        None => entry
            .checked_at
            .saturating_add(
                entry
                    .revalidate_secs
                    .unwrap_or(DEFAULT_REVALIDATE.as_secs())
                    .min(i64::MAX as u64) as i64,
            )
            .saturating_sub(now),
    };
    Some(left.max(1))
}

fn kernel() -> Option<KeyutilsStore> {
    KeyutilsStore::with(TIER_PREFIX, serve_window).ok()
}

/// Is there a kernel copy of `key`?
pub fn in_kernel(key: &CacheKey) -> bool {
    kernel().is_some_and(|k| k.holds(key))
}

/// Whether the kernel tier can be used here (keyctl not blocked).
pub fn available() -> bool {
    kernel().is_some()
}

/// Drops the kernel copy of `key`, whichever store the entry is in.
pub fn forget(key: &CacheKey) -> bool {
    kernel().is_some_and(|k| k.remove(key).unwrap_or(false))
}

/// Resolves the durable store behind a kernel copy, on its first miss.
pub type Durable = fn() -> Result<Box<dyn Store>, CacheError>;

/// A durable store behind a kernel copy.
pub struct Tiered {
    /// The kernel copy (`None` where keyctl is blocked, and off Linux).
    fast: Option<KeyutilsStore>,
    /// Resolves the durable store, on the first miss.
    resolve: Durable,
    durable: OnceCell<Box<dyn Store>>,
}

impl Tiered {
    pub fn new(resolve: Durable) -> Tiered {
        Tiered {
            fast: kernel(),
            resolve,
            durable: OnceCell::new(),
        }
    }

    #[cfg(target_os = "linux")]
    /// A tier in front of a store already opened.
    #[cfg(test)]
    fn resolved(durable: Box<dyn Store>) -> Tiered {
        let t = Tiered::new(|| unreachable!("resolved already"));
        let _ = t.durable.set(durable);
        t
    }

    fn durable(&self) -> Result<&dyn Store, CacheError> {
        if let Some(s) = self.durable.get() {
            return Ok(s.as_ref());
        }
        let s = (self.resolve)()?;
        Ok(self.durable.get_or_init(|| s).as_ref())
    }

    /// Writes the kernel copy; a failure (a full key quota) only costs speed,
    /// and is said once per mint (`loud`), not on every hit.
    fn copy(&self, key: &CacheKey, entry: &Entry, loud: bool) {
        if let Some(f) = &self.fast
            && let Err(e) = f.save(key, entry)
        {
            // Said aloud only where it costs: hits then go to the OS
            // keyring over D-Bus. Memory-backed files are read about as
            // fast as the kernel copy.
            let durable = self.durable.get().map(|d| d.kind());
            if loud && matches!(e, CacheError::KeyQuota(_)) && durable == Some(StoreKind::Keyring) {
                tracing::warn!(
                    "no kernel-keyring copy of the new credential, so each kubectl call reads the OS keyring (slower): {e}"
                );
            } else {
                tracing::debug!("no kernel copy of the entry: {e}");
            }
        }
    }
}

impl Store for Tiered {
    /// The durable store's kind (resolved by then: called after a save).
    fn kind(&self) -> StoreKind {
        self.durable.get().map_or(StoreKind::Keyring, |s| s.kind())
    }

    /// The durable store's entries (kernel copies are of those).
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        self.durable()?.keys()
    }

    fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        if let Some(f) = &self.fast {
            match f.load(key) {
                Ok(Some(e)) => {
                    tracing::info!("store: the kernel keyring's copy (@u) of the entry");
                    return Ok(Some(e));
                }
                Ok(None) => {}
                Err(e) => tracing::debug!("kernel tier unreadable, reading the keyring: {e}"),
            }
        }
        let found = self.durable()?.load(key)?;
        if let Some(e) = &found {
            self.copy(key, e, false);
        }
        Ok(found)
    }

    fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        self.durable()?.save(key, entry)?;
        self.copy(key, entry, true);
        Ok(())
    }

    /// `Ok(true)` when either copy was there.
    fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let fast = self
            .fast
            .as_ref()
            .is_some_and(|f| f.remove(key).unwrap_or(false));
        Ok(self.durable()?.remove(key)? | fast)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use super::*;
    use crate::cluster_identity::ClusterIdentity;
    use crate::secret::Token;

    /// An OS keyring stand-in that counts reads and can be locked.
    #[derive(Default)]
    struct Durable {
        entries: RefCell<HashMap<CacheKey, Entry>>,
        reads: Cell<usize>,
        locked: Cell<bool>,
    }

    struct Shared(Rc<Durable>);

    impl Store for Shared {
        fn kind(&self) -> StoreKind {
            StoreKind::Keyring
        }
        fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
            self.0.reads.set(self.0.reads.get() + 1);
            if self.0.locked.get() {
                return Err(CacheError::Keyring {
                    op: "read",
                    detail: "locked".into(),
                });
            }
            Ok(self.0.entries.borrow().get(key).cloned())
        }
        fn save(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
            self.0
                .entries
                .borrow_mut()
                .insert(key.clone(), entry.clone());
            Ok(())
        }
        fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
            Ok(self.0.entries.borrow_mut().remove(key).is_some())
        }
        fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
            Ok(self.0.entries.borrow().keys().cloned().collect())
        }
    }

    fn entry() -> Entry {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        Entry {
            credential: crate::credential::Credential::Token(crate::testing::bound(
                "team",
                "viewer",
                &[],
                now,
                now + 3600,
            )),
            cluster: ClusterIdentity::new("https://127.0.0.1:1", None, None, false).unwrap(),
            clock_offset: 0,
            namespace: "team".into(),
            service_account: "viewer".into(),
            user: None,
            groups: vec![],
            minted_at: now,
            checked_at: now,
            secret: None,
            asked_secs: None,
            revalidate_secs: None,
            cache_dir: None,
            lease: None,
        }
    }

    /// Issue 17, finding 22: a legacy token's kernel copy lives until its
    /// next revalidation by the entry's own interval, not the default's.
    #[test]
    fn a_legacy_copy_lives_the_entry_revalidation_interval() {
        let mut legacy = entry();
        legacy.credential =
            crate::credential::Credential::Token(crate::testing::legacy("team", "viewer"));
        legacy.revalidate_secs = Some(60);
        let left = serve_window(&legacy).unwrap();
        assert!((55..=60).contains(&left), "{left}");
        legacy.revalidate_secs = None;
        let left = serve_window(&legacy).unwrap();
        assert!(
            left > 60 && left <= DEFAULT_REVALIDATE.as_secs() as i64,
            "{left}"
        );
        // A bound token: its serve window, whatever the interval.
        let mut bound = entry();
        bound.revalidate_secs = Some(60);
        assert!(serve_window(&bound).unwrap() > 2000);
    }

    /// Against the real kernel key service (skipped with a message where
    /// keyctl is blocked; CI must run it).
    #[test]
    fn hits_come_from_the_kernel_copy_and_writes_reach_both() {
        if !available() {
            assert!(
                std::env::var_os("CI").is_none(),
                "kernel keyring unavailable in CI"
            );
            eprintln!("kernel keyring unavailable here, test not run");
            return;
        }
        let durable = Rc::new(Durable::default());
        let tier = Tiered::resolved(Box::new(Shared(durable.clone())));
        let key =
            CacheKey::parse(&format!("{:032x}", std::process::id() as u128 * 104_729)).unwrap();
        forget(&key);
        let e = entry();

        // A miss in the kernel reads the keyring once and fills the copy.
        durable.entries.borrow_mut().insert(key.clone(), e.clone());
        assert!(tier.load(&key).unwrap().is_some());
        assert_eq!(durable.reads.get(), 1);
        assert!(in_kernel(&key));
        // Hits after that never reach the keyring, locked or not.
        durable.locked.set(true);
        for _ in 0..3 {
            assert_eq!(
                tier.load(&key).unwrap().unwrap().credential.expose_token(),
                e.credential.expose_token()
            );
        }
        assert_eq!(durable.reads.get(), 1);
        durable.locked.set(false);

        // Writes reach both; removal clears both.
        let newer = Entry {
            credential: crate::credential::Credential::Token(Token::new("not-a-jwt-but-stored")),
            ..e
        };
        tier.save(&key, &newer).unwrap();
        assert_eq!(
            durable.entries.borrow()[&key].credential.expose_token(),
            "not-a-jwt-but-stored"
        );
        assert_eq!(
            tier.load(&key).unwrap().unwrap().credential.expose_token(),
            "not-a-jwt-but-stored"
        );
        assert!(tier.remove(&key).unwrap());
        assert!(!in_kernel(&key));
        assert!(durable.entries.borrow().is_empty());
        assert!(tier.load(&key).unwrap().is_none());
    }

    #[test]
    fn without_keyctl_the_keyring_is_used_alone() {
        let durable = Rc::new(Durable::default());
        // What Tiered::new builds where keyctl is blocked.
        let tier = Tiered {
            fast: None,
            resolve: || unreachable!(),
            durable: OnceCell::new(),
        };
        let _ = tier.durable.set(Box::new(Shared(durable.clone())));
        let key = CacheKey::parse(&"7".repeat(32)).unwrap();
        tier.save(&key, &entry()).unwrap();
        assert!(tier.load(&key).unwrap().is_some());
        assert!(tier.load(&key).unwrap().is_some());
        assert_eq!(durable.reads.get(), 2, "every read goes to the keyring");
        assert!(tier.remove(&key).unwrap());
        assert!(durable.entries.borrow().is_empty());
    }
}
