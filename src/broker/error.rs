//! `BrokerError`: what went wrong between a client and the broker, or while
//! the broker set itself up. Messages are one line and say what to do; none
//! quotes what the other side sent beyond the broker's own reason.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Nothing answers at the socket.
    #[error(
        "the broker at {} is not running ({detail}): start it (`kube-sa-token serve`, or its systemd unit), or ask whoever runs it; the exec entry's --broker names the socket",
        path.display()
    )]
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Down { path: PathBuf, detail: String },
    /// The socket is served by a user the client does not trust.
    #[error(
        "refusing the broker socket {}: it is served by {served_by}, not by {trusted}; another user may have planted it there. Check the path (the exec entry's --broker) with the broker's operator; if that account does run the broker, give --broker-owner {owner} (to setup too: it writes it into the exec entry)",
        path.display()
    )]
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Impostor {
        path: PathBuf,
        served_by: String,
        trusted: String,
        /// What `--broker-owner` would name the serving account: its user
        /// name, else its uid.
        owner: String,
    },
    /// The policy refused the request: its reason.
    #[error("the broker at {} refused: {reason}", path.display())]
    Denied { path: PathBuf, reason: String },
    /// The broker could not mint, or refused for safety; its reason.
    #[error("the broker at {} could not issue the credential: {reason}", path.display())]
    Failed { path: PathBuf, reason: String },
    /// Another protocol version, or an answer that is not one.
    #[error("the broker at {} speaks another protocol: {detail}", path.display())]
    Version { path: PathBuf, detail: String },
    /// The connection failed midway.
    #[error(
        "the broker at {} did not answer properly ({detail}); `kube-sa-token doctor` shows its state",
        path.display()
    )]
    Broken { path: PathBuf, detail: String },
    /// `--broker-owner` names nobody.
    #[error("--broker-owner {0:?} is neither a user of this machine nor a uid")]
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    UnknownOwner(String),
    /// Off Linux.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    #[error("the broker (serve, --broker) works on Linux only")]
    Unsupported,
    /// `serve` could not start: the socket, its directory, the policy, the
    /// audit log.
    #[error("{0}")]
    Setup(String),
}
