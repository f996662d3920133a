//! The clap definitions of every command and flag, with their help texts.
//! Defaults come from [`crate::options`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::duration::{Dur, parse_dur};
use crate::options::{self, CacheChoice, Format, SourceKind};

#[derive(Parser, Debug)]
#[command(
    name = "kube-sa-token",
    version,
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

#[derive(Subcommand, Debug)]
pub(super) enum Cmd {
    /// Print an ExecCredential for kubectl (what a kubeconfig exec entry runs).
    Get(GetArgs),
    /// Write a kubeconfig user and context that run `get` for a ServiceAccount (or --user).
    Setup(SetupArgs),
    /// Print a self-contained kubeconfig for a ServiceAccount (or --user).
    Kubeconfig(KubeconfigArgs),
    /// Show the header and claims of a token, or a user's certificate (given, or the cached one).
    Inspect(InspectArgs),
    /// Ask the server who the ServiceAccount token (or user certificate) is (SelfSubjectReview) and its version.
    Whoami(WhoamiArgs),
    /// List or clear cached entries.
    #[command(subcommand)]
    Cache(CacheCmd),
    /// Forget a ServiceAccount's cached token (revoked if bound to a Secret) or a user's certificate.
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
pub(super) struct KubeconfigArg {
    /// Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config, merged like kubectl).
    #[arg(long, value_name = "PATH")]
    pub(super) kubeconfig: Option<PathBuf>,
}

/// Which token, except the admin context.
#[derive(Args, Debug, Clone)]
pub(super) struct TokenArgs {
    #[command(flatten)]
    pub(super) kubeconfig: KubeconfigArg,
    /// Namespace of the ServiceAccount (default: "default").
    #[arg(short, long, value_name = "NS")]
    pub(super) namespace: Option<String>,
    /// The ServiceAccount, NAME or NS/NAME.
    #[arg(long = "service-account", value_name = "NAME")]
    pub(super) service_account: Option<String>,
    /// An X.509 user instead of a ServiceAccount: a client certificate for
    /// NAME signed through the CertificateSigningRequest API.
    #[arg(long, value_name = "NAME", conflicts_with = "service_account")]
    pub(super) user: Option<String>,
    /// A group of the --user (repeatable; the certificate's O attributes).
    #[arg(
        long = "group",
        value_name = "GROUP",
        requires = "user",
        conflicts_with = "service_account"
    )]
    pub(super) groups: Vec<String>,
    /// Where the token comes from.
    #[arg(long, value_enum, default_value_t = SourceKind::default().into())]
    pub(super) source: SourceArg,
    /// Audience the token must carry (repeatable; default: the API server's).
    #[arg(long = "audience", value_name = "AUD")]
    pub(super) audiences: Vec<String>,
    /// Bind tokens to a Secret this tool creates, so `logout` revokes them.
    #[arg(long)]
    pub(super) bind_secret: bool,
}

#[derive(Args, Debug, Clone)]
pub(super) struct EntryArgs {
    /// The more privileged context that mints tokens.
    #[arg(long, value_name = "NAME")]
    pub(super) admin_context: String,
    #[command(flatten)]
    pub(super) token: TokenArgs,
}

/// Where credentials are kept: every command that reads or writes one.
#[derive(Args, Debug, Clone)]
pub(super) struct StoreArgs {
    /// Token store.
    #[arg(long, value_enum, default_value_t = CacheChoice::default().into())]
    pub(super) cache: CacheArg,
}

#[derive(Args, Debug, Clone)]
pub(super) struct MintArgs {
    /// Token (or certificate) lifetime (e.g. 1h, 30m; minimum 10m). The server may shorten it.
    #[arg(long, value_name = "DURATION", default_value_t = Dur(options::DEFAULT_DURATION), value_parser = parse_dur)]
    pub(super) duration: Dur,
    #[command(flatten)]
    pub(super) store: StoreArgs,
    /// With --source secret: create a token Secret when the SA has none.
    #[arg(long)]
    pub(super) create_secret: bool,
    /// How long a legacy token (no expiry) is handed out before the server confirms it again.
    #[arg(long, value_name = "DURATION", default_value_t = Dur(options::DEFAULT_REVALIDATE), value_parser = parse_dur)]
    pub(super) revalidate_interval: Dur,
    /// How long to wait for the controller to fill in a created token Secret.
    #[arg(long, value_name = "DURATION", default_value_t = Dur(options::DEFAULT_SECRET_WAIT), value_parser = parse_dur)]
    pub(super) secret_timeout: Dur,
    /// Do not mint a token's successor in the background once half of its
    /// serve window has passed (the call that finds it stale then waits).
    #[arg(long)]
    pub(super) no_refresh_ahead: bool,
    /// How long to wait for another process minting the same token.
    #[arg(long, value_name = "DURATION", default_value_t = Dur(options::DEFAULT_LOCK_WAIT), value_parser = parse_dur)]
    pub(super) lock_timeout: Dur,
    /// With --user: do not approve the CertificateSigningRequest with the
    /// admin context; wait for someone else to (`kubectl certificate approve`).
    #[arg(long)]
    pub(super) no_approve: bool,
    /// With --user: how long to wait for the request's approval and certificate.
    #[arg(long, value_name = "DURATION", default_value_t = Dur(options::DEFAULT_CSR_WAIT), value_parser = parse_dur)]
    pub(super) csr_timeout: Dur,
}

