//! The command line. clap stays in this module: [`parse`] turns arguments
//! into the plain inputs of the commands ([`crate::options`]). `get`'s flags
//! are defined once, in [`crate::get_flags`], whose `exec_args` is the
//! inverse: the `get` arguments a kubeconfig exec entry carries.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::error::{Error, ExitCode};
use crate::get_flags::Given;
use crate::options::{self, Command, GetOptions, InspectInput, Invocation, Who};
use crate::secret::Token;

mod args;
mod fast_get;
mod table_args;

#[cfg(test)]
use crate::get_flags::exec_args;
use args::{CacheCmd, Cli, Cmd};

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
    // Run as kubectl's plugin (`kubectl sa-token ...` execs
    // `kubectl-sa_token`), usage lines and errors say so.
    let plugin = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "kubectl-sa_token");
    let command = {
        use clap::CommandFactory;
        let c = Cli::command();
        if plugin {
            c.bin_name("kubectl sa-token")
        } else {
            c
        }
    };
    let parsed = command.try_get_matches_from(args).and_then(|m| {
        use clap::FromArgMatches;
        Cli::from_arg_matches(&m)
    });
    let cli = match parsed {
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

/// An exec entry's `args` parsed exactly as `kube-sa-token` parses them
/// (see [`options::ParseGet`]); clap's error is reduced to its first line.
fn parse_get_args(args: &[String]) -> Result<GetOptions, String> {
    let argv =
        std::iter::once(OsString::from("kube-sa-token")).chain(args.iter().map(OsString::from));
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })?;
    match invocation(cli).map_err(|e| e.to_string())?.command {
        Command::Get(opts) | Command::Refresh(opts) => Ok(opts),
        _ => Err("they are not a `get` command (the first argument must be \"get\")".into()),
    }
}

fn invocation(cli: Cli) -> Result<Invocation, Error> {
    Ok(Invocation {
        verbose: cli.verbose,
        command: convert(cli.command)?,
    })
}

/// Whose credential a command that shows or forgets one is about: the
/// identity of `--context` (without `--admin-context` and any identity flag:
/// of the current context), else the one the flags name.
fn who<const SET: u8>(a: args::IdentityArgs<SET>) -> Result<Who, Error> {
    identity(a.context.context, a.flags.given, a.sa)
}

/// [`who`] from its parts (`inspect` has its own admin context and no SA).
fn identity(
    context: Option<String>,
    given: Given,
    positional: Option<String>,
) -> Result<Who, Error> {
    let admin = given.on("admin-context");
    let named: Vec<&str> = given.names().filter(|n| *n != "kubeconfig").collect();
    if context.is_some() || (!admin && named.is_empty() && positional.is_none()) {
        if let Some(flag) = named.first() {
            return Err(Error::Usage(format!(
                "--{flag} with --context: the context's exec entry says whose credential and every option; give --context alone (--kubeconfig to find it), or --admin-context and the ServiceAccount (or --user) without it"
            )));
        }
        if let Some(sa) = positional {
            return Err(Error::Usage(format!(
                "{sa:?} with --context: the context's exec entry says whose credential; give one of them"
            )));
        }
        return Ok(Who::Context {
            name: context,
            kubeconfig: given.kubeconfig(),
            parse_get: parse_get_args,
        });
    }
    if !admin {
        return Err(Error::Usage(
            "--admin-context is needed with a ServiceAccount or --user (or name a context `setup` wrote with --context NAME)".into(),
        ));
    }
    Ok(Who::Options(Box::new(given.options(positional)?)))
}

fn convert(cmd: Cmd) -> Result<Command, Error> {
    Ok(match cmd {
        Cmd::Get(a) => {
            let opts = a.flags.given.options(None)?;
            if a.flags.given.on("refresh-in-background") {
                Command::Refresh(opts)
            } else {
                Command::Get(opts)
            }
        }
        Cmd::Setup(a) => Command::Setup {
            opts: a.flags.given.options(a.sa)?,
            context_name: a.context_name,
            dry_run: a.dry_run,
            print_rbac: a.print_rbac,
        },
        Cmd::Kubeconfig(a) => Command::Kubeconfig {
            who: who(a.who)?,
            embed_token: a.embed_token,
            context_name: a.context_name,
            output: a.output,
        },
        Cmd::Inspect(a) => {
            let kubeconfig = a.flags.kubeconfig();
            let outside = a.file.is_some() || a.token.is_some();
            if outside && a.context.context.is_some() {
                return Err(Error::Usage(
                    "--context names a cached credential: give it, or a TOKEN (- for stdin) or --file, not both".into(),
                ));
            }
            if a.verify && outside && a.admin_context.is_none() {
                return Err(Error::Usage(
                    "--verify needs --admin-context to reach the cluster".into(),
                ));
            }
            let input = match (a.token, &a.admin_context) {
                _ if a.file.is_some() => InspectInput::File(a.file.clone().unwrap_or_default()),
                (Some(t), _) if t == "-" => InspectInput::Stdin,
                (Some(t), _) => InspectInput::Given(Token::new(t)),
                (None, admin) => {
                    let mut given = a.flags.given;
                    if let Some(ctx) = admin {
                        given.set("admin-context", ctx);
                    }
                    InspectInput::Cached(identity(a.context.context, given, None)?)
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
        Cmd::Token(a) => Command::Token {
            who: who(a.who)?,
            ca_file: a.ca_file,
        },
        Cmd::Whoami(a) => Command::Whoami {
            who: who(a.who)?,
            format: a.output.into(),
        },
        Cmd::Cache(CacheCmd::List { output, check }) => Command::CacheList {
            format: output.into(),
            check,
        },
        Cmd::Cache(CacheCmd::Clear { key, all }) => Command::CacheClear {
            target: match (key, all) {
                (_, true) => None,
                (Some(k), false) => Some(k),
                (None, false) => {
                    return Err(Error::Usage(
                        "cache clear what? pass a KEY (or its first characters), NS/SA, user:NAME or a context name (`kube-sa-token cache list` shows them), or --all for every entry".into(),
                    ));
                }
            },
            parse_get: parse_get_args,
        },
        Cmd::Logout(a) => Command::Logout { who: who(a.who)? },
        Cmd::Doctor(a) => Command::Doctor {
            kubeconfig: a.kubeconfig.kubeconfig,
            admin_context: a.admin_context,
            namespace: a
                .namespace
                .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into()),
            cache: a.cache.into(),
            parse_get: parse_get_args,
        },
        Cmd::Completions { .. } => unreachable!("handled in parse"),
    })
}

#[cfg(test)]
mod tests;
