//! The Vault source's flags (`--source vault`, [`super::table_vault`])
//! turned into a [`VaultRef`]: the engine's role, the server, its CA and
//! the login, each checked (`names.rs`) before it goes anywhere.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::Error;
use crate::names;
use crate::options::{self, PasswordMethod, VaultLogin, VaultLoginMethod, VaultRef};

/// What a command takes when a flag is not given (from the environment).
type Default<'a, T> = &'a dyn Fn() -> Option<T>;

/// The Vault rows' values (`raw`: a flag's value by name), for `--source
/// vault` (`vault`) or not; `defaults`: the address, CA and namespace a
/// command takes when they are not given.
pub(super) fn vault(
    raw: &dyn Fn(&str) -> Option<OsString>,
    vault: bool,
    defaults: (Default<String>, Default<PathBuf>, Default<String>),
) -> Result<Option<VaultRef>, Error> {
    let one = |long: &str| raw(long).map(|v| v.to_string_lossy().into_owned());
    let role = one("vault-role");
    if !vault {
        return match role {
            Some(_) => Err(Error::Usage(
                "--vault-role and the other --vault-* flags work with --source vault only".into(),
            )),
            None => Ok(None),
        };
    }
    let Some(role) = role else {
        return Err(Error::Usage(
            "--source vault needs --vault-role ROLE: the Kubernetes secrets engine's role that mints the token (docs/vault.md)".into(),
        ));
    };
    names::vault_role(&role).map_err(|e| Error::Usage(e.quoting(&role)))?;
    let mount = one("vault-mount").unwrap_or_else(|| options::DEFAULT_VAULT_MOUNT.into());
    names::vault_mount(&mount).map_err(|e| Error::Usage(e.quoting(&mount)))?;
    let Some(address) = one("vault-addr").or_else(defaults.0) else {
        return Err(Error::Usage(
            "which Vault? pass --vault-addr https://HOST:PORT (the commands you type read VAULT_ADDR or BAO_ADDR)".into(),
        ));
    };
    let address = names::vault_address(&address)
        .map_err(|e| Error::Usage(format!("--vault-addr: {}", e.quoting(&address))))?;
    let ca_file = raw("vault-ca").map(PathBuf::from).or_else(defaults.1);
    let namespace = match one("vault-namespace").or_else(defaults.2) {
        Some(ns) => Some(
            names::vault_namespace(&ns)
                .map_err(|e| Error::Usage(format!("--vault-namespace: {}", e.quoting(&ns))))?,
        ),
        None => None,
    };
    Ok(Some(VaultRef {
        address,
        mount,
        role,
        ca_file,
        login: login(raw)?,
        namespace,
    }))
}

