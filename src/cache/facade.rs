//! The [`Cache`] facade: keeps a store ([`Store`]: OS keyring, kernel
//! keyring or file), the non-secret index of entries and the per-entry locks
//! in step, so callers never update one without the other; and the
//! cache-wide queries of `cache list`, `cache clear` and `doctor`.

use std::time::Duration;

use super::error::CacheError;
use super::factory::{self, AutoChoice};
use super::index::{Index, Record};
use super::key::{CacheKey, KeyParts};
use super::lock::{FileLock, LockError};
use super::paths::{self, dir_label};
use super::served::{self, Served};
use super::store::{Entry, Store, StoreKind};
use super::tier::Durable;
use super::{backoff, refresh, tier};
use crate::credential::Credential;
use crate::options::CacheChoice;

/// The cache of one store (or of none, for `--cache none`).
pub struct Cache {
    store: Option<Box<dyn Store>>,
}

fn resolve_auto() -> Result<Box<dyn Store>, CacheError> {
    let (store, why) = factory::auto()?;
    tracing::info!("store: {} (--cache auto: {})", why.kind, why.why);
    Ok(store)
}

fn open_keyring() -> Result<Box<dyn Store>, CacheError> {
    factory::open(StoreKind::Keyring)
}

impl Cache {
    /// Opens the store `--cache` names. `auto` and `keyring` put a kernel
    /// copy in front of the store they resolve to ([`tier`]), which is only
    /// resolved (and `auto` only probed) when the kernel copy misses.
    pub fn open(choice: CacheChoice) -> Result<Cache, CacheError> {
        let durable = match choice {
            CacheChoice::Auto => resolve_auto,
            _ => open_keyring,
        };
        let cache = Cache::open_with(choice, durable)?;
        if let Some(store) = cache
            .store
            .as_ref()
            .filter(|_| !matches!(choice, CacheChoice::Auto))
        {
            tracing::info!("store: {}, as --cache says", store.kind());
        }
        Ok(cache)
    }

    /// The cache `--cache` names, with `durable` resolving the store behind
    /// the kernel copy of `auto` and `keyring`. The front binary's hits
    /// ([`crate::front`]) pass one that hands the call to the full program:
    /// no D-Bus, Keychain or Credential Manager code is reached from here.
    pub fn open_with(choice: CacheChoice, durable: Durable) -> Result<Cache, CacheError> {
        let store: Box<dyn Store> = match choice {
            CacheChoice::None => return Ok(Cache { store: None }),
            CacheChoice::Auto | CacheChoice::Keyring => Box::new(tier::Tiered::new(durable)),
            CacheChoice::Keyutils => factory::open_local(StoreKind::Keyutils)?,
            CacheChoice::File => factory::open_local(StoreKind::File)?,
            CacheChoice::Tmpfs => factory::open_local(StoreKind::Tmpfs)?,
        };
        Ok(Cache { store: Some(store) })
    }

    /// Opens the store an index record names.
    pub fn of_kind(kind: StoreKind) -> Result<Cache, CacheError> {
        match kind {
            StoreKind::Keyring => Cache::open(CacheChoice::Keyring),
            other => Ok(Cache {
                store: Some(factory::open(other)?),
            }),
        }
    }

    /// Resolves `--cache auto` and says why, for `doctor`.
    pub fn auto() -> Result<(Cache, AutoChoice), CacheError> {
        let why = factory::auto()?.1;
        Ok((Cache::open(CacheChoice::Auto)?, why))
    }

    /// Whether this cache keeps anything (not `--cache none`).
    pub fn keeps(&self) -> bool {
        self.store.is_some()
    }

    /// The store behind this cache; `None` for `--cache none`. Resolves
    /// `auto`: not for the path of a cache hit.
    pub fn kind(&self) -> Option<StoreKind> {
        let s = self.store.as_ref()?;
        // A tiered store knows its kind once its durable store is resolved;
        // a round trip through its self test does that.
        Some(s.kind())
    }

    /// The entry for `key`, if any.
    pub fn load(&self, key: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match &self.store {
            Some(s) => s.load(key),
            None => Ok(None),
        }
    }

