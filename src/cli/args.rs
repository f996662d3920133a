//! The clap definitions of every command and flag, with their help texts.
//! `get`'s flags come from their table ([`crate::get_flags`]), through
//! [`TableArgs`]; the other commands' own flags are defined here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::table_args::{
    FINDS_OR_CONTEXT, GET, INSPECTS, MINTS_OR_CONTEXT, SERVE_VAULT, SETUP, TableArgs,
};
pub(super) use super::who_args::{ContextArg, ExecArgs, IdentityArgs, ShellArgs};
use crate::options::{CacheChoice, Format};

/// The exit codes (`error::ExitCode`), as docs/troubleshooting.md lists them.
pub(super) const EXIT_CODES: &str = "Exit codes: 0 ok, 1 other failure, 2 usage or bad KUBERNETES_EXEC_INFO, 3 kubeconfig or admin context, 4 API server (refused, missing RBAC rights included, or unreachable), 5 token store, 6 refused for safety (cluster binding, recursion).";

/// The version, and the commit it was built from where the build knew it
/// (`build.rs`).
pub(super) const VERSION: &str = if env!("KUBE_SA_TOKEN_COMMIT").is_empty() {
    env!("CARGO_PKG_VERSION")
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (commit ",
        env!("KUBE_SA_TOKEN_COMMIT"),
        ")"
    )
};

#[derive(Parser, Debug)]
#[command(
    name = "kube-sa-token",
    version = VERSION,
    after_help = EXIT_CODES,
    about = "kubectl as a Kubernetes ServiceAccount (or an X.509 user): a client-go exec credential plugin that mints the SA's token (or the user's client certificate) through an admin context and keeps it in the OS keyring",
    propagate_version = true
)]
pub(super) struct Cli {
    /// More detail on stderr (-v, -vv). Tokens are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(super) verbose: u8,
    #[command(subcommand)]
    pub(super) command: Cmd,
}

/// The mint options `whoami`, `kubeconfig` and `token` accept without
/// listing them (with --context they come from its exec entry); a test
/// holds the list to the table's Mint group.
macro_rules! mint_options {
    () => {
        "Also accepted, as `get --help` lists them: --duration, --csr-timeout, --revalidate-interval, --secret-timeout, --lock-timeout, --create-secret, --no-refresh-ahead, --no-approve. With --context they come from its exec entry, written by `setup`."
    };
}
#[cfg(test)]
pub(super) const MINT_OPTIONS: &str = mint_options!();

#[derive(Subcommand, Debug)]
pub(super) enum Cmd {
    /// Print an ExecCredential for kubectl (what a kubeconfig exec entry runs).
    #[command(after_help = "Examples:
  kube-sa-token get --admin-context admin team/viewer | jq .status.expirationTimestamp
  kube-sa-token get --admin-context admin --user alice --group dev -n team")]
    Get(GetArgs),
    /// Write a kubeconfig user and context that run `get` for a ServiceAccount (or --user).
    #[command(after_help = "Examples:
  kube-sa-token setup --admin-context admin team/viewer
  kube-sa-token setup --admin-context admin --user alice --group dev -n team
  kube-sa-token setup --admin-context admin team/viewer --dry-run   # credentials redacted
  kube-sa-token setup --admin-context admin team/viewer --print-rbac \\
    | kubectl --context admin apply -f -")]
    Setup(SetupArgs),
    /// Print a self-contained kubeconfig for a ServiceAccount (or --user).
    #[command(after_help = concat!("Examples:
  kube-sa-token kubeconfig --context team/viewer@test --output-file viewer.kubeconfig
  KUBECONFIG=viewer.kubeconfig kubectl get pods
  kube-sa-token kubeconfig --context team/viewer@test --embed-token \\
    --output-file ci.kubeconfig

", mint_options!()))]
    Kubeconfig(KubeconfigArgs),
    /// Show the header and claims of a token, or a user's certificate (given, or the cached one).
    #[command(after_help = "Examples:
  kube-sa-token inspect            # the current context's cached credential
  kube-sa-token inspect --context team/viewer@test --verify
  kube-sa-token inspect --admin-context admin team/viewer -o json
  kube-sa-token inspect - < token.jwt")]
    Inspect(InspectArgs),
    /// Ask the server who the ServiceAccount token (or user certificate) is (SelfSubjectReview) and its version.
    #[command(after_help = concat!("Examples:
  kube-sa-token whoami                                    # the current context's identity
  kube-sa-token whoami --context team/viewer@test -o json

", mint_options!()))]
    Whoami(WhoamiArgs),
    /// Print the raw token for curl and scripts (the cached one, else minted), and with --ca-file write the cluster's CA.
    #[command(after_help = concat!("Examples:
  TOKEN=$(kube-sa-token token --context team/viewer@test --ca-file ca.crt)
  curl --cacert ca.crt -H \"Authorization: Bearer $TOKEN\" \"$SERVER/version\"

", mint_options!()))]
    Token(TokenCmdArgs),
    /// List or clear cached entries.
    #[command(
        subcommand,
        after_help = "Examples:
  kube-sa-token cache list --check
  kube-sa-token cache clear team/viewer   # or a key prefix, user:NAME, a context, --all"
    )]
    Cache(CacheCmd),
    /// Forget a ServiceAccount's cached token (revoked if bound to a Secret) or a user's certificate.
    #[command(after_help = "Examples:
  kube-sa-token logout --context team/viewer@test         # every entry of that identity
  kube-sa-token logout --admin-context admin team/viewer")]
    Logout(LogoutArgs),
    /// Run a command as a ServiceAccount (or --user), with a kubeconfig of its own: your kubeconfig is not touched.
    #[command(after_help = "Examples:
  kube-sa-token exec --admin-context admin team/viewer -- kubectl get pods
  kube-sa-token exec --context team/viewer@test -- helm list
  kube-sa-token exec team/viewer --broker -- my-agent

