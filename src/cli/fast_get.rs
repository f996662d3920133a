//! `get` as exec entries call it, parsed without clap. kubectl runs `get`
//! before every command, and building clap's tree of every command and flag
//! costs more than the rest of a cache hit. This parser knows `get`'s flags
//! in the forms clap accepts for them (`--flag value`, `--flag=value`,
//! `-n value`, `-v`...) and hands them to the same checks as clap's path
//! ([`super::token_spec`], [`super::get_options`]). Anything else (help, a
//! typo, a value that looks like a flag, a repeated flag) returns `None`,
//! and clap parses it and reports the error in its own words; a test holds
//! both parsers to the same results.

use std::ffi::OsString;
use std::path::PathBuf;

use super::args::{CacheArg, EntryArgs, KubeconfigArg, MintArgs, SourceArg, StoreArgs, TokenArgs};
use super::duration::{Dur, parse_dur};
use crate::error::Error;
use crate::options::{self, CacheChoice, Command, Invocation, SourceKind};

/// `Some` when `args` is a plain `get` invocation.
pub(super) fn parse(args: &[OsString]) -> Option<Result<Invocation, Error>> {
    let mut it = args.iter().skip(1).map(|a| a.to_str());
    if it.next()? != Some("get") {
        return None;
    }
    let words: Vec<&str> = it.collect::<Option<_>>()?;
    let mut f = Flags::default();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        if let Some(v) = word
            .strip_prefix('-')
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b == b'v'))
        {
            f.verbose = f.verbose.checked_add(u8::try_from(v.len()).ok()?)?;
            continue;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word, None),
        };
        match name {
            "--verbose" if inline.is_none() => f.verbose = f.verbose.checked_add(1)?,
            "--bind-secret" if inline.is_none() => once(&mut f.bind_secret, true)?,
            "--create-secret" if inline.is_none() => once(&mut f.create_secret, true)?,
            "--no-refresh-ahead" if inline.is_none() => once(&mut f.no_refresh_ahead, true)?,
            "--refresh-in-background" if inline.is_none() => once(&mut f.background, true)?,
            "--no-approve" if inline.is_none() => once(&mut f.no_approve, true)?,
            "--kubeconfig"
            | "--admin-context"
            | "-n"
            | "--namespace"
            | "--service-account"
            | "--user"
            | "--group"
            | "--csr-timeout"
            | "--source"
            | "--audience"
            | "--duration"
            | "--cache"
            | "--revalidate-interval"
            | "--secret-timeout"
            | "--lock-timeout" => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = *words.get(i)?;
                        i += 1;
                        v
                    }
                };
                // A separate word that looks like a flag is clap's to judge;
                // an attached one (`--user=-alice`) is the value.
                if inline.is_none() && value.starts_with('-') {
                    return None;
                }
                f.set(name, value)?;
            }
            _ => return None,
        }
    }
    // clap's own errors: --user with --service-account, --group without --user.
    if (f.user.is_some() && f.service_account.is_some())
        || (f.user.is_none() && !f.groups.is_empty())
    {
        return None;
    }
    let entry = EntryArgs {
        admin_context: f.admin_context?,
        token: TokenArgs {
            kubeconfig: KubeconfigArg {
                kubeconfig: f.kubeconfig,
            },
            namespace: f.namespace,
            service_account: f.service_account,
            user: f.user,
            groups: f.groups,
            source: f.source.unwrap_or(SourceKind::default().into()),
            audiences: f.audiences,
            bind_secret: f.bind_secret,
        },
    };
    let mint = MintArgs {
        duration: f.duration.unwrap_or(Dur(options::DEFAULT_DURATION)),
        store: StoreArgs {
            cache: f.cache.unwrap_or(CacheChoice::default().into()),
        },
        create_secret: f.create_secret,
        revalidate_interval: f.revalidate.unwrap_or(Dur(options::DEFAULT_REVALIDATE)),
        secret_timeout: f
            .secret_timeout
            .unwrap_or(Dur(options::DEFAULT_SECRET_WAIT)),
        lock_timeout: f.lock_timeout.unwrap_or(Dur(options::DEFAULT_LOCK_WAIT)),
        no_refresh_ahead: f.no_refresh_ahead,
        no_approve: f.no_approve,
        csr_timeout: f.csr_timeout.unwrap_or(Dur(options::DEFAULT_CSR_WAIT)),
    };
    let verbose = f.verbose;
    let background = f.background;
    Some(
        super::token_spec(entry, None)
            .and_then(|spec| super::get_options(spec, mint))
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

#[derive(Default)]
struct Flags {
    verbose: u8,
    kubeconfig: Option<PathBuf>,
    admin_context: Option<String>,
    namespace: Option<String>,
    service_account: Option<String>,
    user: Option<String>,
    groups: Vec<String>,
    source: Option<SourceArg>,
    audiences: Vec<String>,
    bind_secret: bool,
    duration: Option<Dur>,
    cache: Option<CacheArg>,
    create_secret: bool,
    no_refresh_ahead: bool,
    background: bool,
    revalidate: Option<Dur>,
    secret_timeout: Option<Dur>,
    lock_timeout: Option<Dur>,
    no_approve: bool,
    csr_timeout: Option<Dur>,
}

/// Sets a flag clap accepts once; `None` (clap's error) when it was set.
fn once<T>(slot: &mut T, value: T) -> Option<()>
where
    T: Default + PartialEq,
{
    if *slot != T::default() {
        return None;
    }
    *slot = value;
    Some(())
}

fn once_opt<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl Flags {
    fn set(&mut self, name: &str, v: &str) -> Option<()> {
        match name {
            "--kubeconfig" => once_opt(&mut self.kubeconfig, PathBuf::from(v)),
            "--admin-context" => once_opt(&mut self.admin_context, v.to_string()),
            "-n" | "--namespace" => once_opt(&mut self.namespace, v.to_string()),
            "--service-account" => once_opt(&mut self.service_account, v.to_string()),
            "--user" => once_opt(&mut self.user, v.to_string()),
            "--group" => {
                self.groups.push(v.to_string());
                Some(())
            }
            "--audience" => {
                self.audiences.push(v.to_string());
                Some(())
            }
            "--source" => once_opt(
                &mut self.source,
                match v {
                    "token-request" => SourceArg::TokenRequest,
                    "secret" => SourceArg::Secret,
                    _ => return None,
                },
            ),
            "--cache" => once_opt(
                &mut self.cache,
                match v {
                    "auto" => CacheArg::Auto,
                    "keyring" => CacheArg::Keyring,
                    "keyutils" => CacheArg::Keyutils,
                    "file" => CacheArg::File,
                    "none" => CacheArg::None,
                    _ => return None,
                },
            ),
            "--duration" => once_opt(&mut self.duration, parse_dur(v).ok()?),
            "--revalidate-interval" => once_opt(&mut self.revalidate, parse_dur(v).ok()?),
            "--secret-timeout" => once_opt(&mut self.secret_timeout, parse_dur(v).ok()?),
            "--lock-timeout" => once_opt(&mut self.lock_timeout, parse_dur(v).ok()?),
            "--csr-timeout" => once_opt(&mut self.csr_timeout, parse_dur(v).ok()?),
            _ => None,
        }
    }
}
