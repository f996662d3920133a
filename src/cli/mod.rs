//! The command line. clap stays in this module: [`parse`] turns arguments
//! into the plain inputs of the commands ([`crate::options`]). `get`'s flags
//! are defined once, in [`crate::get_flags`], whose `exec_args` is the
//! inverse: the `get` arguments a kubeconfig exec entry carries.

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::error::{Error, ExitCode};
use crate::get_flags::{Defaults, Fixed, Given};
use crate::options::{self, Command, GetOptions, InspectInput, Invocation, Who};
use crate::secret::Token;

mod args;
mod completions;
mod fast_get;
pub use fast_get::plain_get;
mod man;
mod plugin_complete;
mod table_args;
mod who_args;

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
    // `kubectl sa-token <TAB>` runs `kubectl_complete-sa_token WORDS...`;
    // the shells' scripts run `kube-sa-token __complete WORDS...`.
    let plugin_complete = fast_get::completing(&args);
    let skip = if plugin_complete {
        Some(1)
    } else {
        (args.get(1).is_some_and(|a| a == "__complete")).then_some(2)
    };
    if let Some(skip) = skip {
        use clap::CommandFactory;
        let words: Vec<String> = args[skip.min(args.len())..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut out = std::io::stdout().lock();
        out.write_all(plugin_complete::answer(&Cli::command(), &words).as_bytes())?;
        out.flush()?;
        return Ok(Parsed::Exit(ExitCode::Success));
    }
    if let Some(get) = fast_get::parse(&args) {
        return get.map(|i| Parsed::Run(Box::new(i)));
    }
    // Run as kubectl's plugin (`kubectl sa-token ...` execs
    // `kubectl-sa_token`), usage lines and errors say so.
    let plugin = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "kubectl-sa_token");
    let mut command = {
        use clap::CommandFactory;
        let c = Cli::command();
        if plugin {
            c.bin_name("kubectl sa-token")
        } else {
            c
        }
    };
    let parsed = command.try_get_matches_from_mut(args).and_then(|m| {
        use clap::FromArgMatches;
        Cli::from_arg_matches(&m)
    });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let e = without_far_tip(e, &command);
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
        let mut out = std::io::stdout().lock();
        out.write_all(completions::script(shell, Cli::command()).as_bytes())?;
        out.flush()?;
        return Ok(Parsed::Exit(ExitCode::Success));
    }
    if let Cmd::Version = cli.command {
        // As kubectl, tsh and gcloud answer `version`: what --version says.
        let mut out = std::io::stdout().lock();
        writeln!(out, "kube-sa-token {}", args::VERSION)?;
        out.flush()?;
        return Ok(Parsed::Exit(ExitCode::Success));
    }
    if let Cmd::Man { dir } = &cli.command {
        use clap::CommandFactory;
        match dir {
            Some(dir) => man::write_pages(Cli::command(), dir)?,
            None => {
                let mut out = std::io::stdout().lock();
                man::write_top(Cli::command(), &mut out)?;
                out.flush()?;
            }
        }
        return Ok(Parsed::Exit(ExitCode::Success));
    }
    invocation(cli, &crate::app::FromKubeconfig).map(|i| Parsed::Run(Box::new(i)))
}

/// clap suggests the subcommand most like an unknown one, however unlike
/// (`bogus` → `logout`); keep the tip only when it is a typo away.
fn without_far_tip(e: clap::Error, command: &clap::Command) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidSubcommand) else {
        return e;
    };
    let near = match e.get(ContextKind::SuggestedSubcommand) {
        Some(ContextValue::String(s)) => typo_away(given, s),
        Some(ContextValue::Strings(v)) => v.iter().any(|s| typo_away(given, s)),
        _ => return e,
    };
    if near {
        return e;
    }
    let mut plain = clap::Error::new(ErrorKind::InvalidSubcommand).with_cmd(command);
    plain.insert(
        ContextKind::InvalidSubcommand,
        ContextValue::String(given.clone()),
    );
    if let Some(usage) = e.get(ContextKind::Usage) {
        plain.insert(ContextKind::Usage, usage.clone());
    }
    plain
}

/// Whether `word` is a typo of `meant`: at most one edit (a swap of two
/// neighbours counts as one) per three letters.
fn typo_away(word: &str, meant: &str) -> bool {
    strsim::osa_distance(word, meant) <= (meant.chars().count() / 3).max(1)
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
    match invocation(cli, &Fixed).map_err(|e| e.to_string())?.command {
        Command::Get(opts) | Command::Refresh(opts) => Ok(opts),
        _ => Err("they are not a `get` command (the first argument must be \"get\")".into()),
    }
}