COMMAND runs with KUBECONFIG naming a kubeconfig of one cluster, user and
context (the namespace as its default), 0600 in the memory-backed runtime
directory and removed when COMMAND ends, and KUBE_SA_TOKEN_IDENTITY naming
the identity (for prompts). The credential is obtained first: a refusal
shows before COMMAND runs, with get's exit code. Otherwise the exit status
is COMMAND's (128 + N when signal N ended it); SIGINT, SIGQUIT, SIGTERM and
SIGHUP sent to exec are passed to COMMAND.")]
    Exec(ExecArgs),
    /// Start your $SHELL as a ServiceAccount (or --user), as exec runs a command.
    #[command(after_help = "Examples:
  kube-sa-token shell --context team/viewer@test
  kube-sa-token shell --admin-context admin team/viewer

A prompt can show the identity: KUBE_SA_TOKEN_IDENTITY is set in the shell
(bash: PS1='[$KUBE_SA_TOKEN_IDENTITY] \\w\\$ '; docs/exec.md has zsh and fish).")]
    Shell(ShellArgs),
    /// Check the cache store, the admin context, the clock and the exec entries.
    #[command(after_help = "Examples:
  kube-sa-token doctor
  kube-sa-token doctor --admin-context admin -n team --cache keyring")]
    Doctor(DoctorArgs),
    /// Run the local credential broker: credentials for other local users and sandboxes, by a policy, over a Unix socket; they never see the admin kubeconfig (docs/broker.md).
    #[command(after_help = "Examples:
  kube-sa-token serve --admin-context admin              # as root: /run, /var/log, /etc
  kube-sa-token serve --kubeconfig ~/.kube/admin --admin-context admin \\
    --socket /srv/kst/broker.sock --policy policy.yaml --audit-log -
