//! Token cache: the [`Cache`] facade ([`facade`]) keeps a store ([`Store`]:
//! OS keyring, kernel keyring or file), the non-secret index of entries and
//! the per-entry locks in step, so callers never update one without the
//! other. This file only names the parts; each lives in its own file.

pub mod backoff;
mod blob_parts;
mod error;
mod facade;
mod factory;
mod file;
pub mod index;
mod item_label;
mod key;
mod key_quota;
mod keyring;
mod keyring_error;
// The one platform gate of the OS keyring's items: how the platform's store
// names, labels, splits and finds them.
#[cfg(all(unix, not(target_os = "macos")))]
#[path = "keyring_secret_service.rs"]
mod keyring_items;
#[cfg(windows)]
#[path = "keyring_windows.rs"]
mod keyring_items;
#[cfg(target_os = "macos")]
#[path = "keyring_macos.rs"]
mod keyring_items;
pub use item_label::label_for as item_label_for;
// The one platform gate of the stores: the kernel key service, or off Linux
// a stand-in that never opens.
#[cfg(target_os = "linux")]
mod keyutils;
#[cfg(not(target_os = "linux"))]
#[path = "keyutils_off.rs"]
mod keyutils;
// Compiled and tested here too, so that the stand-in stays in step.
#[cfg(all(test, target_os = "linux"))]
#[allow(dead_code)]
#[path = "keyutils_off.rs"]
mod keyutils_off;
mod lock;
mod login_store;
mod paths;
pub mod refresh;
mod runtime_dir;
mod served;
mod state;
mod store;
mod tier;

pub use error::CacheError;
pub use facade::{Cache, in_kernel, kernel_tier_available, list, record, remove_untracked_files};
pub use factory::auto_without_bus;
pub use index::{BROKER_PREFIX, Record};
pub use key::CacheKey;
/// This user's kernel key quota and its use (Linux), for `doctor`.
pub use keyutils::quota as key_quota;
pub use lock::{FileLock, LockError};
pub use login_store::LoginStore;
pub use paths::dir_label;
pub use runtime_dir::runtime_dir;
pub use served::Served;
pub use store::{Entry, Store, StoreKind};
pub use tier::Durable;

#[cfg(test)]
pub(crate) use index::parse as parse_index;
#[cfg(test)]
pub(crate) use store::decode as decode_entry;
