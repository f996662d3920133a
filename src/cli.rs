//! The command line. clap stays in this file: [`parse`] turns arguments into
//! the plain inputs of the commands ([`Command`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::Error;
use crate::get::{EntrySpec, GetOptions, SourceKind};
use crate::store::CacheChoice;

#[derive(Parser, Debug)]
#[command(
    name = "kube-sa-token",
    version,
    about = "kubectl as a Kubernetes ServiceAccount: a client-go exec credential plugin that mints the SA's token through an admin context and keeps it in the OS keyring",
    propagate_version = true
)]
struct Cli {
    /// More detail on stderr (-v, -vv). Tokens are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print an ExecCredential for kubectl (what a kubeconfig exec entry runs).
    Get(GetArgs),
    /// Write a kubeconfig user and context that run `get` for a ServiceAccount.
    Setup(SetupArgs),
    /// Print a self-contained kubeconfig for a ServiceAccount.
    Kubeconfig(KubeconfigArgs),
    /// Show the header and claims of a token (given, or the cached one).
    Inspect(InspectArgs),
    /// Ask the server who the ServiceAccount token is (SelfSubjectReview) and its version.
    Whoami(WhoamiArgs),
    /// List or clear cached entries.
    #[command(subcommand)]
    Cache(CacheCmd),
    /// Forget a ServiceAccount's cached token; revoke it if it is bound to a Secret.
    Logout(LogoutArgs),
    /// Check the cache store, the admin context, the clock and the exec entries.
    Doctor(DoctorArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug, Clone)]
struct EntryArgs {
    /// Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config, merged like kubectl).
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<PathBuf>,
    /// The more privileged context that mints tokens.
    #[arg(long, value_name = "NAME")]
    admin_context: String,
    /// Namespace of the ServiceAccount (default: "default").
    #[arg(short, long, value_name = "NS")]
    namespace: Option<String>,
    /// The ServiceAccount, NAME or NS/NAME.
    #[arg(long = "service-account", value_name = "NAME")]
    service_account: Option<String>,
    /// Where the token comes from.
    #[arg(long, value_enum, default_value = "token-request")]
    source: SourceArg,
    /// Audience the token must carry (repeatable; default: the API server's).
    #[arg(long = "audience", value_name = "AUD")]
    audiences: Vec<String>,
    /// Bind tokens to a Secret this tool creates, so `logout` revokes them.
    #[arg(long)]
    bind_secret: bool,
}

#[derive(Args, Debug, Clone)]
struct MintArgs {
    /// TokenRequest lifetime (e.g. 1h, 30m; minimum 10m). The server may shorten it.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    duration: Duration,
    /// Token store.
    #[arg(long, value_enum, default_value = "auto")]
    cache: CacheArg,
    /// With --source secret: create a token Secret when the SA has none.
    #[arg(long)]
    create_secret: bool,
    /// How long a legacy token (no expiry) is handed out before the server confirms it again.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    revalidate_interval: Duration,
    /// How long to wait for the controller to fill in a created token Secret.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    secret_timeout: Duration,
    /// How long to wait for another process minting the same token.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    lock_timeout: Duration,
}

#[derive(Args, Debug)]
struct GetArgs {
    #[command(flatten)]
    entry: EntryArgs,
    #[command(flatten)]
    mint: MintArgs,
}

#[derive(Args, Debug)]
struct SetupArgs {
    #[command(flatten)]
    entry: EntryArgs,
    #[command(flatten)]
    mint: MintArgs,
    /// The ServiceAccount (NAME or NS/NAME), if not given with --service-account.
    #[arg(value_name = "SA")]
    sa: Option<String>,
    /// Name of the context (and user) to write (default: <sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    context_name: Option<String>,
    /// Print the change instead of writing it.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args, Debug)]
struct KubeconfigArgs {
    #[command(flatten)]
    entry: EntryArgs,
    #[command(flatten)]
    mint: MintArgs,
    #[arg(value_name = "SA")]
    sa: Option<String>,
    /// Embed the current token and the cluster CA instead of an exec entry.
    #[arg(long)]
    embed_token: bool,
    /// Name of the context in the output (default: <sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    context_name: Option<String>,
}

#[derive(Args, Debug)]
struct InspectArgs {
    /// A token, or "-" to read it from stdin (preferred: other users can see
    /// argv in `ps`). Without it: the cached token of the SA.
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Admin context: needed for the cached token and for --verify.
    #[arg(long)]
    admin_context: Option<String>,
    #[arg(short, long)]
    namespace: Option<String>,
    #[arg(long = "service-account")]
    service_account: Option<String>,
    #[arg(long, value_enum, default_value = "token-request")]
    source: SourceArg,
    #[arg(long = "audience")]
    audiences: Vec<String>,
    #[arg(long)]
    bind_secret: bool,
    #[command(flatten)]
    mint: MintArgs,
    /// Check the signature against the cluster's JWKS and ask the server (TokenReview).
    #[arg(long)]
    verify: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "text")]
    output: OutputArg,
}

