//! The top-level error and the process exit codes. Each concern has its own
//! error enum next to its code; this one only gathers them.

use crate::broker::BrokerError;
use crate::cache::CacheError;
use crate::guard::GuardError;
use crate::jwt::ClaimsError;
use crate::kube_api::KubeApiError;
use crate::kube_api::vault::VaultError;
use crate::kubeconfig::KubeconfigError;
use crate::protocol::ProtocolError;
use crate::runtime::RuntimeError;
use crate::x509::X509Error;

/// Every error a command can end with. Messages are one line: what failed
/// and what to do. None of them ever holds a token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error(transparent)]
    KubeApi(#[from] KubeApiError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    X509(#[from] X509Error),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A cached legacy token could not be confirmed with the server for too long.
    #[error(
        "{what} could not be confirmed with the server for {secs}s (more than 4 times --revalidate-interval): {source}"
    )]
    Unconfirmed {
        what: String,
        secs: i64,
        #[source]
        source: Box<KubeApiError>,
    },
    /// An input could not be read (stdin).
    #[error("cannot read {what}: {source}")]
    Input {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A safety rule stopped the command (cluster binding, recursion).
    #[error("{0}")]
    Refused(String),
    /// The admin context lacks an RBAC right (checked before anything is
    /// written): the API server's refusal, as when a mint meets a 403.
    #[error("{0}")]
    Forbidden(String),
    /// The store an entry would use does not work here (checked by `setup`
    /// before anything is written).
    #[error("{0}")]
    StoreUnusable(String),
    /// Minting this entry failed moments ago ([`crate::cache::backoff`]):
    /// the same answer, without running the admin login or the request
    /// again.
    #[error(
        "{reason} [not tried again: {failures} failed attempt{} in a row; the next in {retry_in}, or at once after the admin kubeconfig or Vault token changes, or with KUBE_SA_TOKEN_RETRY_NOW=1]",
        if *failures == 1 { "" } else { "s" }
    )]
    BackedOff {
        reason: String,
        /// The failure's exit code.
        code: ExitCode,
        failures: u32,
        retry_in: String,
        /// The process it answers printed the reason already (kubectl
        /// running the plugin again within one command): nothing to say.
        quiet: bool,
    },
    /// A check that `doctor`/`inspect --verify` reports as failed.
    #[error("{0}")]
    CheckFailed(String),
    /// Output could not be written (e.g. a closed pipe).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ExitCode {
    Success = 0,
    /// Anything not listed below.
    Failure = 1,
    /// Bad command line or bad KUBERNETES_EXEC_INFO.
    Usage = 2,
    /// Kubeconfig or admin context problem.
    Config = 3,
    /// The API server refused or could not be reached.
    Api = 4,
    /// The token store failed.
    Cache = 5,
    /// Refused for safety (cluster binding, recursion).
    Refused = 6,
}

impl ExitCode {
    /// The code `code` names (as a failure record keeps it); `Failure` for
    /// any other number.
    pub fn from_code(code: u8) -> ExitCode {
        [
            ExitCode::Usage,
            ExitCode::Config,
            ExitCode::Api,
            ExitCode::Cache,
            ExitCode::Refused,
        ]
        .into_iter()
        .find(|c| *c as i32 == i32::from(code))
        .unwrap_or(ExitCode::Failure)
    }
}

impl Error {
    /// Whether a failed mint with this error is backed off: the admin
    /// side's failures (its login, the API server, RBAC, a missing
    /// ServiceAccount), not the caller's own (arguments, the cluster
    /// binding, a signal) nor the local store's.
    pub fn backs_off(&self) -> bool {
        match self {
            Error::KubeApi(KubeApiError::Unbound { .. } | KubeApiError::CsrInterrupted { .. }) => {
                false
            }
            Error::KubeApi(_) | Error::Unconfirmed { .. } | Error::Forbidden(_) => true,
            // Vault's answers and the way there; not this machine's set-up
            // (no token yet: a login follows).
            Error::Vault(v) => !v.is_local(),
            _ => false,
        }
    }

    /// Whether the reason was printed to this caller already.
    pub fn is_quiet(&self) -> bool {
        matches!(self, Error::BackedOff { quiet: true, .. })
    }

    /// Whether the API server could not be reached at all (it may come up
    /// later), as opposed to an answer or a local failure.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::KubeApi(KubeApiError::Unreachable { .. })
                | Error::Vault(VaultError::Unreachable { .. })
        )
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::BackedOff { code, .. } => *code,
            Error::Usage(_) | Error::Protocol(_) => ExitCode::Usage,
            Error::Kubeconfig(_)
            | Error::KubeApi(KubeApiError::Config { .. } | KubeApiError::AuthProvider { .. }) => {
                ExitCode::Config
            }
            Error::KubeApi(KubeApiError::Unbound { .. }) => ExitCode::Refused,
            Error::KubeApi(_) | Error::Unconfirmed { .. } | Error::Forbidden(_) => ExitCode::Api,
            Error::Cache(_) | Error::StoreUnusable(_) => ExitCode::Cache,
            Error::Guard(_) | Error::Refused(_) => ExitCode::Refused,
            Error::Broker(b) => match b {
                BrokerError::Denied { .. } | BrokerError::Impostor { .. } => ExitCode::Refused,
                BrokerError::Down { .. }
                | BrokerError::Broken { .. }
                | BrokerError::Failed { .. } => ExitCode::Api,
                BrokerError::Version { .. }
                | BrokerError::UnknownOwner(_)
                | BrokerError::Unsupported
                | BrokerError::Setup(_) => ExitCode::Config,
            },
            Error::Vault(v) => match v {
                VaultError::NoToken { .. }
                | VaultError::TokenFile { .. }
                | VaultError::Config { .. }
                | VaultError::LoginInput { .. }
                | VaultError::LoginNeeded { .. }
                | VaultError::UnknownRole { .. }
                | VaultError::NoEngine { .. }
                | VaultError::EngineConfig { .. } => ExitCode::Config,
                VaultError::NamespaceNotAllowed { .. } => ExitCode::Refused,
                VaultError::Unreachable { .. }
                | VaultError::Tls { .. }
                | VaultError::Denied { .. }
                | VaultError::LoginRefused { .. }
                | VaultError::PasswordRefused { .. }
                | VaultError::TooShort { .. }
                | VaultError::EngineRefused { .. }
                | VaultError::Failed { .. }
                | VaultError::BadAnswer { .. } => ExitCode::Api,
            },
            Error::Claims(_)
            | Error::X509(_)
            | Error::Runtime(_)
            | Error::Input { .. }
            | Error::CheckFailed(_)
            | Error::Output(_) => ExitCode::Failure,
        }
    }
}
