//! The table: every flag of `get`, defined once. A flag's row says how it is
//! spelled, what value it takes, its help, which commands take it, and how
//! its value is written back from the options. To add one: a row here, its
//! reading in [`super::given`], and the option it sets.
use super::flag::{GetFlag, Group, Kind, Takes, no_default, on, unless_default};
use crate::duration;
use crate::options::{self, CacheChoice, Principal, SourceKind};

/// Where a broker run by root listens (`serve --socket`'s default).
pub const SYSTEM_BROKER_SOCKET: &str = "/run/kube-sa-token/broker.sock";

/// The socket `--broker` without a value names: `$KUBE_SA_TOKEN_BROKER`,
/// else the system broker's.
pub fn default_broker_socket() -> String {
    std::env::var("KUBE_SA_TOKEN_BROKER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| SYSTEM_BROKER_SOCKET.into())
}

const SOURCES: &[&str] = &["token-request", "secret", "vault", "openbao"];

const CACHES: &[&str] = &["auto", "keyring", "keyutils", "tmpfs", "file", "none"];

/// Every flag of `get`, in the order exec entries write them.
pub static FLAGS: &[GetFlag] = &super::table_vault::with_vault_rows(ROWS);

/// The rows before the Vault source's ([`super::table_vault`]).
const ROWS: [GetFlag; super::table_vault::OTHER_ROWS] = [
    GetFlag {
        long: "kubeconfig",
        short: None,
        takes: Takes::One(Kind::Path),
        value_name: "PATH",
        help: "Admin kubeconfig (default: KUBECONFIG, then ~/.kube/config, merged like kubectl)",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| {
            o.spec
                .kubeconfig
                .iter()
                .map(|k| crate::fsutil::absolute(k).display().to_string())
                .collect()
        },
    },
    GetFlag {
        long: "admin-context",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NAME",
        help: "The more privileged context that mints tokens",
        group: Group::Admin,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| {
            if o.spec.broker.is_some() || o.spec.vault.is_some() {
                Vec::new()
            } else {
                vec![o.spec.admin_context.clone()]
            }
        },
    },
    GetFlag {
        long: "broker",
        short: None,
        takes: Takes::One(Kind::Path),
        value_name: "SOCKET",
        help: "Ask the local credential broker at SOCKET (`kube-sa-token serve`) instead of minting through an admin context: no admin kubeconfig here (docs/broker.md). Without SOCKET: $KUBE_SA_TOKEN_BROKER, else /run/kube-sa-token/broker.sock",
        group: Group::Who,
        conflicts: &[
            "kubeconfig",
            "admin-context",
            "create-secret",
            "bind-secret",
            "no-approve",
        ],
        requires: None,
        default: no_default,
        write: |o| {
            o.spec
                .broker
                .iter()
                .map(|b| crate::fsutil::absolute(&b.socket).display().to_string())
                .collect()
        },
    },
    GetFlag {
        long: "broker-owner",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "USER",
        help: "The account the broker runs as, when not root (a user name or uid); a socket served by anyone else is refused",
        group: Group::Who,
        conflicts: &[],
        requires: Some("broker"),
        default: no_default,
        write: |o| {
            o.spec
                .broker
                .iter()
                .filter_map(|b| b.owner.clone())
                .collect()
        },
    },
    GetFlag {
        long: "service-account",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NAME",
        help: "The ServiceAccount: NAME or NS/NAME (NS:NAME and system:serviceaccount:NS:NAME too)",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| match &o.spec.principal {
            Principal::ServiceAccount(sa) if sa == options::GENERATED_SA => Vec::new(),
            Principal::ServiceAccount(sa) => vec![format!("{}/{sa}", o.spec.namespace)],
            Principal::User { .. } => Vec::new(),
        },
    },
    GetFlag {
        long: "user",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NAME",
        help: "An X.509 user instead of a ServiceAccount: a client certificate for NAME signed through the CertificateSigningRequest API",
        group: Group::Who,
        conflicts: &["service-account"],
        requires: None,
        default: no_default,
        write: |o| match &o.spec.principal {
            Principal::User { name, .. } => vec![name.clone()],
            Principal::ServiceAccount(_) => Vec::new(),
        },
    },
    GetFlag {
        long: "group",
        short: None,
        takes: Takes::Many(Kind::Text),
        value_name: "GROUP",
        help: "A group of the --user (repeatable; the certificate's O attributes)",
        group: Group::Who,
        conflicts: &["service-account"],
        requires: Some("user"),
        default: no_default,
        write: |o| match &o.spec.principal {
            Principal::User { groups, .. } => groups.clone(),
            Principal::ServiceAccount(_) => Vec::new(),
        },
    },
    GetFlag {
        long: "namespace",
        short: Some('n'),
        takes: Takes::One(Kind::Text),
        value_name: "NS",
        help: "Namespace of the ServiceAccount (default: \"default\")",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: no_default,
        // A ServiceAccount's is written as NS/NAME (but a generated one's).
        write: |o| match &o.spec.principal {
            Principal::ServiceAccount(sa)
                if sa != options::GENERATED_SA
                    || o.spec.namespace == options::DEFAULT_NAMESPACE =>
            {
                Vec::new()
            }
            Principal::User { .. } if o.spec.namespace == options::DEFAULT_NAMESPACE => Vec::new(),
            _ => vec![o.spec.namespace.clone()],
        },
    },
    GetFlag {
        long: "source",
        short: None,
        takes: Takes::One(Kind::Choice(SOURCES)),
        value_name: "SOURCE",
        help: "Where the token comes from: TokenRequest through the admin context, its legacy token Secret, or a Vault/OpenBao Kubernetes secrets engine (vault, also spelled openbao; with --vault-role, docs/vault.md)",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: || Some(SourceKind::default().as_str().into()),
        write: |o| {
            if o.spec.source == SourceKind::default() {
                Vec::new()
            } else {
                vec![o.spec.source.as_str().into()]
            }
        },
    },
    GetFlag {
        long: "duration",
        short: None,
        takes: Takes::One(Kind::Duration),
        value_name: "DURATION",
        help: "Token (or certificate) lifetime (e.g. 1h, 30m; minimum 10m). The server may shorten it",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: || Some(duration::flag(options::DEFAULT_DURATION)),
        write: |o| unless_default(o.duration, options::DEFAULT_DURATION),
    },
    GetFlag {
        long: "audience",
        short: None,
        takes: Takes::Many(Kind::Text),
        value_name: "AUD",
        help: "Audience the token must carry (repeatable; default: the API server's)",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| o.spec.audiences.clone(),
    },
    GetFlag {
        long: "cache",
        short: None,
        takes: Takes::One(Kind::Choice(CACHES)),
        value_name: "CACHE",
        help: "Token store (auto: the OS keyring, else memory-backed files in a tmpfs of yours with a kernel-keyring copy in front, else the kernel keyring; never plaintext on a disk)",
        group: Group::Store,
        conflicts: &[],
        requires: None,
        default: || Some(CacheChoice::default().as_str().into()),
        write: |o| {
            if o.cache == CacheChoice::default() {
                Vec::new()
            } else {
                vec![o.cache.as_str().into()]
            }
        },
    },
    GetFlag {
        long: "csr-timeout",
        short: None,
        takes: Takes::One(Kind::Duration),
        value_name: "DURATION",
        help: "With --user: how long to wait for the request's approval and certificate",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: || Some(duration::flag(options::DEFAULT_CSR_WAIT)),
        write: |o| unless_default(o.csr_wait, options::DEFAULT_CSR_WAIT),
    },
    GetFlag {
        long: "revalidate-interval",
        short: None,
        takes: Takes::One(Kind::Duration),
        value_name: "DURATION",
        help: "How long a legacy token (no expiry) is handed out before the server confirms it again",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: || Some(duration::flag(options::DEFAULT_REVALIDATE)),
        write: |o| unless_default(o.revalidate, options::DEFAULT_REVALIDATE),
    },
    GetFlag {
        long: "secret-timeout",
        short: None,
        takes: Takes::One(Kind::Duration),
        value_name: "DURATION",
        help: "How long to wait for the controller to fill in a created token Secret",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: || Some(duration::flag(options::DEFAULT_SECRET_WAIT)),
        write: |o| unless_default(o.secret_wait, options::DEFAULT_SECRET_WAIT),
    },
    GetFlag {
        long: "lock-timeout",
        short: None,
        takes: Takes::One(Kind::Duration),
        value_name: "DURATION",
        help: "How long to wait for another process minting the same token",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: || Some(duration::flag(options::DEFAULT_LOCK_WAIT)),
        write: |o| unless_default(o.lock_wait, options::DEFAULT_LOCK_WAIT),
    },
    GetFlag {
        long: "create-secret",
        short: None,
        takes: Takes::Switch,
        value_name: "",
        help: "With --source secret: create a token Secret when the SA has none",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| on(o.create_secret),
    },
    GetFlag {
        long: "bind-secret",
        short: None,
        takes: Takes::Switch,
        value_name: "",
        help: "Bind tokens to a Secret this tool creates, so `logout` revokes them",
        group: Group::Who,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| on(o.spec.bind_secret),
    },
    GetFlag {
        long: "no-refresh-ahead",
        short: None,
        takes: Takes::Switch,
        value_name: "",
        help: "Do not mint a token's successor in the background once half of its serve window has passed (the call that finds it stale then waits)",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| on(!o.refresh_ahead),
    },
    GetFlag {
        long: "no-approve",
        short: None,
        takes: Takes::Switch,
        value_name: "",
        help: "With --user: do not approve the CertificateSigningRequest with the admin context; wait for someone else to (`kubectl certificate approve`)",
        group: Group::Mint,
        conflicts: &[],
        requires: None,
        default: no_default,
        write: |o| on(!o.approve),
    },
    GetFlag {
        long: "refresh-in-background",
        short: None,
        takes: Takes::Switch,
        value_name: "",
        help: "What refresh-ahead runs: mint the successor, print nothing",
        group: Group::Background,
        conflicts: &[],
        requires: None,
        default: no_default,
        // Not an option: the background refresh adds it to the entry's own.
        write: |_| Vec::new(),
    },
];

/// The row of `--long` (`-s`: `short`).
pub fn find(long: &str) -> Option<(usize, &'static GetFlag)> {
    FLAGS.iter().enumerate().find(|(_, f)| f.long == long)
}

/// The row of `-c`.
pub fn find_short(c: char) -> Option<(usize, &'static GetFlag)> {
    FLAGS.iter().enumerate().find(|(_, f)| f.short == Some(c))
}