#[derive(Args, Debug)]
struct WhoamiArgs {
    #[command(flatten)]
    entry: EntryArgs,
    #[command(flatten)]
    mint: MintArgs,
    #[arg(value_name = "SA")]
    sa: Option<String>,
    #[arg(short, long, value_enum, default_value = "text")]
    output: OutputArg,
}

#[derive(Subcommand, Debug)]
enum CacheCmd {
    /// List cached entries (never the token).
    List {
        #[arg(short, long, value_enum, default_value = "text")]
        output: OutputArg,
    },
    /// Remove one entry (by key from `cache list`) or all of them.
    Clear {
        #[arg(value_name = "KEY", required_unless_present = "all")]
        key: Option<String>,
        #[arg(long, conflicts_with = "key")]
        all: bool,
    },
}

#[derive(Args, Debug)]
struct LogoutArgs {
    #[command(flatten)]
    entry: EntryArgs,
    #[arg(value_name = "SA")]
    sa: Option<String>,
    /// Token store the entry is in.
    #[arg(long, value_enum, default_value = "auto")]
    cache: CacheArg,
}

#[derive(Args, Debug)]
struct DoctorArgs {
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Also check this admin context (reachability, rights, clock).
    #[arg(long)]
    admin_context: Option<String>,
    #[arg(short, long)]
    namespace: Option<String>,
    /// The store to test.
    #[arg(long, value_enum, default_value = "auto")]
    cache: CacheArg,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum SourceArg {
    TokenRequest,
    Secret,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum CacheArg {
    Auto,
    Keyring,
    Keyutils,
    File,
    None,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OutputArg {
    Text,
    Json,
}

/// Parses "90s", "10m", "1h30m", "2h", or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: use forms like 90s, 10m, 1h30m"
                ));
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: use forms like 90s, 10m, 1h30m"))?;
        total += n * unit;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: a number needs a unit (s, m, h)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Output format of the commands that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl From<OutputArg> for Format {
    fn from(o: OutputArg) -> Format {
        match o {
            OutputArg::Text => Format::Text,
            OutputArg::Json => Format::Json,
        }
    }
}

/// A parsed command with plain inputs.
#[derive(Debug)]
pub enum Command {
    Get(GetOptions),
    Setup {
        opts: GetOptions,
        context_name: Option<String>,
        dry_run: bool,
    },
    Kubeconfig {
        opts: GetOptions,
        embed_token: bool,
        context_name: Option<String>,
    },
    Inspect {
        token: Option<String>,
        opts: Option<GetOptions>,
        kubeconfig: Option<PathBuf>,
        admin_context: Option<String>,
        verify: bool,
        format: Format,
    },
    Whoami {
        opts: GetOptions,
        format: Format,
    },
    CacheList {
        format: Format,
    },
    CacheClear {
        key: Option<String>,
    },
    Logout {
        opts: GetOptions,
    },
    Doctor {
        kubeconfig: Option<PathBuf>,
        admin_context: Option<String>,
        namespace: String,
        cache: CacheChoice,
    },
    Completions(clap_complete::Shell),
}

/// The parsed command line.
#[derive(Debug)]
pub struct Invocation {
    pub verbose: u8,
    pub command: Command,
}

fn cache_choice(c: CacheArg) -> CacheChoice {
    match c {
        CacheArg::Auto => CacheChoice::Auto,
        CacheArg::Keyring => CacheChoice::Keyring,
        CacheArg::Keyutils => CacheChoice::Keyutils,
        CacheArg::File => CacheChoice::File,
        CacheArg::None => CacheChoice::None,
    }
}

fn source_kind(s: SourceArg) -> SourceKind {
    match s {
        SourceArg::TokenRequest => SourceKind::TokenRequest,
        SourceArg::Secret => SourceKind::Secret,
    }
}

const MIN_DURATION: Duration = Duration::from_secs(600);

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.starts_with(['-', '.'])
        && !s.ends_with(['-', '.'])
}