Clients: kube-sa-token setup team/viewer --broker       # the command serve prints")]
    Serve(ServeArgs),
    /// List what the local credential broker lets you have: each rule naming you, with its ServiceAccounts, users and groups, longest duration, audiences and sources.
    #[command(after_help = "Examples:
  kube-sa-token rules                                   # root's broker
  kube-sa-token rules --broker /srv/kst/broker.sock --broker-owner alice -o json")]
    Rules(RulesArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the version and the commit it was built from (as --version).
    Version,
    /// Print the man page (roff): `kube-sa-token man | man -l -`.
    Man {
        /// Write the pages of every command into DIR instead
        /// (kube-sa-token.1, kube-sa-token-get.1, ...).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
pub(super) struct KubeconfigArg {
    /// Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config, merged like kubectl).
    #[arg(long, value_name = "PATH")]
    pub(super) kubeconfig: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct GetArgs {
    #[command(flatten)]
    pub(super) flags: TableArgs<GET>,
    /// The ServiceAccount (NAME or NS/NAME; NS:NAME too), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct SetupArgs {
    #[command(flatten)]
    pub(super) flags: TableArgs<SETUP>,
    /// The ServiceAccount (NAME or NS/NAME; NS:NAME too), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
    /// Name of the context (and user) to write (default: <ns>/<sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    pub(super) context_name: Option<String>,
    /// Print the change instead of writing it.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Print the Role/ClusterRole and bindings that grant the admin context
    /// exactly the rights these options need and it lacks (for `kubectl
    /// apply -f -`); write nothing.
    #[arg(long, conflicts_with = "dry_run")]
    pub(super) print_rbac: bool,
    /// Make the context kubectl's current one (it is made current anyway
    /// when the kubeconfig has none).
    #[arg(long = "use")]
    pub(super) use_context: bool,
    /// Undo: remove the user and context setup wrote for this identity
    /// (a broker's cluster entry too, when no other context uses it); the
    /// cached credential stays (logout forgets it).
    #[arg(long, conflicts_with_all = ["print_rbac", "use_context"])]
    pub(super) remove: bool,
}

#[derive(Args, Debug)]
pub(super) struct KubeconfigArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<MINTS_OR_CONTEXT>,
    /// Embed the current token (or a user's certificate and key) and the cluster CA instead of an exec entry.
    #[arg(long)]
    pub(super) embed_token: bool,
    /// Name of the context in the output (default: <ns>/<sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    pub(super) context_name: Option<String>,
    /// Write the kubeconfig to FILE (mode 0600, replaced atomically) instead
    /// of stdout.
    #[arg(long, value_name = "FILE")]
    pub(super) output_file: Option<PathBuf>,
    /// The kubeconfig's format (kubectl reads both).
    #[arg(short, long, value_enum, default_value_t = DocumentArg::Yaml)]
    pub(super) output: DocumentArg,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DocumentArg {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
pub(super) struct InspectArgs {
    #[command(flatten)]
    pub(super) context: ContextArg,
    /// "-": read a token or PEM certificate from stdin. With --admin-context
    /// (or -n, --user...): the ServiceAccount whose cached token to show, as
    /// for `whoami`. Alone: a file holding a token or certificate. A token
    /// given here is refused unless --allow-argv-token says so: other users
    /// see argv (`ps`) and it stays in the shell's history; use "-" or
    /// --file. Without any: the cached credential of --context (default:
    /// the current context).
    #[arg(value_name = "-|FILE|SA|TOKEN", conflicts_with = "file")]
    pub(super) token: Option<String>,
    /// Take a token given as the argument all the same (other users can read
    /// it in the process list while inspect runs).
    #[arg(long)]
    pub(super) allow_argv_token: bool,
    /// Read the token or PEM certificate from this file.
    #[arg(long, value_name = "PATH")]
    pub(super) file: Option<PathBuf>,
    /// Admin context of a cached credential named by flags (default:
    /// $KUBE_SA_TOKEN_ADMIN_CONTEXT, else the current context), and the
    /// cluster --verify asks about a given token.
    #[arg(long, value_name = "NAME")]
    pub(super) admin_context: Option<String>,
    /// Which credential and its store (inspecting mints nothing, so no
    /// mint option applies).
    #[command(flatten)]
    pub(super) flags: TableArgs<INSPECTS>,
    /// Check the signature against the cluster's JWKS and ask the server (TokenReview).
    #[arg(long)]
    pub(super) verify: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
}

#[derive(Args, Debug)]
pub(super) struct WhoamiArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<MINTS_OR_CONTEXT>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
}

#[derive(Args, Debug)]
pub(super) struct TokenCmdArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<MINTS_OR_CONTEXT>,
    /// Also write the cluster's CA certificate (PEM) to FILE, for `curl --cacert`.
    #[arg(long, value_name = "FILE")]
    pub(super) ca_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(super) enum CacheCmd {
    /// List cached entries (never the token).
    List {
        /// Output format (wide: with each credential's id in the API
        /// server's audit log).
        #[arg(short, long, value_enum, default_value_t = ListOutputArg::Text)]
        output: ListOutputArg,
        /// Ask the server whether each cached token still works (a
        /// SelfSubjectReview made with it), and why not.
        #[arg(long)]
        check: bool,
    },
    /// Remove entries: by key (or its first characters) from `cache list`,
    /// by who (NS/SA, user:NAME), by kubeconfig context, or --all.
    Clear {
        #[arg(value_name = "KEY|NS/SA|user:NAME|CONTEXT")]
        key: Option<String>,
        /// Every entry.
        #[arg(long, conflicts_with = "key")]
        all: bool,
    },
}

#[derive(Args, Debug)]
pub(super) struct LogoutArgs {
    #[command(flatten)]
    pub(super) who: IdentityArgs<FINDS_OR_CONTEXT>,
}

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// The socket to listen on (under systemd socket activation, the socket systemd passes instead) [default: /run/kube-sa-token/broker.sock as root, else $XDG_RUNTIME_DIR/kube-sa-token/broker.sock].
    #[arg(long, value_name = "PATH")]
    pub(super) socket: Option<PathBuf>,
    /// The policy: which callers may have which credentials (YAML, default deny; re-read when it changes).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/etc/kube-sa-token/policy.yaml"
    )]
    pub(super) policy: PathBuf,
    /// The audit log: a JSON line per request (`-`: stdout) [default: /var/log/kube-sa-token/audit.jsonl as root, else ~/.local/state/kube-sa-token/audit.jsonl].
    #[arg(long, value_name = "FILE")]
    pub(super) audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub(super) kubeconfig: KubeconfigArg,
    /// The more privileged context that mints the credentials.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "vault-role",
        conflicts_with = "vault-role"
    )]
    pub(super) admin_context: Option<String>,
    /// Or mint through a Vault/OpenBao Kubernetes secrets engine's role
    /// (docs/vault.md), with the broker account's Vault token or login.
    #[command(flatten)]
    pub(super) vault: TableArgs<SERVE_VAULT>,
    /// The broker's own credential store.
    #[arg(long, value_enum, default_value_t = CacheArg::Auto)]
    pub(super) cache: CacheArg,
    /// Connections served at once; more are answered "busy".
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    pub(super) max_connections: u16,
}