/// `defaults`: what a typed command leaves out ([`Defaults`]).
fn invocation(cli: Cli, defaults: &dyn Defaults) -> Result<Invocation, Error> {
    Ok(Invocation {
        verbose: cli.verbose,
        command: convert(cli.command, defaults)?,
    })
}

/// Whose credential a command that shows or forgets one is about: the
/// identity of `--context` (without `--admin-context` and any identity flag:
/// of the current context), else the one the flags name.
fn who<const SET: u8>(a: args::IdentityArgs<SET>, defaults: &dyn Defaults) -> Result<Who, Error> {
    identity(a.context.context, a.flags.given, a.sa, defaults)
}

/// [`who`] from its parts (`inspect` has its own admin context and no SA).
fn identity(
    context: Option<String>,
    given: Given,
    positional: Option<String>,
    defaults: &dyn Defaults,
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
    Ok(Who::Options(Box::new(
        given.options_with(positional, defaults)?,
    )))
}

/// What `inspect` reads. Its argument is "-" (stdin), a token, a PEM
/// certificate, or, when the words around it name an identity
/// (--admin-context, -n, --user...), the ServiceAccount whose cached token
/// to show, as for `whoami`; alone, an existing file.
fn inspect_input(
    word: Option<String>,
    allow_argv_token: bool,
    file: Option<std::path::PathBuf>,
    context: Option<String>,
    given: Given,
    defaults: &dyn Defaults,
) -> Result<InspectInput, Error> {
    // --admin-context also serves --verify of a given token.
    let names_who = given
        .names()
        .any(|n| !matches!(n, "kubeconfig" | "cache" | "admin-context"));
    if let Some(path) = file {
        if context.is_some() || names_who {
            return Err(Error::Usage(
                "--file is a token or certificate of its own: give it, or the identity of a cached one (--context, or --admin-context and the ServiceAccount), not both".into(),
            ));
        }
        return Ok(InspectInput::File(path));
    }
    let Some(word) = word else {
        return Ok(InspectInput::Cached(identity(
            context, given, None, defaults,
        )?));
    };
    if word == "-" || looks_like_a_credential(&word) {
        if context.is_some() {
            return Err(Error::Usage(
                "--context names a cached credential: give it, or a TOKEN (- for stdin) or --file, not both".into(),
            ));
        }
        if word != "-" && !allow_argv_token {
            return Err(Error::Usage(
                "not taking a token from the command line: other users can read argv (ps, /proc/PID/cmdline) and your shell history keeps it; pass it on stdin (`kube-sa-token inspect - < FILE`) or with --file PATH (--allow-argv-token takes it all the same)".into(),
            ));
        }
        return Ok(if word == "-" {
            InspectInput::Stdin
        } else {
            InspectInput::Given(Token::new(word))
        });
    }
    if names_who || given.on("admin-context") || context.is_some() {
        return Ok(InspectInput::Cached(identity(
            context,
            given,
            Some(word),
            defaults,
        )?));
    }
    if std::path::Path::new(&word).is_file() {
        return Ok(InspectInput::File(word.into()));
    }
    // A ServiceAccount, NS/NAME or NAME, as `whoami`, `token`, `kubeconfig`
    // and `logout` take it (the admin context then comes from the defaults).
    if names_a_service_account(&word) {
        return Ok(InspectInput::Cached(identity(
            None,
            given,
            Some(word),
            defaults,
        )?));
    }
    Err(Error::Usage(format!(
        "the argument {} is not a token, a PEM certificate, a file or a ServiceAccount (NAMESPACE/NAME); a token is read from stdin with \"-\"",
        crate::names::quoted(&word)
    )))
}

/// Whether `word` reads as a ServiceAccount: NAMESPACE/NAME, or a NAME
/// without dots (with a dot, it is more likely a file that is not there).
fn names_a_service_account(word: &str) -> bool {
    match word.split_once('/') {
        Some((ns, name)) => {
            crate::names::namespace(ns).is_ok() && crate::names::service_account(name).is_ok()
        }
        None => crate::names::namespace(word).is_ok(),
    }
}

/// A JWT (its header is base64url JSON, so it starts with "eyJ", which no
/// ServiceAccount name can) or a PEM block.
fn looks_like_a_credential(word: &str) -> bool {
    (word.starts_with("eyJ") && word.matches('.').count() == 2) || word.starts_with("-----BEGIN")
}

