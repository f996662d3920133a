//! The plain inputs of the commands (what `cli.rs` turns arguments into), and
//! every default in one place: the command line, the exec-argument writer and
//! the commands that need options they were not given all read them here.

use std::path::PathBuf;
use std::time::Duration;

mod vault;

pub use vault::{
    DEFAULT_VAULT_MOUNT, GENERATED_SA, PasswordMethod, VaultLogin, VaultLoginMethod, VaultRef,
};

/// TokenRequest lifetime asked for (`--duration`).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(3600);
/// How long a legacy token is served before the server confirms it again.
pub const DEFAULT_REVALIDATE: Duration = Duration::from_secs(600);
/// How long to wait for the token controller to fill in a created Secret.
pub const DEFAULT_SECRET_WAIT: Duration = Duration::from_secs(30);
/// How long to wait for another process minting the same token.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);
/// The namespace of a ServiceAccount given without one.
pub const DEFAULT_NAMESPACE: &str = "default";
/// How long to wait for a CSR to be approved (by someone else with
/// `--no-approve`) and then signed.
pub const DEFAULT_CSR_WAIT: Duration = Duration::from_secs(60);

/// Where a token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    #[default]
    TokenRequest,
    Secret,
    /// A Vault or OpenBao Kubernetes secrets engine ([`TokenSpec::vault`]).
    Vault,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::TokenRequest => "token-request",
            SourceKind::Secret => "secret",
            SourceKind::Vault => "vault",
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
    /// Files in a memory-backed directory of the user's (never a disk).
    Tmpfs,
    None,
}

impl CacheChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheChoice::Auto => "auto",
            CacheChoice::Keyring => "keyring",
            CacheChoice::Keyutils => "keyutils",
            CacheChoice::File => "file",
            CacheChoice::Tmpfs => "tmpfs",
            CacheChoice::None => "none",
        }
    }
}

/// Output format of the commands that have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Yaml,
}

impl Format {
    /// `v` as the structured formats print it: pretty JSON, or the same
    /// document in YAML (`-o yaml`, as kubectl has it). Text is the
    /// commands' own.
    pub fn write_document(
        self,
        v: &serde_json::Value,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let text = match self {
            Format::Yaml => serde_yaml::to_string(v).expect("a JSON value is YAML"),
            Format::Json | Format::Text => serde_json::to_string_pretty(v).expect("json") + "\n",
        };
        out.write_all(text.as_bytes())
    }
}

/// Who the credential is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A ServiceAccount (its namespace is [`TokenSpec::namespace`]): a token.
    ServiceAccount(String),
    /// An X.509 user in groups: a client certificate through the CSR API.
    User { name: String, groups: Vec<String> },
}

impl Principal {
    /// Who, for messages: `NS/NAME` of a ServiceAccount (in `namespace`),
    /// `user NAME` of a user. Every label of an entry, options or record
    /// comes from here.
    pub fn label(&self, namespace: &str) -> String {
        match self {
            Principal::ServiceAccount(sa) => format!("{namespace}/{sa}"),
            Principal::User { name, .. } => format!("user {name}"),
        }
    }

    /// Who, in a listing's column (`cache list`): one word, `NS/NAME` or
    /// `user:NAME`.
    pub fn listed(&self, namespace: &str) -> String {
        match self {
            Principal::ServiceAccount(_) => self.label(namespace),
            Principal::User { name, .. } => format!("user:{name}"),
        }
    }
}

/// Which credential: everything that identifies a cache entry except the
/// server. (Named for tokens, the first kind; users have the same shape.)
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// `--kubeconfig`; `None` reads KUBECONFIG, then ~/.kube/config.
    pub kubeconfig: Option<PathBuf>,
    /// "" with a broker.
    pub admin_context: String,
    /// `--broker`: the credential comes from the local broker, not from an
    /// admin context (then `kubeconfig` is `None`).
    pub broker: Option<BrokerRef>,
    /// `--source vault`: the engine role that mints (then `kubeconfig` is
    /// `None` and `admin_context` empty).
    pub vault: Option<VaultRef>,
    /// The ServiceAccount's namespace; for a user, the namespace `setup`
    /// gives its context.
    pub namespace: String,
    pub principal: Principal,
    pub source: SourceKind,
    pub audiences: Vec<String>,
    pub bind_secret: bool,
}