#[derive(Args, Debug)]
pub(super) struct RulesArgs {
    /// The broker's socket [default: $KUBE_SA_TOKEN_BROKER, else /run/kube-sa-token/broker.sock].
    #[arg(long, value_name = "SOCKET")]
    pub(super) broker: Option<PathBuf>,
    /// The account the broker runs as, when not root (a user name or uid).
    #[arg(long, value_name = "USER")]
    pub(super) broker_owner: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
}

#[derive(Args, Debug)]
pub(super) struct DoctorArgs {
    #[command(flatten)]
    pub(super) kubeconfig: KubeconfigArg,
    /// Also check this admin context (reachability, rights, clock).
    #[arg(long, value_name = "NAME")]
    pub(super) admin_context: Option<String>,
    /// Namespace to check the admin context's rights in (default: the admin context's, else "default").
    #[arg(short, long, value_name = "NS")]
    pub(super) namespace: Option<String>,
    /// The store to test.
    #[arg(long, value_enum, default_value_t = CacheArg::Auto)]
    pub(super) cache: CacheArg,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(super) enum CacheArg {
    Auto,
    Keyring,
    Keyutils,
    Tmpfs,
    File,
    None,
}

impl From<CacheArg> for CacheChoice {
    fn from(c: CacheArg) -> CacheChoice {
        match c {
            CacheArg::Auto => CacheChoice::Auto,
            CacheArg::Keyring => CacheChoice::Keyring,
            CacheArg::Keyutils => CacheChoice::Keyutils,
            CacheArg::File => CacheChoice::File,
            CacheArg::Tmpfs => CacheChoice::Tmpfs,
            CacheArg::None => CacheChoice::None,
        }
    }
}

/// `cache list`'s formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListOutputArg {
    Text,
    Wide,
    Json,
    Yaml,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutputArg {
    Text,
    Json,
    Yaml,
}

impl From<OutputArg> for Format {
    fn from(o: OutputArg) -> Format {
        match o {
            OutputArg::Text => Format::Text,
            OutputArg::Json => Format::Json,
            OutputArg::Yaml => Format::Yaml,
        }
    }
}