    /// Stores a new entry and its index record (made by `record` from the
    /// kind of the store that took it). A failed index write only loses
    /// listing metadata: it is logged, the entry stays.
    pub fn put(
        &self,
        key: &CacheKey,
        entry: &Entry,
        record: &dyn Fn(StoreKind) -> Record,
    ) -> Result<(), CacheError> {
        let Some(s) = &self.store else { return Ok(()) };
        s.save(key, entry)?;
        if let Err(e) = Index::open().and_then(|i| i.put(key, record(s.kind()))) {
            tracing::warn!("token cached, but the entry index could not be updated: {e}");
        }
        Ok(())
    }

    /// Replaces an entry whose index record stays the same (a revalidation).
    pub fn update(&self, key: &CacheKey, entry: &Entry) -> Result<(), CacheError> {
        match &self.store {
            Some(s) => s.save(key, entry),
            None => Ok(()),
        }
    }

    /// Removes the entry from the store, from every other store its record
    /// names (copies another `--cache` left under the same key), and from
    /// the index; `Ok(false)` when no store had it. A store that cannot be
    /// reached fails the call with the record kept, so it can be retried.
    pub fn remove(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let Some(s) = &self.store else {
            return Ok(false);
        };
        let mut removed = s.remove(key)?;
        if let Some(r) = Index::open()?.get(key)? {
            let mine = s.kind();
            for kind in r.stores().filter(|k| *k != mine) {
                removed |= factory::open(kind)?.remove(key)?;
            }
        }
        // The kernel copy, whichever store the entry is in.
        removed |= tier::forget(key);
        Index::open()?.remove(key)?;
        served::forget(Some(key));
        refresh::forget(Some(key));
        backoff::forget(Some(key));
        Ok(removed)
    }

    /// How many entries of ours the store itself holds (not the index),
    /// for `doctor`.
    pub fn item_count(&self) -> Result<usize, CacheError> {
        match &self.store {
            Some(s) => Ok(s.keys()?.len()),
            None => Ok(0),
        }
    }

    /// Who was last served the entry `key` (see [`served`]).
    pub fn last_served(&self, key: &CacheKey) -> Option<Served> {
        self.store.as_ref().and_then(|_| served::load(key))
    }

    /// Records a serve of `key`; a failure only costs a missed 401 check.
    pub fn record_served(&self, key: &CacheKey, s: &Served) {
        if self.store.is_some()
            && let Err(e) = served::store(key, s)
        {
            tracing::debug!("could not record who was served: {e}");
        }
    }