/// The broker a client asks (`--broker`, `--broker-owner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRef {
    pub socket: PathBuf,
    /// The account it runs as, when not root (a name or uid).
    pub owner: Option<String>,
}

impl TokenSpec {
    /// The username the API server gives the credential.
    pub fn subject(&self) -> String {
        match &self.principal {
            Principal::ServiceAccount(sa) => {
                format!("system:serviceaccount:{}:{sa}", self.namespace)
            }
            Principal::User { name, .. } => name.clone(),
        }
    }

    /// The ServiceAccount's name; `None` for a user.
    pub fn service_account(&self) -> Option<&str> {
        match &self.principal {
            Principal::ServiceAccount(sa) => Some(sa),
            Principal::User { .. } => None,
        }
    }

    /// Who, for messages ([`Principal::label`]).
    pub fn label(&self) -> String {
        self.principal.label(&self.namespace)
    }

    /// Where the credential comes from, for records and logs:
    /// `token-request`, `secret`, or `csr` for a user.
    pub fn source_name(&self) -> &'static str {
        match self.principal {
            Principal::User { .. } => "csr",
            Principal::ServiceAccount(_) => self.source.as_str(),
        }
    }

    /// The name of the Secret `--bind-secret` tokens are bound to, for the
    /// entry whose cache key is `key`.
    pub fn bound_secret_name(&self, key: &str) -> String {
        let sa: String = self
            .service_account()
            .unwrap_or("user")
            .chars()
            .take(200)
            .collect();
        format!("kube-sa-token-{sa}-{}", &key[..key.len().min(10)])
    }
}

/// `serve`'s inputs: where it listens, its policy and audit log, and how it
/// mints (the admin context, its own cache).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// None: the default for the account (`serve_start::paths`).
    pub socket: Option<PathBuf>,
    pub policy: PathBuf,
    /// `-`: stdout. None: the default for the account.
    pub audit_log: Option<PathBuf>,
    pub kubeconfig: Option<PathBuf>,
    /// "" when a Vault role mints.
    pub admin_context: String,
    /// `--vault-role`: a Vault engine's role mints instead of an admin
    /// context.
    pub vault: Option<VaultRef>,
    pub cache: CacheChoice,
    /// Connections served at once; more are answered "busy".
    pub max_connections: usize,
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
    /// window (bound tokens and certificates).
    pub refresh_ahead: bool,
    /// Users: approve the CSR with the admin context (else wait for someone
    /// else to).
    pub approve: bool,
    /// Users: how long to wait for the CSR's approval and certificate.
    pub csr_wait: Duration,
}

impl GetOptions {
    /// Whether `--duration` says how long the credential lives: TokenRequest
    /// tokens, a Vault engine's (its TTL) and users' certificates (not
    /// legacy Secret tokens).
    pub fn asks_duration(&self) -> bool {
        match self.spec.principal {
            Principal::User { .. } => true,
            Principal::ServiceAccount(_) => self.spec.source != SourceKind::Secret,
        }
    }

    /// `spec` with every other option at its default.
    #[cfg(test)]
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
            approve: true,
            csr_wait: DEFAULT_CSR_WAIT,
        }
    }
}

/// Whose credential a command that shows or forgets one is about.
#[derive(Debug)]
pub enum Who {
    /// Named on the command line (`--admin-context` and the ServiceAccount
    /// or `--user`, with any option).
    Options(Box<GetOptions>),
    /// What a kubeconfig context's exec entry runs `get` for: `--context
    /// NAME`, or (`None`) the current context.
    Context {
        name: Option<String>,
        /// Where to find the context (`--kubeconfig`; else KUBECONFIG).
        kubeconfig: Option<PathBuf>,
        /// The CLI's `get` parser, to read the entry's arguments.
        parse_get: ParseGet,
    },
}