#[derive(Args, Debug)]
pub(super) struct GetArgs {
    #[command(flatten)]
    pub(super) entry: EntryArgs,
    #[command(flatten)]
    pub(super) mint: MintArgs,
    /// What refresh-ahead runs: mint the successor, print nothing.
    #[arg(long, hide = true)]
    pub(super) refresh_in_background: bool,
}

#[derive(Args, Debug)]
pub(super) struct SetupArgs {
    #[command(flatten)]
    pub(super) entry: EntryArgs,
    #[command(flatten)]
    pub(super) mint: MintArgs,
    /// The ServiceAccount (NAME or NS/NAME), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
    /// Name of the context (and user) to write (default: <ns>/<sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    pub(super) context_name: Option<String>,
    /// Print the change instead of writing it.
    #[arg(long)]
    pub(super) dry_run: bool,
}

#[derive(Args, Debug)]
pub(super) struct KubeconfigArgs {
    #[command(flatten)]
    pub(super) entry: EntryArgs,
    #[command(flatten)]
    pub(super) mint: MintArgs,
    /// The ServiceAccount (NAME or NS/NAME), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
    /// Embed the current token (or a user's certificate and key) and the cluster CA instead of an exec entry.
    #[arg(long)]
    pub(super) embed_token: bool,
    /// Name of the context in the output (default: <ns>/<sa>@<admin cluster>).
    #[arg(long, value_name = "NAME")]
    pub(super) context_name: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct InspectArgs {
    /// "-": read a token or PEM certificate from stdin. A token given here
    /// works too, but other users see argv (`ps`) and it stays in the shell's
    /// history: use "-" or --file. Without it: the cached token of the SA
    /// (or certificate of the --user).
    #[arg(value_name = "-|TOKEN", conflicts_with = "file")]
    pub(super) token: Option<String>,
    /// Read the token or PEM certificate from this file.
    #[arg(long, value_name = "PATH")]
    pub(super) file: Option<PathBuf>,
    /// Admin context: needed for the cached token and for --verify.
    #[arg(long, value_name = "NAME")]
    pub(super) admin_context: Option<String>,
    #[command(flatten)]
    pub(super) sa: TokenArgs,
    /// (Only the store: inspecting mints nothing, so no mint option applies.)
    #[command(flatten)]
    pub(super) store: StoreArgs,
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
    pub(super) entry: EntryArgs,
    #[command(flatten)]
    pub(super) mint: MintArgs,
    /// The ServiceAccount (NAME or NS/NAME), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
    pub(super) output: OutputArg,
}

#[derive(Subcommand, Debug)]
pub(super) enum CacheCmd {
    /// List cached entries (never the token).
    List {
        /// Output format.
        #[arg(short, long, value_enum, default_value_t = OutputArg::Text)]
        output: OutputArg,
        /// Ask the server whether each cached token still works (a
        /// SelfSubjectReview made with it), and why not.
        #[arg(long)]
        check: bool,
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
pub(super) struct LogoutArgs {
    #[command(flatten)]
    pub(super) entry: EntryArgs,
    /// The ServiceAccount (NAME or NS/NAME), if not given with --service-account.
    #[arg(value_name = "SA")]
    pub(super) sa: Option<String>,
    /// Token store the entry is in.
    #[arg(long, value_enum, default_value_t = CacheChoice::default().into())]
    pub(super) cache: CacheArg,
}

#[derive(Args, Debug)]
pub(super) struct DoctorArgs {
    #[command(flatten)]
    pub(super) kubeconfig: KubeconfigArg,
    /// Also check this admin context (reachability, rights, clock).
    #[arg(long, value_name = "NAME")]
    pub(super) admin_context: Option<String>,
    /// Namespace to check the admin context's rights in (default: "default").
    #[arg(short, long, value_name = "NS")]
    pub(super) namespace: Option<String>,
    /// The store to test.
    #[arg(long, value_enum, default_value_t = CacheChoice::default().into())]
    pub(super) cache: CacheArg,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(super) enum SourceArg {
    TokenRequest,
    Secret,
}

impl From<SourceKind> for SourceArg {
    fn from(s: SourceKind) -> SourceArg {
        match s {
            SourceKind::TokenRequest => SourceArg::TokenRequest,
            SourceKind::Secret => SourceArg::Secret,
        }
    }
}

impl From<SourceArg> for SourceKind {
    fn from(s: SourceArg) -> SourceKind {
        match s {
            SourceArg::TokenRequest => SourceKind::TokenRequest,
            SourceArg::Secret => SourceKind::Secret,
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(super) enum CacheArg {
    Auto,
    Keyring,
    Keyutils,
    File,
    None,
}

impl From<CacheChoice> for CacheArg {
    fn from(c: CacheChoice) -> CacheArg {
        match c {
            CacheChoice::Auto => CacheArg::Auto,
            CacheChoice::Keyring => CacheArg::Keyring,
            CacheChoice::Keyutils => CacheArg::Keyutils,
            CacheChoice::File => CacheArg::File,
            CacheChoice::None => CacheArg::None,
        }
    }
}

impl From<CacheArg> for CacheChoice {
    fn from(c: CacheArg) -> CacheChoice {
        match c {
            CacheArg::Auto => CacheChoice::Auto,
            CacheArg::Keyring => CacheChoice::Keyring,
            CacheArg::Keyutils => CacheChoice::Keyutils,
            CacheArg::File => CacheChoice::File,
            CacheArg::None => CacheChoice::None,
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutputArg {
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