/// `--vault-login` and what its method needs.
fn login(raw: &dyn Fn(&str) -> Option<OsString>) -> Result<Option<VaultLogin>, Error> {
    let one = |long: &str| raw(long).map(|v| v.to_string_lossy().into_owned());
    let Some(name) = one("vault-login") else {
        return Ok(None);
    };
    let needs = |long: &str| Error::Usage(format!("--vault-login {name} needs --{long}"));
    let not_for = |longs: &[&str]| match longs.iter().find(|l| raw(l).is_some()) {
        Some(l) => Err(Error::Usage(format!(
            "--{l} does not go with --vault-login {name}"
        ))),
        None => Ok(()),
    };
    let method = match name.as_str() {
        "userpass" | "ldap" => {
            not_for(&[
                "vault-login-role",
                "vault-jwt",
                "vault-role-id-file",
                "vault-secret-id-file",
            ])?;
            let username = one("vault-username").ok_or_else(|| needs("vault-username"))?;
            names::vault_username(&username)
                .map_err(|e| Error::Usage(format!("--vault-username: {}", e.quoting(&username))))?;
            VaultLoginMethod::Password {
                method: if name == "ldap" {
                    PasswordMethod::Ldap
                } else {
                    PasswordMethod::UserPass
                },
                username,
            }
        }
        "oidc" => {
            not_for(&[
                "vault-jwt",
                "vault-role-id-file",
                "vault-secret-id-file",
                "vault-username",
            ])?;
            let role = one("vault-login-role");
            if let Some(role) = &role {
                names::vault_role(role).map_err(|e| {
                    Error::Usage(format!("--vault-login-role: {}", e.quoting(role)))
                })?;
            }
            VaultLoginMethod::Oidc { role }
        }
        "jwt" => {
            not_for(&[
                "vault-role-id-file",
                "vault-secret-id-file",
                "vault-username",
            ])?;
            let role = one("vault-login-role").ok_or_else(|| needs("vault-login-role"))?;
            names::vault_role(&role)
                .map_err(|e| Error::Usage(format!("--vault-login-role: {}", e.quoting(&role))))?;
            let jwt = one("vault-jwt").ok_or_else(|| needs("vault-jwt"))?;
            if jwt.is_empty() || jwt == "env:" {
                return Err(needs("vault-jwt"));
            }
            VaultLoginMethod::Jwt { role, jwt }
        }
        _ => {
            not_for(&["vault-login-role", "vault-jwt", "vault-username"])?;
            VaultLoginMethod::AppRole {
                role_id_file: raw("vault-role-id-file")
                    .map(PathBuf::from)
                    .ok_or_else(|| needs("vault-role-id-file"))?,
                secret_id_file: raw("vault-secret-id-file")
                    .map(PathBuf::from)
                    .ok_or_else(|| needs("vault-secret-id-file"))?,
            }
        }
    };
    let mount = one("vault-login-mount").unwrap_or_else(|| method.name().into());
    names::vault_mount(&mount)
        .map_err(|e| Error::Usage(format!("--vault-login-mount: {}", e.quoting(&mount))))?;
    Ok(Some(VaultLogin { method, mount }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vault_source: bool, flags: &[(&str, &str)]) -> Result<Option<VaultRef>, String> {
        let raw = |long: &str| {
            flags
                .iter()
                .rev()
                .find(|(k, _)| *k == long)
                .map(|(_, v)| OsString::from(v))
        };
        vault(
            &raw,
            vault_source,
            (
                &|| Some("https://vault.example:8200".into()),
                &|| None,
                &|| None,
            ),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_role_and_a_server_are_needed_and_checked() {
        assert_eq!(parse(false, &[]), Ok(None));
        assert!(
            parse(false, &[("vault-role", "r")])
                .unwrap_err()
                .contains("--source vault only")
        );
        assert!(parse(true, &[]).unwrap_err().contains("needs --vault-role"));
        let v = parse(true, &[("vault-role", "r")]).unwrap().unwrap();
        assert_eq!(
            (v.address.as_str(), v.mount.as_str(), v.login),
            ("https://vault.example:8200", "kubernetes", None)
        );
        assert!(
            parse(true, &[("vault-role", "../sys")])
                .unwrap_err()
                .contains("invalid Vault role")
        );
        let ns = parse(true, &[("vault-role", "r"), ("vault-namespace", "team-a/")]);
        assert_eq!(ns.unwrap().unwrap().namespace.as_deref(), Some("team-a"));
        let bad_ns = parse(
            true,
            &[("vault-role", "r"), ("vault-namespace", "a/../sys")],
        );
        assert!(bad_ns.unwrap_err().contains("--vault-namespace"));
        let plain = parse(
            true,
            &[("vault-role", "r"), ("vault-addr", "http://vault.example")],
        );
        assert!(plain.unwrap_err().contains("loopback"));
    }

    #[test]
    fn each_login_takes_its_own_inputs() {
        let jwt = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "jwt"),
                ("vault-login-role", "ci"),
                ("vault-jwt", "env:CI_JWT"),
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            jwt.login,
            Some(VaultLogin {
                method: VaultLoginMethod::Jwt {
                    role: "ci".into(),
                    jwt: "env:CI_JWT".into()
                },
                mount: "jwt".into()
            })
        );
        let no_role = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "jwt"),
                ("vault-jwt", "f"),
            ],
        );
        assert!(no_role.unwrap_err().contains("needs --vault-login-role"));
        let empty_env = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "jwt"),
                ("vault-login-role", "ci"),
                ("vault-jwt", "env:"),
            ],
        );
        assert!(empty_env.unwrap_err().contains("needs --vault-jwt"));
        let mixed = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "approle"),
                ("vault-jwt", "f"),
            ],
        );
        assert!(
            mixed
                .unwrap_err()
                .contains("--vault-jwt does not go with --vault-login approle")
        );
        let approle = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "approle"),
                ("vault-role-id-file", "/run/ci/role-id"),
                ("vault-secret-id-file", "/run/ci/secret-id"),
                ("vault-login-mount", "ci/approle"),
            ],
        )
        .unwrap()
        .unwrap()
        .login
        .unwrap();
        assert_eq!(approle.mount, "ci/approle");
        let bad_mount = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "approle"),
                ("vault-role-id-file", "a"),
                ("vault-secret-id-file", "b"),
                ("vault-login-mount", "../sys"),
            ],
        );
        assert!(bad_mount.unwrap_err().contains("--vault-login-mount"));
        let ldap = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "ldap"),
                ("vault-username", "alice@corp"),
            ],
        )
        .unwrap()
        .unwrap()
        .login
        .unwrap();
        assert_eq!((ldap.method.name(), ldap.mount.as_str()), ("ldap", "ldap"));
        let oidc = parse(true, &[("vault-role", "r"), ("vault-login", "oidc")]);
        assert_eq!(
            oidc.unwrap().unwrap().login.unwrap().method,
            VaultLoginMethod::Oidc { role: None }
        );
        let oidc_user = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "oidc"),
                ("vault-username", "alice"),
            ],
        );
        assert!(
            oidc_user
                .unwrap_err()
                .contains("does not go with --vault-login oidc")
        );
        let no_user = parse(true, &[("vault-role", "r"), ("vault-login", "userpass")]);
        assert!(no_user.unwrap_err().contains("needs --vault-username"));
        let bad_user = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "userpass"),
                ("vault-username", "../sys"),
            ],
        );
        assert!(bad_user.unwrap_err().contains("invalid Vault user name"));
        let user_elsewhere = parse(
            true,
            &[
                ("vault-role", "r"),
                ("vault-login", "jwt"),
                ("vault-login-role", "ci"),
                ("vault-jwt", "f"),
                ("vault-username", "alice"),
            ],
        );
        assert!(
            user_elsewhere
                .unwrap_err()
                .contains("--vault-username does not go with --vault-login jwt")
        );
    }
}