/// What `inspect` looks at.
#[derive(Debug)]
pub enum InspectInput {
    /// A token given on the command line (a [`Token`](crate::secret::Token): redacted in `Debug`).
    Given(crate::secret::Token),
    /// "-": read the token from stdin.
    Stdin,
    /// `--file PATH`: read the token (or certificate) from a file.
    File(PathBuf),
    /// The cached credential of this identity.
    Cached(Who),
}

/// A parsed command with plain inputs.
#[derive(Debug)]
pub enum Command {
    Get(GetOptions),
    /// `serve`: the local credential broker.
    Serve(ServeOptions),
    /// `rules`: what the broker lets this account have.
    Rules {
        broker: BrokerRef,
        format: Format,
    },
    /// `get --refresh-in-background`: what refresh-ahead starts.
    Refresh(GetOptions),
    Setup {
        opts: GetOptions,
        context_name: Option<String>,
        dry_run: bool,
        /// Print the RBAC objects the admin context lacks; write nothing.
        print_rbac: bool,
        /// `--use`: make the context current (else only when none is).
        use_context: bool,
        /// Undo a setup: remove its user and context.
        remove: bool,
    },
    Kubeconfig {
        who: Who,
        embed_token: bool,
        context_name: Option<String>,
        /// `--output-file FILE`: written 0600 instead of stdout.
        output: Option<PathBuf>,
        /// YAML or JSON.
        format: Format,
    },
    Inspect {
        input: InspectInput,
        kubeconfig: Option<PathBuf>,
        admin_context: Option<String>,
        verify: bool,
        format: Format,
    },
    Whoami {
        who: Who,
        format: Format,
    },
    /// `exec`: `command` run as the identity (empty: `shell`, $SHELL).
    Exec {
        who: Who,
        command: Vec<std::ffi::OsString>,
        allow_nested: bool,
    },
    /// `exec --print-env`: the identity's kubeconfig kept, its variables
    /// printed for `eval`.
    ExecEnv {
        who: Who,
    },
    /// `exec --clean`: the kubeconfigs `--print-env` left, removed.
    ExecClean,
    /// The raw token, for curl and scripts.
    Token {
        who: Who,
        /// Also write the cluster's CA here.
        ca_file: Option<PathBuf>,
    },
    CacheList {
        format: Format,
        /// `-o wide`: with the credential ids.
        wide: bool,
        /// Ask the server about every cached token.
        check: bool,
        /// How `get` parses its arguments: the contexts that use an entry
        /// are found by parsing their exec entries.
        parse_get: ParseGet,
    },
    /// `None`: every entry.
    CacheClear {
        /// A key or its first characters, `NS/SA`, `user:NAME`, or a
        /// kubeconfig context that runs `get`.
        target: Option<String>,
        /// The CLI's `get` parser, for a context's exec entry.
        parse_get: ParseGet,
    },
    Logout {
        who: Who,
    },
    Doctor {
        kubeconfig: Option<PathBuf>,
        admin_context: Option<String>,
        namespace: String,
        cache: CacheChoice,
        /// The command line's own parser for `get` arguments (an exec
        /// entry's `args`), handed down so that `doctor` checks entries
        /// exactly as `get` will read them, without importing the CLI.
        parse_get: ParseGet,
        format: Format,
    },
}

/// Parses `get`'s arguments (without the program name) into its options, or
/// says in one line why they do not parse.
pub type ParseGet = fn(&[String]) -> Result<GetOptions, String>;

/// The parsed command line.
#[derive(Debug)]
pub struct Invocation {
    pub verbose: u8,
    pub command: Command,
}