    /// The entry's lock if it is free now; `None` while another process
    /// holds it (is minting).
    pub fn try_lock(key: &CacheKey) -> Result<Option<FileLock>, CacheError> {
        match Cache::lock(key, Duration::ZERO) {
            Ok(l) => Ok(Some(l)),
            Err(CacheError::Lock(LockError::Timeout { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes the entry's lock (single flight), waiting at most `wait`, to
    /// mint and keep a credential: refused when the entry was cleared
    /// (`logout`, `cache clear`) after this process started.
    pub fn lock(key: &CacheKey, wait: Duration) -> Result<FileLock, CacheError> {
        let lock = Cache::raw_lock(key, wait)?;
        if lock
            .cleared_at()
            .is_some_and(|at| at >= crate::clock::process_started())
        {
            return Err(CacheError::ClearedMeanwhile);
        }
        Ok(lock)
    }

    /// Takes the entry's lock to clear it, waiting at most `wait` for a mint
    /// in flight (which then finishes, and its credential is removed with
    /// the rest), and records the clear in it: processes that started
    /// before it never mint or keep this entry afterwards.
    pub fn lock_to_clear(key: &CacheKey, wait: Duration) -> Result<FileLock, CacheError> {
        let lock = Cache::raw_lock(key, wait)?;
        let path = super::state::locks_dir()?.join(format!("{key}.lock"));
        lock.mark_cleared(crate::clock::unix_nanos())
            .map_err(paths::io_err(&path))?;
        Ok(lock)
    }

    fn raw_lock(key: &CacheKey, wait: Duration) -> Result<FileLock, CacheError> {
        let locks = super::state::locks_dir()?;
        Ok(FileLock::acquire(&locks.join(format!("{key}.lock")), wait)?)
    }

    /// Writes, reads back and deletes a probe entry, for `doctor`. `Ok(false)`
    /// when the store returned something else than was written.
    pub fn self_test(&self) -> Result<bool, CacheError> {
        let Some(s) = &self.store else {
            return Ok(true);
        };
        let key = CacheKey::new(&KeyParts {
            server: "doctor",
            ca: None,
            tls_server_name: None,
            insecure: false,
            kubeconfig: "doctor",
            admin_context: "doctor",
            namespace: "doctor",
            name: &std::process::id().to_string(),
            groups: None,
            source: "doctor",
            audiences: &[],
            bind_secret: false,
        });
        // As large as a real entry: a tiny probe fits where real ones do not
        // (a nearly full kernel key quota).
        let filler = "x".repeat(PROBE_TOKEN_BYTES);
        let probe = Entry::stand_in(
            Credential::Token(crate::secret::Token::new(format!("doctor-probe{filler}"))),
            "doctor",
            "doctor",
        );
        s.save(&key, &probe)?;
        let same = s.load(&key)?.is_some_and(|e| {
            e.credential.token().is_some_and(|t| {
                t.expose().starts_with("doctor-probe") && t.expose().len() == 12 + PROBE_TOKEN_BYTES
            })
        });
        s.remove(&key)?;
        Ok(same)
    }
}

/// Every entry: the index's, and those the stores hold that the index does
/// not know (it was lost or damaged), for `cache list` and `cache clear`.
/// A store that cannot be asked (no Secret Service, keyctl blocked) is
/// skipped: it holds nothing reachable.
pub fn list() -> Result<Vec<(CacheKey, Record)>, CacheError> {
    let mut entries = Index::open()?.list()?;
    let mut known: std::collections::HashSet<CacheKey> =
        entries.iter().map(|(k, _)| k.clone()).collect();
    let here = dir_label();
    // A store that cannot be opened here (keyutils off Linux) is skipped.
    for kind in [
        StoreKind::File,
        StoreKind::Tmpfs,
        StoreKind::Keyutils,
        StoreKind::Keyring,
    ] {
        let store = match factory::open(kind) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!("not looking in the {kind} store: {e}");
                continue;
            }
        };
        let keys = match store.keys() {
            Ok(k) => k,
            Err(e) => {
                tracing::debug!("cannot list the {kind} store: {e}");
                continue;
            }
        };
        for key in keys {
            if known.contains(&key) {
                // A copy under the same key in another store (another
                // `--cache`): removed with the entry.
                if let Some((_, r)) = entries.iter_mut().find(|(k, _)| *k == key)
                    && !r.stores().any(|s| s == kind)
                {
                    r.also_in.push(kind);
                }
                continue;
            }
            let record = match store.load(&key) {
                // Written through another cache directory (another HOME of
                // the same user): that cache's entry, not this one's.
                Ok(Some(entry)) if entry.cache_dir.is_some() && entry.cache_dir != here => {
                    continue;
                }
                Ok(Some(entry)) => Record::recovered(&entry, kind),
                Ok(None) => continue,
                // Damaged, yet ours: listed so that it can be cleared (the
                // per-user stores' could be another cache's: left to `get`,
                // which replaces a damaged entry).
                Err(_) if kind == StoreKind::File => Record::recovered(&damaged_entry(), kind),
                Err(_) => continue,
            };
            known.insert(key.clone());
            entries.push((key, record));
        }
    }
    Ok(entries)
}

/// What a damaged entry is listed as.
fn damaged_entry() -> Entry {
    Entry::stand_in(
        Credential::Token(crate::secret::Token::new(String::new())),
        "(damaged entry)",
        "?",
    )
}

/// Whether the kernel tier holds a copy of `key` (for `cache list`).
pub fn in_kernel(key: &CacheKey) -> bool {
    tier::in_kernel(key)
}

/// The size of the probe's token: a bound token of a real cluster.
const PROBE_TOKEN_BYTES: usize = 1_000;

/// Whether the kernel tier can be used here (keyctl not blocked), for `doctor`.
pub fn kernel_tier_available() -> bool {
    tier::available()
}

/// The index record of one entry.
pub fn record(key: &CacheKey) -> Result<Option<Record>, CacheError> {
    Index::open()?.get(key)
}

/// Removes the file store's files the index lost track of, and every serve
/// record (`cache clear --all`).
pub fn remove_untracked_files() -> Result<(), CacheError> {
    served::forget(None);
    refresh::forget(None);
    backoff::forget(None);
    let dir = paths::tokens_dir(&paths::cache_dir()?);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}
