//! The command line. clap stays in this module: [`parse`] turns arguments
//! into the plain inputs of the commands ([`crate::options`]), and
//! [`exec_args`] is its inverse, the `get` arguments a kubeconfig exec entry
//! carries.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap::Parser;

use crate::error::{Error, ExitCode};
use crate::options::{
    self, Command, GetOptions, InspectInput, Invocation, Principal, SourceKind, TokenSpec,
};
use crate::token::Token;

mod args;
mod duration;
mod fast_get;

#[cfg(test)]
use crate::exec_args::exec_args;
use args::{CacheCmd, Cli, Cmd, EntryArgs, MintArgs};
use duration::Dur;
#[cfg(test)]
pub(crate) use duration::parse_duration;

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

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// Resolves `--namespace`, `--service-account NS/NAME` and a positional SA,
/// or `--user` and its groups.
fn token_spec(e: EntryArgs, positional: Option<String>) -> Result<TokenSpec, Error> {
    if e.admin_context.is_empty() {
        return Err(Error::Usage("--admin-context must not be empty".into()));
    }
    let t = e.token;
    if let Some(name) = t.user.clone() {
        return user_spec(e.admin_context, name, t, positional);
    }
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
        principal: Principal::ServiceAccount(name),
        source,
        audiences: t.audiences,
        bind_secret: t.bind_secret,
    })
}

/// An X.509 user: a name and groups the API server reads from the
/// certificate as they are; the token-only flags do not apply.
fn user_spec(
    admin_context: String,
    name: String,
    t: args::TokenArgs,
    positional: Option<String>,
) -> Result<TokenSpec, Error> {
    let groups = t.groups;
    if positional.is_some() {
        return Err(Error::Usage(
            "give either --user or a ServiceAccount, not both".into(),
        ));
    }
    for (what, v) in
        std::iter::once(("user name", &name)).chain(groups.iter().map(|g| ("group", g)))
    {
        if !crate::x509::valid_name(v) {
            return Err(Error::Usage(format!(
                "invalid {what} {v:?}: it must not be empty, longer than 256 characters or hold control characters"
            )));
        }
    }
    if name.starts_with("system:") {
        return Err(Error::Usage(format!(
            "--user {name:?}: names starting with \"system:\" are reserved for Kubernetes components; for a ServiceAccount use --service-account"
        )));
    }
    // system:masters bypasses RBAC altogether, system:authenticated is added
    // by the server: neither tests anything.
    if let Some(g) = groups.iter().find(|g| g.starts_with("system:")) {
        return Err(Error::Usage(format!(
            "--group {g:?}: groups starting with \"system:\" are Kubernetes' own (system:masters bypasses RBAC, system:authenticated is added by the server); test RBAC with your own group names"
        )));
    }
    if SourceKind::from(t.source) != SourceKind::default()
        || !t.audiences.is_empty()
        || t.bind_secret
    {
        return Err(Error::Usage(
            "--source, --audience and --bind-secret are for ServiceAccount tokens, not --user"
                .into(),
        ));
    }
    let namespace = t
        .namespace
        .unwrap_or_else(|| options::DEFAULT_NAMESPACE.into());
    if !is_dns_label(&namespace) {
        return Err(Error::Usage(format!(
            "invalid namespace {namespace:?}: use lowercase letters, digits, '-' and '.'"
        )));
    }
    Ok(TokenSpec {
        kubeconfig: t.kubeconfig.kubeconfig,
        admin_context,
        namespace,
        principal: Principal::User { name, groups },
        source: SourceKind::default(),
        audiences: Vec::new(),
        bind_secret: false,
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
    if !spec.is_user() && (m.no_approve || m.csr_timeout.0 != options::DEFAULT_CSR_WAIT) {
        return Err(Error::Usage(
            "--no-approve and --csr-timeout work with --user only".into(),
        ));
    }
    if m.create_secret && spec.source != SourceKind::Secret {
        return Err(Error::Usage(
            "--create-secret works with --source secret only".into(),
        ));
    }
    Ok(GetOptions {
        spec,
        duration: m.duration.0,
        cache: m.store.cache.into(),
        create_secret: m.create_secret,
        revalidate: m.revalidate_interval.0.max(Duration::from_secs(1)),
        secret_wait: m.secret_timeout.0,
        lock_wait: m.lock_timeout.0,
        refresh_ahead: !m.no_refresh_ahead,
        approve: !m.no_approve,
        csr_wait: m.csr_timeout.0,
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
                _ if a.file.is_some() => InspectInput::File(a.file.clone().unwrap_or_default()),
                (Some(t), _) if t == "-" => InspectInput::Stdin,
                (Some(t), _) => InspectInput::Given(Token::new(t)),
                (None, Some(ctx)) => {
                    let e = EntryArgs {
                        admin_context: ctx.clone(),
                        token: a.sa,
                    };
                    let mut opts = GetOptions::with_defaults(token_spec(e, None)?);
                    opts.cache = a.store.cache.into();
                    InspectInput::Cached(Box::new(opts))
                }
                (None, None) => {
                    return Err(Error::Usage(
                        "inspect what? pass a TOKEN or a certificate (or - for stdin), or --admin-context and --service-account (or --user) for the cached one".into(),
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
            parse_get: parse_get_args,
        },
        Cmd::Completions { .. } => unreachable!("handled in parse"),
    })
}

#[cfg(test)]
mod tests;