/// Resolves `--namespace`, `--service-account NS/NAME` and a positional SA.
fn entry_spec(e: EntryArgs, positional: Option<String>) -> Result<EntrySpec, Error> {
    let sa = match (e.service_account, positional) {
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
            if let Some(flag) = e.namespace.as_ref().filter(|f| f.as_str() != ns) {
                return Err(Error::Usage(format!(
                    "--namespace {flag} contradicts --service-account {sa}; give the namespace once"
                )));
            }
            (ns.to_string(), name.to_string())
        }
        None => (e.namespace.unwrap_or_else(|| "default".into()), sa),
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
    let source = source_kind(e.source);
    if e.bind_secret && source == SourceKind::Secret {
        return Err(Error::Usage(
            "--bind-secret works with --source token-request only".into(),
        ));
    }
    Ok(EntrySpec {
        kubeconfig: e.kubeconfig,
        admin_context: e.admin_context,
        namespace: ns,
        service_account: name,
        source,
        audiences: e.audiences,
        bind_secret: e.bind_secret,
    })
}

fn get_options(spec: EntrySpec, m: MintArgs) -> Result<GetOptions, Error> {
    if m.duration < MIN_DURATION {
        return Err(Error::Usage(format!(
            "--duration {}s is too short: the API server's minimum is 10m",
            m.duration.as_secs()
        )));
    }
    if m.create_secret && spec.source != SourceKind::Secret {
        return Err(Error::Usage(
            "--create-secret works with --source secret only".into(),
        ));
    }
    Ok(GetOptions {
        spec,
        duration: m.duration,
        cache: cache_choice(m.cache),
        create_secret: m.create_secret,
        revalidate: m.revalidate_interval.max(Duration::from_secs(1)),
        secret_wait: m.secret_timeout,
        lock_wait: m.lock_timeout,
    })
}

/// Parses the command line. `Err(clap::Error)` covers --help and --version too.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
) -> Result<Result<Invocation, Error>, clap::Error> {
    let cli = Cli::try_parse_from(args)?;
    let verbose = cli.verbose;
    Ok(convert(cli.command).map(|command| Invocation { verbose, command }))
}

fn convert(cmd: Cmd) -> Result<Command, Error> {
    Ok(match cmd {
        Cmd::Get(a) => Command::Get(get_options(entry_spec(a.entry, None)?, a.mint)?),
        Cmd::Setup(a) => Command::Setup {
            opts: get_options(entry_spec(a.entry, a.sa)?, a.mint)?,
            context_name: a.context_name,
            dry_run: a.dry_run,
        },
        Cmd::Kubeconfig(a) => Command::Kubeconfig {
            opts: get_options(entry_spec(a.entry, a.sa)?, a.mint)?,
            embed_token: a.embed_token,
            context_name: a.context_name,
        },
        Cmd::Inspect(a) => {
            let opts = match (&a.token, &a.admin_context) {
                (Some(_), _) => None,
                (None, Some(ctx)) => {
                    let e = EntryArgs {
                        kubeconfig: a.kubeconfig.clone(),
                        admin_context: ctx.clone(),
                        namespace: a.namespace,
                        service_account: a.service_account,
                        source: a.source,
                        audiences: a.audiences,
                        bind_secret: a.bind_secret,
                    };
                    Some(get_options(entry_spec(e, None)?, a.mint)?)
                }
                (None, None) => {
                    return Err(Error::Usage(
                        "inspect what? pass a TOKEN (or - for stdin), or --admin-context and --service-account for the cached token".into(),
                    ));
                }
            };
            if a.verify && a.admin_context.is_none() {
                return Err(Error::Usage(
                    "--verify needs --admin-context to reach the cluster".into(),
                ));
            }
            Command::Inspect {
                token: a.token,
                opts,
                kubeconfig: a.kubeconfig,
                admin_context: a.admin_context,
                verify: a.verify,
                format: a.output.into(),
            }
        }
        Cmd::Whoami(a) => Command::Whoami {
            opts: get_options(entry_spec(a.entry, a.sa)?, a.mint)?,
            format: a.output.into(),
        },
        Cmd::Cache(CacheCmd::List { output }) => Command::CacheList {
            format: output.into(),
        },
        Cmd::Cache(CacheCmd::Clear { key, all }) => Command::CacheClear {
            key: if all { None } else { key },
        },
        Cmd::Logout(a) => {
            let spec = entry_spec(a.entry, a.sa)?;
            let mut opts = get_options(spec, default_mint())?;
            opts.cache = cache_choice(a.cache);
            Command::Logout { opts }
        }
        Cmd::Doctor(a) => Command::Doctor {
            kubeconfig: a.kubeconfig,
            admin_context: a.admin_context,
            namespace: a.namespace.unwrap_or_else(|| "default".into()),
            cache: cache_choice(a.cache),
        },
        Cmd::Completions { shell } => Command::Completions(shell),
    })
}

