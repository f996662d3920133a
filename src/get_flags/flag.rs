//! What a row of `get`'s flag table ([`super::table`]) says of its flag:
//! its value's kind, the commands that take it, how it is written back.

use std::time::Duration;

use crate::duration;
use crate::options::GetOptions;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Nothing: on when given (once).
    Switch,
    /// One value (the flag at most once).
    One(Kind),
    /// A value each time it is given.
    Many(Kind),
}

/// The kind of a flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A file path (any bytes).
    Path,
    /// "90s", "10m", "1h30m" ([`duration::parse`]).
    Duration,
    /// One of these words.
    Choice(&'static [&'static str]),
}

impl Kind {
    /// Whether `value` is one of this kind (the command line's parsers
    /// refuse the others).
    pub fn accepts(self, value: &str) -> bool {
        match self {
            Kind::Text => true,
            // clap's path parser refuses an empty path.
            Kind::Path => !value.is_empty(),
            Kind::Duration => duration::parse(value).is_ok(),
            Kind::Choice(words) => words.contains(&value),
        }
    }
}

/// Which commands take a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `--admin-context`: every command that mints or finds an entry
    /// (`inspect` has its own, optional one).
    Admin,
    /// Which credential, besides the admin context: every such command.
    Who,
    /// `--cache`: every command that reads or writes an entry.
    Store,
    /// How to mint and keep: the commands that mint (`get`, `setup`,
    /// `kubeconfig`, `whoami`).
    Mint,
    /// `get` only, hidden: what refresh-ahead runs.
    Background,
    /// The Vault source's (`--vault-*`): the commands that find an entry,
    /// and `serve`.
    Vault,
}

/// One flag of `get`.
#[derive(Clone, Copy)]
pub struct GetFlag {
    /// Without the dashes.
    pub long: &'static str,
    pub short: Option<char>,
    pub takes: Takes,
    pub value_name: &'static str,
    pub help: &'static str,
    pub group: Group,
    /// Flags that cannot be given with this one.
    pub conflicts: &'static [&'static str],
    /// A flag this one needs.
    pub requires: Option<&'static str>,
    /// The value used when the flag is not given (shown in help).
    pub default: fn() -> Option<String>,
    /// The values that reproduce `o` (a switch: one empty word when on);
    /// none at the default, which needs no flag.
    pub write: fn(&GetOptions) -> Vec<String>,
}

pub(super) fn no_default() -> Option<String> {
    None
}

pub(super) fn on(yes: bool) -> Vec<String> {
    if yes { vec![String::new()] } else { Vec::new() }
}

/// `d` unless it is the default.
pub(super) fn unless_default(d: Duration, default: Duration) -> Vec<String> {
    if d == default {
        Vec::new()
    } else {
        vec![duration::flag(d)]
    }
}