fn convert(cmd: Cmd, defaults: &dyn Defaults) -> Result<Command, Error> {
    Ok(match cmd {
        Cmd::Get(a) => {
            let opts = a.flags.given.options(a.sa)?;
            if a.flags.given.on("refresh-in-background") {
                Command::Refresh(opts)
            } else {
                Command::Get(opts)
            }
        }
        Cmd::Setup(a) => Command::Setup {
            opts: a.flags.given.options_with(a.sa, defaults)?,
            context_name: a.context_name,
            dry_run: a.dry_run,
            print_rbac: a.print_rbac,
            use_context: a.use_context,
            remove: a.remove,
        },
        Cmd::Kubeconfig(a) => Command::Kubeconfig {
            who: who(a.who, defaults)?,
            embed_token: a.embed_token,
            context_name: a.context_name,
            output: a.output_file,
            format: match a.output {
                args::DocumentArg::Yaml => options::Format::Yaml,
                args::DocumentArg::Json => options::Format::Json,
            },
        },
        Cmd::Inspect(a) => {
            let kubeconfig = a.flags.kubeconfig();
            let mut given = a.flags.given;
            if let Some(ctx) = &a.admin_context {
                given.set("admin-context", ctx);
            }
            let input = inspect_input(
                a.token,
                a.allow_argv_token,
                a.file,
                a.context.context,
                given,
                defaults,
            )?;
            if a.verify && !matches!(input, InspectInput::Cached(_)) && a.admin_context.is_none() {
                return Err(Error::Usage(
                    "--verify needs --admin-context to reach the cluster".into(),
                ));
            }
            Command::Inspect {
                input,
                kubeconfig,
                admin_context: a.admin_context,
                verify: a.verify,
                format: a.output.into(),
            }
        }
        Cmd::Token(a) => Command::Token {
            who: who(a.who, defaults)?,
            ca_file: a.ca_file,
        },
        Cmd::Exec(a) if a.clean => Command::ExecClean,
        Cmd::Exec(a) if a.print_env => Command::ExecEnv {
            who: who(a.who, defaults)?,
        },
        Cmd::Exec(a) => Command::Exec {
            who: who(a.who, defaults)?,
            command: a.command,
            allow_nested: a.allow_nested,
        },
        Cmd::Shell(a) => Command::Exec {
            who: who(a.who, defaults)?,
            command: Vec::new(),
            allow_nested: a.allow_nested,
        },
        Cmd::Whoami(a) => Command::Whoami {
            who: who(a.who, defaults)?,
            format: a.output.into(),
        },
        Cmd::Cache(CacheCmd::List { output, check }) => Command::CacheList {
            format: match output {
                args::ListOutputArg::Json => options::Format::Json,
                args::ListOutputArg::Yaml => options::Format::Yaml,
                _ => options::Format::Text,
            },
            wide: output == args::ListOutputArg::Wide,
            check,
            parse_get: parse_get_args,
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
        Cmd::Logout(a) => Command::Logout {
            who: who(a.who, defaults)?,
        },
        Cmd::Serve(a) => Command::Serve(crate::options::ServeOptions {
            socket: a.socket.map(|s| crate::fsutil::absolute(&s)),
            policy: a.policy,
            audit_log: a.audit_log,
            kubeconfig: a.kubeconfig.kubeconfig,
            admin_context: a.admin_context.unwrap_or_default(),
            vault: a.vault.given.serve_vault(defaults)?,
            cache: a.cache.into(),
            max_connections: usize::from(a.max_connections),
        }),
        Cmd::Rules(a) => Command::Rules {
            broker: options::BrokerRef {
                socket: a
                    .broker
                    .unwrap_or_else(|| crate::get_flags::default_broker_socket().into()),
                owner: a.broker_owner,
            },
            format: a.output.into(),
        },
        Cmd::Doctor(a) => Command::Doctor {
            // As every typed command: the admin context's namespace.
            namespace: a
                .namespace
                .or_else(|| {
                    let admin = a.admin_context.as_deref()?;
                    defaults.namespace(a.kubeconfig.kubeconfig.as_deref(), admin)
                })
                .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into()),
            kubeconfig: a.kubeconfig.kubeconfig,
            admin_context: a.admin_context,
            cache: a.cache.into(),
            parse_get: parse_get_args,
            format: a.output.into(),
        },
        Cmd::Completions { .. } | Cmd::Man { .. } | Cmd::Version => {
            unreachable!("handled in parse")
        }
    })
}

#[cfg(test)]
mod tests;
