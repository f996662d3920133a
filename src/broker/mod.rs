//! The local credential broker (`serve`, `get --broker`): its wire protocol,
//! its policy, its audit log and its socket. The use cases that serve and
//! ask it live in `app/` (`serve.rs`, `broker_minter.rs`). This file only
//! names the parts.

pub mod audit;
mod callers;
pub mod client;
pub mod error;
pub mod pattern;
pub mod policy;
pub mod policy_file;
pub mod rate;
pub mod refusals;
pub mod slots;
pub mod wire;
// The one platform gate of the broker: Unix sockets with the kernel's word
// on the peer (SO_PEERCRED), or off Linux a stand-in that never connects.
#[cfg(target_os = "linux")]
pub mod socket;
#[cfg(not(target_os = "linux"))]
#[path = "socket_off.rs"]
pub mod socket;
#[cfg(all(test, target_os = "linux"))]
#[allow(dead_code)]
#[path = "socket_off.rs"]
mod socket_off;

pub use error::BrokerError;
