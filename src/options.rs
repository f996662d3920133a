//! The plain inputs of the commands (what `cli.rs` turns arguments into), and
//! every default in one place: the command line, the exec-argument writer and
//! the commands that need options they were not given all read them here.

use std::path::PathBuf;
use std::time::Duration;

/// TokenRequest lifetime asked for (`--duration`).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
/// The API server refuses TokenRequests shorter than this.
pub const MIN_DURATION: Duration = Duration::from_secs(600);
/// How long a legacy token is served before the server confirms it again.
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(600);
/// How long to wait for the token controller to fill in a created Secret.
pub const DEFAULT_SECRET_WAIT: Duration = Duration::from_secs(30);
/// How long to wait for another process minting the same token.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);
/// The namespace of a ServiceAccount given without one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where a token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    #[default]
    TokenRequest,
    Secret,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::TokenRequest => "token-request",
            SourceKind::Secret => "secret",
        }
    }
}

/// Which store the user asked for (`--cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheChoice {
    #[default]
    Auto,
    Keyring,
    Keyutils,
    File,
    None,
}

impl CacheChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheChoice::Auto => "auto",
            CacheChoice::Keyring => "keyring",
            CacheChoice::Keyutils => "keyutils",
            CacheChoice::File => "file",
            CacheChoice::None => "none",
        }
    }
}

/// Output format of the commands that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Which token: everything that identifies a cache entry except the server.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// `--kubeconfig`; `None` reads KUBECONFIG, then ~/.kube/config.
    pub kubeconfig: Option<PathBuf>,
    pub admin_context: String,
    pub namespace: String,
    pub service_account: String,
    pub source: SourceKind,
    pub audiences: Vec<String>,
    pub bind_secret: bool,
}

impl TokenSpec {
    /// The username the API server gives the ServiceAccount.
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    /// The name of the Secret `--bind-secret` tokens are bound to, for the
    /// entry whose cache key is `key`.
    pub fn bound_secret_name(&self, key: &str) -> String {
        let sa: String = self.service_account.chars().take(200).collect();
        format!("kube-sa-token-{sa}-{}", &key[..key.len().min(10)])
    }
}

/// All inputs of `get` (and of the commands that obtain a token like it).
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub spec: TokenSpec,
    pub duration: Duration,
    pub cache: CacheChoice,
    pub create_secret: bool,
    /// Legacy tokens are re-checked with the server when older than this.
    pub revalidate: Duration,
    pub secret_wait: Duration,
    pub lock_wait: Duration,
    /// Mint a successor in the background past the middle of a token's serve
    /// window (bound tokens only).
    pub refresh_ahead: bool,
}

impl GetOptions {
    /// `spec` with every other option at its default.
    pub fn with_defaults(spec: TokenSpec) -> GetOptions {
        GetOptions {
            spec,
            duration: DEFAULT_DURATION,
            cache: CacheChoice::default(),
            create_secret: false,
            revalidate: DEFAULT_REVALIDATE,
            secret_wait: DEFAULT_SECRET_WAIT,
            lock_wait: DEFAULT_LOCK_WAIT,
            refresh_ahead: true,
        }
    }
}

/// What `inspect` looks at.
#[derive(Debug)]
pub enum InspectInput {
    /// A token given on the command line (a [`Token`](crate::token::Token): redacted in `Debug`).
    Given(crate::token::Token),
    /// "-": read the token from stdin.
    Stdin,
    /// The cached token of these options.
    Cached(GetOptions),
}

/// A parsed command with plain inputs.
#[derive(Debug)]
pub enum Command {
    Get(GetOptions),
    /// `get --refresh-in-background`: what refresh-ahead starts.
    Refresh(GetOptions),
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
        input: InspectInput,
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
        /// Ask the server about every cached token.
        check: bool,
    },
    /// `None`: every entry.
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
}

/// The parsed command line.
#[derive(Debug)]
pub struct Invocation {
    pub verbose: u8,
    pub command: Command,
}
