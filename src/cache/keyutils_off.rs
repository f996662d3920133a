//! `--cache keyutils` where there is no kernel key service (off Linux): a
//! stand-in with the kernel store's surface that never opens, so that the
//! tier, the factory and the listing need no `cfg` of their own. The one
//! platform gate is the module declaration in `cache/mod.rs`.

use super::error::CacheError;
use super::key::CacheKey;
use super::key_quota::KeyQuota;
use super::store::{Entry, Store, StoreKind};

/// No value: a stand-in store is never made.
enum Never {}

pub struct KeyutilsStore(Never);

impl KeyutilsStore {
    pub fn new() -> Result<KeyutilsStore, CacheError> {
        Err(CacheError::Unsupported("keyutils"))
    }

    pub fn with(
        _prefix: &'static str,
        _lifetime: fn(&Entry) -> Option<i64>,
    ) -> Result<KeyutilsStore, CacheError> {
        KeyutilsStore::new()
    }

    pub fn holds(&self, _: &CacheKey) -> bool {
        match self.0 {}
    }

    pub fn read_named(&self, _: &str) -> Result<Option<Vec<u8>>, CacheError> {
        match self.0 {}
    }

    pub fn write_named(&self, _: &str, _: &[u8], _: Option<i64>) -> Result<(), CacheError> {
        match self.0 {}
    }

    pub fn remove_named(&self, _: &str) -> Result<bool, CacheError> {
        match self.0 {}
    }
}

impl Store for KeyutilsStore {
    fn kind(&self) -> StoreKind {
        match self.0 {}
    }
    fn keys(&self) -> Result<Vec<CacheKey>, CacheError> {
        match self.0 {}
    }
    fn load(&self, _: &CacheKey) -> Result<Option<Entry>, CacheError> {
        match self.0 {}
    }
    fn save(&self, _: &CacheKey, _: &Entry) -> Result<(), CacheError> {
        match self.0 {}
    }
    fn remove(&self, _: &CacheKey) -> Result<bool, CacheError> {
        match self.0 {}
    }
}

/// No kernel key quota here.
pub fn quota() -> Option<KeyQuota> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_opens_and_says_why() {
        for opened in [KeyutilsStore::new(), KeyutilsStore::with("x", |_| None)] {
            assert!(matches!(opened, Err(CacheError::Unsupported("keyutils"))));
        }
        assert_eq!(quota(), None);
    }
}
