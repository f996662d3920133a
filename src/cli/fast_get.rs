//! `get` as exec entries call it, parsed without clap. kubectl runs `get`
//! before every command, and building clap's tree of every command and flag
//! costs more than the rest of a cache hit. This parser looks `get`'s flags
//! up in their table ([`crate::get_flags`]) in the forms clap accepts for
//! them (`--flag value`, `--flag=value`, `-n value`, `-v`...) and hands the
//! values to the same conversion as clap's path ([`Given::options`]).
//! The ServiceAccount may be a positional word, as people type it (`get -n
//! team viewer`). Anything else (help, a typo, a value that looks like a
//! flag, a repeated flag, a second positional word, a value clap would
//! refuse) returns `None`, and clap parses it and
//! reports the error in its own words; a test holds both parsers to the
//! same results.

use std::ffi::OsString;

use crate::error::Error;
use crate::get_flags::{self, Given, Takes};
use crate::options::{Command, GetOptions, Invocation};

/// Whether kubectl's plugin completion runs us (`kubectl_complete-sa_token`).
pub(super) fn completing(args: &[OsString]) -> bool {
    args.first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|n| n == "kubectl_complete-sa_token")
}

/// The options of a plain `get` (no `-v`, nothing clap must judge), as
/// [`super::parse`] would give them; `None` for anything else. The front
/// binary's parser ([`crate::front`]).
pub fn plain_get(args: &[OsString]) -> Option<GetOptions> {
    if completing(args) {
        return None;
    }
    match parse(args)?.ok()? {
        Invocation {
            verbose: 0,
            command: Command::Get(opts),
        } => Some(opts),
        _ => None,
    }
}

/// `Some` when `args` is a plain `get` invocation.
pub(super) fn parse(args: &[OsString]) -> Option<Result<Invocation, Error>> {
    let mut it = args.iter().skip(1).map(|a| a.to_str());
    if it.next()? != Some("get") {
        return None;
    }
    let words: Vec<&str> = it.collect::<Option<_>>()?;
    let mut given = Given::default();
    let mut verbose: u8 = 0;
    // The ServiceAccount as people type it (`get -n team viewer`), once.
    let mut positional: Option<&str> = None;
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        if !word.starts_with('-') {
            if positional.replace(word).is_some() {
                return None;
            }
            continue;
        }
        if let Some(v) = word
            .strip_prefix('-')
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b == b'v'))
        {
            verbose = verbose.checked_add(u8::try_from(v.len()).ok()?)?;
            continue;
        }
        if word == "--verbose" {
            verbose = verbose.checked_add(1)?;
            continue;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word, None),
        };
        let (row, flag) = match name.strip_prefix("--") {
            Some(long) => get_flags::find(long)?,
            None => {
                let mut c = name.strip_prefix('-')?.chars();
                let (Some(short), None) = (c.next(), c.next()) else {
                    return None;
                };
                get_flags::find_short(short)?
            }
        };
        match flag.takes {
            Takes::Switch => {
                if inline.is_some() || given.has(row) {
                    return None;
                }
                given.push(row, "");
            }
            Takes::One(kind) | Takes::Many(kind) => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = *words.get(i)?;
                        i += 1;
                        // A separate word that looks like a flag is clap's
                        // to judge; an attached one (`--user=-alice`) is
                        // the value.
                        if v.starts_with('-') {
                            return None;
                        }
                        v
                    }
                };
                let once = matches!(flag.takes, Takes::One(_));
                if !kind.accepts(value) || (once && given.has(row)) {
                    return None;
                }
                given.push(row, value);
            }
        }
    }
    // clap's own errors: a missing admin context, a flag with one it
    // conflicts with or without one it needs.
    let (admin, _) = get_flags::find("admin-context")?;
    let (broker, _) = get_flags::find("broker")?;
    let (vault, _) = get_flags::find("vault-role")?;
    if !given.has(admin) && !given.has(broker) && !given.has(vault) {
        return None;
    }
    for (row, flag) in get_flags::FLAGS.iter().enumerate() {
        if !given.has(row) {
            continue;
        }
        let present = |long: &str| get_flags::find(long).is_some_and(|(r, _)| given.has(r));
        if flag.conflicts.iter().any(|c| present(c)) || flag.requires.is_some_and(|r| !present(r)) {
            return None;
        }
    }
    let background = given.on("refresh-in-background");
    Some(
        given
            .options(positional.map(String::from))
            .map(|opts| Invocation {
                verbose,
                command: if background {
                    Command::Refresh(opts)
                } else {
                    Command::Get(opts)
                },
            }),
    )
}
