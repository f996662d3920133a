//! The store factory: which backend a `--cache` choice (or an index
//! record) opens, and how `--cache auto` decides. Beside the backends, so
//! that `store.rs` (the trait and the entry format they all use) imports
//! none of them.

use super::error::CacheError;
use super::file::FileStore;
use super::keyring::KeyringStore;
use super::keyring_error::NO_BUS;
use super::keyutils::KeyutilsStore;
use super::paths;
use super::runtime_dir::runtime_dir;
use super::store::{Store, StoreKind};

/// Opens the store of a concrete kind.
pub fn open(kind: StoreKind) -> Result<Box<dyn Store>, CacheError> {
    match kind {
        StoreKind::Keyring => Ok(Box::new(KeyringStore::new()?)),
        local => open_local(local),
    }
}

/// Opens a store of this machine's own: not the OS keyring, whose code
/// the front binary ([`crate::front`]) must not reach.
pub fn open_local(kind: StoreKind) -> Result<Box<dyn Store>, CacheError> {
    Ok(match kind {
        StoreKind::Keyring => unreachable!("the OS keyring is not a local store"),
        StoreKind::Keyutils => Box::new(KeyutilsStore::new()?),
        StoreKind::File => Box::new(FileStore::new(paths::cache_dir()?)),
        StoreKind::Tmpfs => Box::new(FileStore::in_memory(super::state::state_dir()?)),
    })
}

/// How `--cache auto` decided, for `doctor` and `-v`.
#[derive(Debug)]
pub struct AutoChoice {
    pub kind: StoreKind,
    pub why: String,
}

/// Resolves `--cache auto`: the OS keyring when a Secret Service/Keychain
/// answers, else memory-backed files (a tmpfs of the user's), else the
/// kernel keyring alone, else an error naming the choices.
/// Never the file store: plaintext on disk is only ever an explicit choice.
pub fn auto() -> Result<(Box<dyn Store>, AutoChoice), CacheError> {
    if !session_bus_possible() {
        return without_keyring(NO_BUS.into());
    }
    let keyring_problem = match KeyringStore::new().and_then(|s| s.probe().map(|()| s)) {
        Ok(s) => {
            return Ok((
                Box::new(s),
                AutoChoice {
                    kind: StoreKind::Keyring,
                    why: "the OS keyring answered".into(),
                },
            ));
        }
        // The reason itself, not the store's "OS keyring open failed".
        Err(CacheError::Keyring { detail, .. }) => detail,
        Err(e) => e.to_string(),
    };
    without_keyring(keyring_problem)
}

/// Whether a session bus, and so a Secret Service, could answer here: the
/// address D-Bus clients use (zbus's: `DBUS_SESSION_BUS_ADDRESS`, else the
/// socket `$XDG_RUNTIME_DIR/bus`, else `/run/user/UID/bus`) names
/// something. Elsewhere the OS keyring is always there to ask.
#[cfg(target_os = "linux")]
fn session_bus_possible() -> bool {
    if let Some(address) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
        return !address.is_empty();
    }
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map_or_else(
        // SAFETY: geteuid cannot fail.
        || std::path::PathBuf::from(format!("/run/user/{}", unsafe { libc::geteuid() })),
        std::path::PathBuf::from,
    );
    runtime.join("bus").exists()
}

#[cfg(not(target_os = "linux"))]
fn session_bus_possible() -> bool {
    true
}

/// What `--cache auto` picks where no session bus can answer (so never
/// the OS keyring): the front binary's hits read that store themselves.
/// `None` where a Secret Service might answer: only the full program asks.
pub fn auto_without_bus() -> Option<Result<Box<dyn Store>, CacheError>> {
    (!session_bus_possible()).then(|| without_keyring(NO_BUS.into()).map(|(store, _)| store))
}

/// `--cache auto` once the OS keyring did not answer (`keyring_problem`).
fn without_keyring(keyring_problem: String) -> Result<(Box<dyn Store>, AutoChoice), CacheError> {
    // Memory-backed files: room for hundreds of entries, never on a disk;
    // the kernel keyring keeps a copy in front where it has room (see
    // `tier`), which an ordinary user's quota gives about 16 entries.
    let runtime_problem = match runtime_dir() {
        Ok(r) => {
            let copy = if super::tier::available() {
                "with a kernel-keyring copy in front of each entry where the key quota has room"
            } else {
                "the kernel keyring is not available here (keyctl blocked?)"
            };
            return Ok((
                Box::new(FileStore::in_memory(super::state::state_dir()?)),
                AutoChoice {
                    kind: StoreKind::Tmpfs,
                    why: format!(
                        "OS keyring unavailable: {}; using memory-backed files in {} ({}; gone at reboot), {copy}",
                        short(&keyring_problem),
                        r.dir.display(),
                        r.why
                    ),
                },
            ));
        }
        Err(CacheError::NoRuntimeDir(why)) => why,
        Err(e) => short(&e.to_string()),
    };
    match KeyutilsStore::new() {
        Ok(s) => Ok((
            Box::new(s),
            AutoChoice {
                kind: StoreKind::Keyutils,
                why: format!(
                    "OS keyring unavailable: {}; no memory-backed directory either ({}); using the kernel keyring alone (its key quota bounds the entries)",
                    short(&keyring_problem),
                    runtime_problem
                ),
            },
        )),
        Err(e) => Err(CacheError::NoneAvailable(format!(
            "OS keyring: {}; memory-backed directory: {}; kernel keyring: {}",
            short(&keyring_problem),
            runtime_problem,
            short(&e.to_string())
        ))),
    }
}

/// The first clause of an error message, for messages that nest another.
fn short(msg: &str) -> String {
    msg.split(';').next().unwrap_or(msg).trim().to_string()
}
