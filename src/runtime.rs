//! The async runtime for the paths that talk to the API server. Built only
//! there, never on a `get` cache hit.

/// The runtime could not be started (out of file descriptors or threads).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the async runtime: {0}; free some system resources and retry")]
pub struct RuntimeError(#[source] std::io::Error);

/// A single-threaded runtime with I/O and timers.
pub fn runtime() -> Result<tokio::runtime::Runtime, RuntimeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RuntimeError)
}
