//! The command line. clap stays in this module: [`parse`] turns arguments
//! into the plain inputs of the commands ([`crate::options`]), and
//! [`exec_args`] is its inverse, the `get` arguments a kubeconfig exec entry
//! carries.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap::Parser;

use crate::error::{Error, ExitCode};
use crate::options::{self, Command, GetOptions, InspectInput, Invocation, SourceKind, TokenSpec};
use crate::token::Token;

mod args;
mod duration;
mod exec_args;
mod fast_get;

use args::{CacheCmd, Cli, Cmd, EntryArgs, MintArgs};
use duration::Dur;
#[cfg(test)]
pub(crate) use duration::parse_duration;
pub use exec_args::exec_args;

/// What to do after parsing.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Invocation>),
    /// Help, version, completions or a clap usage error were printed already.
    Exit(ExitCode),
}

/// Parses the command line. Help, version, completions and clap's own usage
/// errors are printed here; our checks of the values come back as `Err`.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, Error> {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(get) = fast_get::parse(&args) {
        return get.map(|i| Parsed::Run(Box::new(i)));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(Parsed::Exit(if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            }));
        }
    };
    if let Cmd::Completions { shell } = cli.command {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let mut out = std::io::stdout().lock();
        clap_complete::generate(shell, &mut cmd, "kube-sa-token", &mut out);
        out.flush()?;
        return Ok(Parsed::Exit(ExitCode::Success));
    }
    invocation(cli).map(|i| Parsed::Run(Box::new(i)))
}

fn invocation(cli: Cli) -> Result<Invocation, Error> {
    Ok(Invocation {
        verbose: cli.verbose,
        command: convert(cli.command)?,
    })
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// Resolves `--namespace`, `--service-account NS/NAME` and a positional SA.
fn token_spec(e: EntryArgs, positional: Option<String>) -> Result<TokenSpec, Error> {
    let t = e.token;
    let sa = match (t.service_account, positional) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "give the ServiceAccount once: either --service-account or the SA argument".into(),
            ));
        }
        (Some(s), None) | (None, Some(s)) => s,
        (None, None) => {
            return Err(Error::Usage(
                "which ServiceAccount? pass --service-account NAME (or NS/NAME)".into(),
            ));
        }
    };
    let (ns, name) = match sa.split_once('/') {
        Some((ns, name)) => {
            if let Some(flag) = t.namespace.as_ref().filter(|f| f.as_str() != ns) {
                return Err(Error::Usage(format!(
                    "--namespace {flag} contradicts --service-account {sa}; give the namespace once"
                )));
            }
            (ns.to_string(), name.to_string())
        }
        None => (
            t.namespace
                .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into()),
            sa,
        ),
    };
    for (what, v) in [("namespace", &ns), ("ServiceAccount name", &name)] {
        if !is_dns_label(v) {
            return Err(Error::Usage(format!(
                "invalid {what} {v:?}: use lowercase letters, digits, '-' and '.'"
            )));
        }
    }
    if e.admin_context.is_empty() {
        return Err(Error::Usage("--admin-context must not be empty".into()));
    }
    let source = SourceKind::from(t.source);
    if t.bind_secret && source == SourceKind::Secret {
        return Err(Error::Usage(
            "--bind-secret works with --source token-request only".into(),
        ));
    }
    Ok(TokenSpec {
        kubeconfig: t.kubeconfig.kubeconfig,
        admin_context: e.admin_context,
        namespace: ns,
        service_account: name,
        source,
        audiences: t.audiences,
        bind_secret: t.bind_secret,
    })
}

fn get_options(spec: TokenSpec, m: MintArgs) -> Result<GetOptions, Error> {
    if m.duration.0 < options::MIN_DURATION {
        return Err(Error::Usage(format!(
            "--duration {}s is too short: the API server's minimum is {}",
            m.duration.0.as_secs(),
            Dur(options::MIN_DURATION)
        )));
    }
    if m.create_secret && spec.source != SourceKind::Secret {
        return Err(Error::Usage(
            "--create-secret works with --source secret only".into(),
        ));
    }
    Ok(GetOptions {
        spec,
        duration: m.duration.0,
        cache: m.cache.into(),
        create_secret: m.create_secret,
        revalidate: m.revalidate_interval.0.max(Duration::from_secs(1)),
        secret_wait: m.secret_timeout.0,
        lock_wait: m.lock_timeout.0,
        refresh_ahead: !m.no_refresh_ahead,
    })
}

fn convert(cmd: Cmd) -> Result<Command, Error> {
    Ok(match cmd {
        Cmd::Get(a) => {
            let opts = get_options(token_spec(a.entry, None)?, a.mint)?;
            if a.refresh_in_background {
                Command::Refresh(opts)
            } else {
                Command::Get(opts)
            }
        }
        Cmd::Setup(a) => Command::Setup {
            opts: get_options(token_spec(a.entry, a.sa)?, a.mint)?,
            context_name: a.context_name,
            dry_run: a.dry_run,
        },
        Cmd::Kubeconfig(a) => Command::Kubeconfig {
            opts: get_options(token_spec(a.entry, a.sa)?, a.mint)?,
            embed_token: a.embed_token,
            context_name: a.context_name,
        },
        Cmd::Inspect(a) => {
            if a.verify && a.admin_context.is_none() {
                return Err(Error::Usage(
                    "--verify needs --admin-context to reach the cluster".into(),
                ));
            }
            let kubeconfig = a.sa.kubeconfig.kubeconfig.clone();
            let input = match (a.token, &a.admin_context) {
                (Some(t), _) if t == "-" => InspectInput::Stdin,
                (Some(t), _) => InspectInput::Given(Token::new(t)),
                (None, Some(ctx)) => {
                    let e = EntryArgs {
                        admin_context: ctx.clone(),
                        token: a.sa,
                    };
                    InspectInput::Cached(get_options(token_spec(e, None)?, a.mint)?)
                }
                (None, None) => {
                    return Err(Error::Usage(
                        "inspect what? pass a TOKEN (or - for stdin), or --admin-context and --service-account for the cached token".into(),
                    ));
                }
            };
            Command::Inspect {
                input,
                kubeconfig,
                admin_context: a.admin_context,
                verify: a.verify,
                format: a.output.into(),
            }
        }
        Cmd::Whoami(a) => Command::Whoami {
            opts: get_options(token_spec(a.entry, a.sa)?, a.mint)?,
            format: a.output.into(),
        },
        Cmd::Cache(CacheCmd::List { output, check }) => Command::CacheList {
            format: output.into(),
            check,
        },
        Cmd::Cache(CacheCmd::Clear { key, all }) => Command::CacheClear {
            key: if all { None } else { key },
        },
        Cmd::Logout(a) => {
            let mut opts = GetOptions::with_defaults(token_spec(a.entry, a.sa)?);
            opts.cache = a.cache.into();
            Command::Logout { opts }
        }
        Cmd::Doctor(a) => Command::Doctor {
            kubeconfig: a.kubeconfig.kubeconfig,
            admin_context: a.admin_context,
            namespace: a
                .namespace
                .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into()),
            cache: a.cache.into(),
        },
        Cmd::Completions { .. } => unreachable!("handled in parse"),
    })
}

#[cfg(test)]
mod tests;
