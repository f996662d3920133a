//! clap's arguments built from `get`'s flag table ([`crate::get_flags`]):
//! [`TableArgs`] is flattened into each command that takes some of them,
//! and gives back what was given on the command line as a [`Given`].

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, ValueParser};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use crate::duration;
use crate::get_flags::{FLAGS, GetFlag, Given, Group, Kind, Takes};

const fn bit(g: Group) -> u8 {
    match g {
        Group::Admin => 1,
        Group::Who => 2,
        Group::Store => 4,
        Group::Mint => 8,
        Group::Background => 16,
        Group::Vault => 32,
    }
}

/// Not a group: a typed command, where `--admin-context` and `-n` may be
/// left out (kubectl's defaults, or the identity of `--context`).
const TYPED: u8 = 64;
/// Not a group: the mint options are accepted but not listed.
const MINT_UNLISTED: u8 = 128;

/// `get`: every flag; what exec entries say, so nothing is defaulted.
pub(super) const GET: u8 = MINTS | bit(Group::Background);
/// `setup`: every option of a mint.
pub(super) const SETUP: u8 = MINTS | TYPED;
/// `whoami`, `kubeconfig`, `token`: every option of a mint, or `--context`.
pub(super) const MINTS_OR_CONTEXT: u8 = MINTS | TYPED | MINT_UNLISTED;
/// `logout`: which entry and where, or `--context`.
pub(super) const FINDS_OR_CONTEXT: u8 = FINDS | TYPED;
const MINTS: u8 = FINDS | bit(Group::Mint);
/// Which entry, and where it is kept.
const FINDS: u8 = bit(Group::Admin) | bit(Group::Who) | bit(Group::Vault) | bit(Group::Store);
/// `serve --vault-role`: the broker mints through Vault (no --source there).
pub(super) const SERVE_VAULT: u8 = bit(Group::Vault) | TYPED;
/// `inspect`: which entry and where (its admin context is its own flag).
pub(super) const INSPECTS: u8 = bit(Group::Who) | bit(Group::Vault) | bit(Group::Store) | TYPED;

/// The flags of the table in the groups of `SET`.
#[derive(Debug, Clone)]
pub(super) struct TableArgs<const SET: u8> {
    pub(super) given: Given,
}

fn rows(set: u8) -> impl Iterator<Item = (usize, &'static GetFlag)> {
    FLAGS
        .iter()
        .enumerate()
        .filter(move |(_, f)| set & bit(f.group) != 0)
}

fn parser(kind: Kind) -> ValueParser {
    match kind {
        Kind::Text => ValueParser::string(),
        Kind::Path => ValueParser::path_buf(),
        Kind::Duration => ValueParser::new(duration::parse),
        Kind::Choice(words) => PossibleValuesParser::new(words).into(),
    }
}

/// The defaults a typed command takes (see `app::FromKubeconfig`).
fn typed_help(f: &GetFlag) -> String {
    match f.long {
        "admin-context" => format!(
            "{} (default: $KUBE_SA_TOKEN_ADMIN_CONTEXT, else the current context)",
            f.help
        ),
        "namespace" => {
            "Namespace of the ServiceAccount (default: the admin context's, else \"default\")"
                .into()
        }
        _ => f.help.into(),
    }
}

fn arg(f: &'static GetFlag, set: u8) -> Arg {
    let help = if set & TYPED != 0 {
        typed_help(f)
    } else {
        f.help.into()
    };
    let mut a = Arg::new(f.long).long(f.long).help(help);
    if let Some(c) = f.short {
        a = a.short(c);
    }
    a = match f.takes {
        Takes::Switch => a.action(ArgAction::SetTrue),
        Takes::One(k) => a
            .action(ArgAction::Set)
            .value_name(f.value_name)
            .value_parser(parser(k)),
        Takes::Many(k) => a
            .action(ArgAction::Append)
            .value_name(f.value_name)
            .value_parser(parser(k)),
    };
    if let Some(d) = (f.default)() {
        a = a.default_value(d);
    }
    // `--broker` alone: the usual broker (issue 33, item 22).
    if f.long == "broker" {
        a = a
            .num_args(0..=1)
            .default_missing_value(crate::get_flags::default_broker_socket());
    }
    for c in f.conflicts {
        if rows(set).any(|(_, o)| o.long == *c) {
            a = a.conflicts_with(*c);
        }
    }
    if let Some(r) = f.requires {
        a = a.requires(r);
    }
    // Mint options are accepted where an identity may come from --context
    // instead, but not listed (the command's help names them).
    let unlisted = f.group == Group::Mint && set & MINT_UNLISTED != 0;
    // The admin context, unless a broker or a Vault role mints instead.
    if f.group == Group::Admin && set & TYPED == 0 {
        a = a.required_unless_present_any(["broker", "vault-role"]);
    }
    a.hide(f.group == Group::Background || unlisted)
}

impl<const SET: u8> Args for TableArgs<SET> {
    fn augment_args(cmd: Command) -> Command {
        rows(SET).fold(cmd, |cmd, (_, f)| cmd.arg(arg(f, SET)))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<const SET: u8> FromArgMatches for TableArgs<SET> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut given = Given::default();
        for (row, f) in rows(SET) {
            // Only what the command line gave: defaults are the options'.
            if m.value_source(f.long) != Some(ValueSource::CommandLine) {
                continue;
            }
            match f.takes {
                Takes::Switch => {
                    if m.get_flag(f.long) {
                        given.push(row, "");
                    }
                }
                Takes::One(_) | Takes::Many(_) => {
                    for v in m.get_raw(f.long).into_iter().flatten() {
                        given.push(row, v);
                    }
                }
            }
        }
        Ok(TableArgs { given })
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<const SET: u8> TableArgs<SET> {
    /// `--kubeconfig`, for commands that read it besides the options.
    pub(super) fn kubeconfig(&self) -> Option<PathBuf> {
        self.given.kubeconfig()
    }
}