fn default_mint() -> MintArgs {
    MintArgs {
        duration: Duration::from_secs(3600),
        cache: CacheArg::Auto,
        create_secret: false,
        revalidate_interval: Duration::from_secs(600),
        secret_timeout: Duration::from_secs(30),
        lock_timeout: Duration::from_secs(60),
    }
}

/// Writes completions for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "kube-sa-token", &mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> Command {
        let mut v = vec!["kube-sa-token"];
        v.extend_from_slice(args);
        parse(v.into_iter().map(OsString::from))
            .unwrap()
            .unwrap()
            .command
    }

    fn parse_err(args: &[&str]) -> String {
        let mut v = vec!["kube-sa-token"];
        v.extend_from_slice(args);
        match parse(v.into_iter().map(OsString::from)) {
            Ok(Ok(c)) => panic!("parsed: {c:?}"),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10").is_ok());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("5m3").is_err());
    }

    #[test]
    fn ns_slash_name() {
        match parse_ok(&[
            "get",
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
        ]) {
            Command::Get(o) => {
                assert_eq!(
                    (o.spec.namespace.as_str(), o.spec.service_account.as_str()),
                    ("team", "viewer")
                );
                assert_eq!(o.duration, Duration::from_secs(3600));
                assert_eq!(o.cache, CacheChoice::Auto);
                assert_eq!(o.spec.source, SourceKind::TokenRequest);
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn rejects_short_duration_and_bad_combinations() {
        assert!(
            parse_err(&[
                "get",
                "--admin-context",
                "a",
                "--service-account",
                "s",
                "--duration",
                "5m"
            ])
            .contains("10m")
        );
        assert!(
            parse_err(&[
                "get",
                "--admin-context",
                "a",
                "--service-account",
                "s",
                "--create-secret"
            ])
            .contains("--source secret")
        );
        assert!(
            parse_err(&[
                "get",
                "--admin-context",
                "a",
                "-n",
                "x",
                "--service-account",
                "y/s"
            ])
            .contains("contradicts")
        );
        assert!(parse_err(&["get", "--admin-context", "a"]).contains("--service-account"));
        assert!(parse_err(&["get", "--service-account", "s"]).contains("--admin-context"));
        assert!(
            parse_err(&[
                "get",
                "--admin-context",
                "a",
                "--service-account",
                "Bad_Name"
            ])
            .contains("invalid")
        );
    }

    #[test]
    fn setup_takes_positional_sa() {
        match parse_ok(&[
            "setup",
            "--admin-context",
            "admin",
            "-n",
            "team",
            "viewer",
            "--dry-run",
        ]) {
            Command::Setup { opts, dry_run, .. } => {
                assert!(dry_run);
                assert_eq!(opts.spec.service_account, "viewer");
                assert_eq!(opts.spec.namespace, "team");
            }
            c => panic!("{c:?}"),
        }
    }
}
