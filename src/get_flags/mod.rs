//! `get`'s flags, each defined once ([`table`]): the command line builds
//! clap's arguments from the table and the fast `get` parser looks flags up
//! in it; both hand what they found ([`Given`]) to the one conversion into
//! options ([`Given::options`]); [`exec_args`] writes options back as
//! arguments, row by row. This file only names the parts.

mod exec_args;
mod flag;
mod given;
mod given_vault;
mod table;
mod table_vault;

pub use exec_args::exec_args;
pub use flag::{GetFlag, Group, Kind, Takes};
pub use given::{Defaults, Fixed, Given};
pub use table::{FLAGS, SYSTEM_BROKER_SOCKET, default_broker_socket, find, find_short};
