//! The Vault source's rows of `get`'s flag table (`--source vault`): the
//! engine's role, the server and how this account logs in to it. They
//! follow the other rows ([`super::table`]) in exec entries.

use super::flag::{GetFlag, Group, Kind, Takes, no_default};
use crate::options;

/// How many rows the rest of the table has.
pub(super) const OTHER_ROWS: usize = 21;
const VAULT_ROWS: usize = 12;
/// The whole table's size.
pub(super) const ALL_ROWS: usize = OTHER_ROWS + VAULT_ROWS;

/// What a Vault role's flags cannot be given with: there is no admin
/// context, no Secret of ours and no CSR on that path.
const NOT_WITH_VAULT: &[&str] = &[
    "kubeconfig",
    "admin-context",
    "broker",
    "user",
    "create-secret",
    "bind-secret",
    "no-approve",
];

/// What a login's flags need.
const LOGIN: Option<&str> = Some("vault-login");

/// The entry's login, when it names one.
fn login(o: &options::GetOptions) -> Option<&options::VaultLogin> {
    o.spec.vault.as_ref()?.login.as_ref()
}

fn login_method(o: &options::GetOptions) -> Option<&options::VaultLoginMethod> {
    login(o).map(|l| &l.method)
}

/// `rows` followed by the Vault rows.
pub(super) const fn with_vault_rows(rows: [GetFlag; OTHER_ROWS]) -> [GetFlag; ALL_ROWS] {
    let mut all = [rows[0]; ALL_ROWS];
    let mut i = 0;
    while i < OTHER_ROWS {
        all[i] = rows[i];
        i += 1;
    }
    while i < ALL_ROWS {
        all[i] = VAULT[i - OTHER_ROWS];
        i += 1;
    }
    all
}

const VAULT: [GetFlag; VAULT_ROWS] = [
    GetFlag {
        long: "vault-role",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "ROLE",
        help: "With --source vault: the engine's role that mints (POST MOUNT/creds/ROLE)",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: None,
        default: no_default,
        write: |o| o.spec.vault.iter().map(|v| v.role.clone()).collect(),
    },
    GetFlag {
        long: "vault-addr",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "URL",
        help: "With --source vault: the Vault/OpenBao server (https://HOST:PORT; http:// on loopback only). Default for the commands you type: VAULT_ADDR, else BAO_ADDR; exec entries name it",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: Some("vault-role"),
        default: no_default,
        write: |o| o.spec.vault.iter().map(|v| v.address.clone()).collect(),
    },
    GetFlag {
        long: "vault-mount",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "PATH",
        help: "With --source vault: where the Kubernetes secrets engine is mounted",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: Some("vault-role"),
        default: || Some(options::DEFAULT_VAULT_MOUNT.into()),
        write: |o| {
            o.spec
                .vault
                .iter()
                .filter(|v| v.mount != options::DEFAULT_VAULT_MOUNT)
                .map(|v| v.mount.clone())
                .collect()
        },
    },
    GetFlag {
        long: "vault-namespace",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NS",
        help: "With --source vault: the Vault namespace (Vault Enterprise, OpenBao) the role and the login are in (X-Vault-Namespace). Default for the commands you type: VAULT_NAMESPACE, else BAO_NAMESPACE; exec entries name it",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: Some("vault-role"),
        default: no_default,
        write: |o| {
            o.spec
                .vault
                .iter()
                .filter_map(|v| v.namespace.clone())
                .collect()
        },
    },
    GetFlag {
        long: "vault-ca",
        short: None,
        takes: Takes::One(Kind::Path),
        value_name: "PATH",
        help: "With --source vault: the CA bundle Vault's certificate is checked with (default for the commands you type: VAULT_CACERT, else BAO_CACERT; else the system's roots)",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: Some("vault-role"),
        default: no_default,
        write: |o| {
            o.spec
                .vault
                .iter()
                .filter_map(|v| v.ca_file.as_ref())
                .map(|p| absolute(p))
                .collect()
        },
    },
    GetFlag {
        long: "vault-login",
        short: None,
        takes: Takes::One(Kind::Choice(&[
            "userpass", "ldap", "oidc", "jwt", "approle",
        ])),
        value_name: "METHOD",
        help: "With --source vault: how to log in to Vault when no Vault token is found (VAULT_TOKEN, BAO_TOKEN, ~/.vault-token). A person: userpass or ldap (the password is asked on a terminal), or oidc (a browser, from a terminal); the Vault token is kept in the OS keyring and renewed. A machine: jwt (a CI job's OIDC token) or approle (each mint logs in; that token is revoked after it)",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: Some("vault-role"),
        default: no_default,
        write: |o| {
            login_method(o)
                .map(|m| m.name().to_string())
                .into_iter()
                .collect()
        },
    },
    GetFlag {
        long: "vault-login-mount",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "PATH",
        help: "With --vault-login: where the auth method is mounted (default: the method's name)",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| {
            login(o)
                .filter(|l| l.mount != l.method.name())
                .map(|l| l.mount.clone())
                .into_iter()
                .collect()
        },
    },
    GetFlag {
        long: "vault-username",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NAME",
        help: "With --vault-login userpass or ldap: the user name to log in as",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| match login_method(o) {
            Some(options::VaultLoginMethod::Password { username, .. }) => vec![username.clone()],
            _ => Vec::new(),
        },
    },
    GetFlag {
        long: "vault-login-role",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "NAME",
        help: "With --vault-login jwt (needed) or oidc (else the auth method's default_role): the auth method's role",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| match login_method(o) {
            Some(options::VaultLoginMethod::Jwt { role, .. }) => vec![role.clone()],
            Some(options::VaultLoginMethod::Oidc { role }) => role.iter().cloned().collect(),
            _ => Vec::new(),
        },
    },
    GetFlag {
        long: "vault-jwt",
        short: None,
        takes: Takes::One(Kind::Text),
        value_name: "FILE|env:VAR",
        help: "With --vault-login jwt: where the JWT is read at each login: a file (a CI job writes it), or env:VAR",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| match login_method(o) {
            Some(options::VaultLoginMethod::Jwt { jwt, .. }) => vec![jwt.clone()],
            _ => Vec::new(),
        },
    },
    GetFlag {
        long: "vault-role-id-file",
        short: None,
        takes: Takes::One(Kind::Path),
        value_name: "PATH",
        help: "With --vault-login approle: the file holding the role id",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| match login_method(o) {
            Some(options::VaultLoginMethod::AppRole { role_id_file, .. }) => {
                vec![absolute(role_id_file)]
            }
            _ => Vec::new(),
        },
    },
    GetFlag {
        long: "vault-secret-id-file",
        short: None,
        takes: Takes::One(Kind::Path),
        value_name: "PATH",
        help: "With --vault-login approle: the file holding the secret id",
        group: Group::Vault,
        conflicts: NOT_WITH_VAULT,
        requires: LOGIN,
        default: no_default,
        write: |o| match login_method(o) {
            Some(options::VaultLoginMethod::AppRole { secret_id_file, .. }) => {
                vec![absolute(secret_id_file)]
            }
            _ => Vec::new(),
        },
    },
];

/// A path as an exec entry keeps it: absolute.
fn absolute(p: &std::path::Path) -> String {
    crate::fsutil::absolute(p).display().to_string()
}
