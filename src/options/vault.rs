//! The Vault source's inputs (`--source vault`): the engine's role, the
//! server, and the machine login.

use std::path::PathBuf;

/// The mount of the Kubernetes secrets engine when `--vault-mount` is not
/// given (Vault's and OpenBao's own default).
pub const DEFAULT_VAULT_MOUNT: &str = "kubernetes";

/// The ServiceAccount of a Vault role that generates one for each token
/// (`kubernetes_role_name`, `generated_role_rules`): `--source vault` given
/// a namespace and no ServiceAccount. A token of any ServiceAccount of the
/// namespace is taken. No name the parsers accept looks like it.
pub const GENERATED_SA: &str = "(generated)";

/// A Vault (or OpenBao) Kubernetes secrets engine role that mints the
/// tokens (`--source vault`): no admin context here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRef {
    /// `--vault-addr`: `https://HOST:PORT` (http on loopback only),
    /// without a trailing slash.
    pub address: String,
    /// `--vault-mount`: where the engine is mounted.
    pub mount: String,
    /// `--vault-role`.
    pub role: String,
    /// `--vault-ca`: the CA bundle Vault's certificate is checked with
    /// (else the system's roots).
    pub ca_file: Option<PathBuf>,
    /// `--vault-login`: how to log in when no Vault token is found
    /// (`VAULT_TOKEN`, `BAO_TOKEN`, `~/.vault-token`).
    pub login: Option<VaultLogin>,
    /// `--vault-namespace`: the namespace (Vault Enterprise, OpenBao)
    /// every request is made in (`X-Vault-Namespace`), without slashes at
    /// its ends.
    pub namespace: Option<String>,
}

impl VaultRef {
    /// Where the engine is, for the index and the cache key:
    /// `vault:ADDRESS/MOUNT`, and ` namespace NS` when in one.
    pub fn engine(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("vault:{}/{} namespace {ns}", self.address, self.mount),
            None => format!("vault:{}/{}", self.address, self.mount),
        }
    }

    /// The server and namespace, for messages: `ADDRESS` or `ADDRESS
    /// (namespace NS)`.
    pub fn server(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} (namespace {ns})", self.address),
            None => self.address.clone(),
        }
    }
}

/// A login to Vault (`--vault-login`) when no Vault token is found. A
/// machine login (jwt, approle: CI jobs, agents) logs in at each mint, and
/// its Vault token is revoked when the mint is done; a person's password
/// login (userpass, ldap) keeps its Vault token between mints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultLogin {
    pub method: VaultLoginMethod,
    /// `--vault-login-mount`: where the auth method is mounted (default:
    /// its name).
    pub mount: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultLoginMethod {
    /// A JWT (a CI job's OIDC token) for auth role `role`, read from
    /// `jwt` (`--vault-jwt FILE`, or `env:VAR`).
    Jwt { role: String, jwt: String },
    /// AppRole: the role id and secret id read from these files.
    AppRole {
        role_id_file: PathBuf,
        secret_id_file: PathBuf,
    },
    /// A person's password login as `username` (`--vault-username`): the
    /// password is asked on a terminal only, and the Vault token it gives
    /// is kept, renewed while Vault allows it.
    Password {
        method: PasswordMethod,
        username: String,
    },
    /// A person's OIDC login in a browser, as auth role `role`
    /// (`--vault-login-role`; else the auth method's default role); kept
    /// as a password login's is.
    Oidc { role: Option<String> },
}

/// The password logins (`--vault-login userpass|ldap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMethod {
    UserPass,
    Ldap,
}

impl VaultLoginMethod {
    /// The method's name (`--vault-login`, and its default mount).
    pub fn name(&self) -> &'static str {
        match self {
            VaultLoginMethod::Jwt { .. } => "jwt",
            VaultLoginMethod::AppRole { .. } => "approle",
            VaultLoginMethod::Password {
                method: PasswordMethod::UserPass,
                ..
            } => "userpass",
            VaultLoginMethod::Password {
                method: PasswordMethod::Ldap,
                ..
            } => "ldap",
            VaultLoginMethod::Oidc { .. } => "oidc",
        }
    }

    /// A person's login: its Vault token is kept between mints, and it
    /// needs the person (a password, a browser).
    pub fn is_person(&self) -> bool {
        matches!(
            self,
            VaultLoginMethod::Password { .. } | VaultLoginMethod::Oidc { .. }
        )
    }
}

impl VaultLogin {
    /// The login for messages: `userpass login as alice (auth/userpass/)`,
    /// `oidc login for role dev (auth/oidc/)`.
    pub fn label(&self) -> String {
        let who = match &self.method {
            VaultLoginMethod::Password { username, .. } => format!(" as {username}"),
            VaultLoginMethod::Oidc { role: Some(r) } | VaultLoginMethod::Jwt { role: r, .. } => {
                format!(" for role {r}")
            }
            _ => String::new(),
        };
        format!("{} login{who} (auth/{}/)", self.method.name(), self.mount)
    }

    /// The `bao login` a person could run instead.
    pub fn bao_login(&self) -> String {
        match &self.method {
            VaultLoginMethod::Password { username, .. } => format!(
                "bao login -method={} -path={} username={username}",
                self.method.name(),
                self.mount
            ),
            VaultLoginMethod::Oidc { role } => format!(
                "bao login -method=oidc -path={}{}",
                self.mount,
                role.as_ref()
                    .map(|r| format!(" role={r}"))
                    .unwrap_or_default()
            ),
            _ => format!(
                "bao login -method={} -path={}",
                self.method.name(),
                self.mount
            ),
        }
    }
}
