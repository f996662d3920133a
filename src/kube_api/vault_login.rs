//! The Vault token a mint uses: this account's (`VAULT_TOKEN`, `BAO_TOKEN`,
//! `~/.vault-token`: a person's `bao login`), else the login the entry
//! names (`--vault-login`). A machine login's token (a CI job's JWT, an
//! AppRole) lives for the one mint: it is revoked when the mint is done. A
//! person's password login keeps its token ([`super::vault_person`]).

use http::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::vault::{VaultClient, v1};
use super::vault_error::VaultError;
pub use super::vault_person::{Keeper, KeptToken, log_out, lookup_self};
use super::vault_token::{TokenOrigin, find_token};
use crate::options::{VaultLogin, VaultLoginMethod, VaultRef};
use crate::secret::VaultToken;

/// A Vault token and where it came from.
pub struct UsedToken {
    pub token: VaultToken,
    pub origin: TokenOrigin,
    /// From a login of ours: revoke it when done ([`done`]).
    logged_in: bool,
}

/// The token to use with `v`'s server: found, else a person's kept login
/// (`keeper`), else logged in for.
pub async fn token(
    client: &VaultClient,
    v: &VaultRef,
    keeper: &dyn Keeper,
) -> Result<UsedToken, VaultError> {
    match (find_token(&v.address), &v.login) {
        (Ok((token, origin)), _) => Ok(UsedToken {
            token,
            origin,
            logged_in: false,
        }),
        (Err(VaultError::NoToken { .. }), Some(login)) if login.method.is_person() => {
            Ok(UsedToken {
                token: super::vault_person::token(client, login, keeper).await?,
                origin: TokenOrigin::Kept(login.label()),
                logged_in: false,
            })
        }
        (Err(VaultError::NoToken { .. }), Some(login)) => Ok(UsedToken {
            token: log_in(client, login).await?,
            origin: TokenOrigin::Login(login.method.name(), login.mount.clone()),
            logged_in: true,
        }),
        (Err(e), _) => Err(e),
    }
}

/// Ends the use of `used`: a login's token is revoked (best effort: it
/// expires anyway).
pub async fn done(client: &VaultClient, used: &UsedToken) {
    if !used.logged_in {
        return;
    }
    let revoked = client
        .call(
            Method::POST,
            "/v1/auth/token/revoke-self",
            Some(&used.token),
            None,
        )
        .await;
    if !matches!(revoked, Ok((code, _)) if code.is_success()) {
        tracing::info!("the Vault login's token could not be revoked; it expires on its own");
    }
}

/// The secret input of `login` (the JWT, the secret id), read now.
fn read(login: &VaultLogin, address: &str) -> Result<Vec<(&'static str, String)>, VaultError> {
    let file = |what: &'static str, path: &std::path::Path| {
        if let Some(why) = others_may_write(path) {
            return Err(VaultError::LoginInput {
                address: address.into(),
                detail: format!(
                    "refusing the {what} in {}: {why}, so another user could log this one in as someone else (chmod go-w)",
                    path.display()
                ),
            });
        }
        std::fs::read_to_string(path)
            .map(|t| t.trim().to_string())
            .map_err(|e| VaultError::LoginInput {
                address: address.into(),
                detail: format!("cannot read the {what} from {}: {e}", path.display()),
            })
    };
    let values = match &login.method {
        VaultLoginMethod::Jwt { role, jwt } => {
            let text = match jwt.strip_prefix("env:") {
                Some(var) => std::env::var(var).map_err(|_| VaultError::LoginInput {
                    address: address.into(),
                    detail: format!("--vault-jwt env:{var}: ${var} is not set"),
                })?,
                None => file("JWT", std::path::Path::new(jwt))?,
            };
            vec![("role", role.clone()), ("jwt", text.trim().to_string())]
        }
        VaultLoginMethod::AppRole {
            role_id_file,
            secret_id_file,
        } => vec![
            ("role_id", file("role id", role_id_file)?),
            ("secret_id", file("secret id", secret_id_file)?),
        ],
        // A person's: asked for, never read here.
        VaultLoginMethod::Password { .. } | VaultLoginMethod::Oidc { .. } => Vec::new(),
    };
    if let Some((what, _)) = values.iter().find(|(_, v)| v.is_empty()) {
        return Err(VaultError::LoginInput {
            address: address.into(),
            detail: format!(
                "the {what} for --vault-login {} is empty",
                login.method.name()
            ),
        });
    }
    Ok(values)
}

/// Why another user could change the file at `path` (group or others may
/// write it), if they could.
fn others_may_write(path: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o022 != 0).then(|| format!("it is writable by others (mode {:o})", mode & 0o777))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// What identifies a login's secret input without showing it (the first
/// 16 hex digits of its SHA-256): a new JWT or secret id is a new chance
/// for a backed-off mint.
pub fn input_fingerprint(login: &VaultLogin, address: &str) -> String {
    match read(login, address) {
        Ok(values) => {
            let mut h = Sha256::new();
            for (_, v) in values {
                h.update(v.as_bytes());
                h.update([0]);
            }
            crate::hex::hex(&h.finalize()[..8])
        }
        Err(_) => "unreadable".into(),
    }
}

/// Logs in with `login`: its Vault token.
async fn log_in(client: &VaultClient, login: &VaultLogin) -> Result<VaultToken, VaultError> {
    let body: serde_json::Map<String, serde_json::Value> = read(login, &client.address)?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    let action = format!("log in ({} at auth/{}/)", login.method.name(), login.mount);
    let path = v1(&format!("auth/{}", login.mount), &["login"]);
    let (code, answer) = client
        .call(Method::POST, &path, None, Some(json!(body)))
        .await?;
    if !code.is_success() {
        return Err(VaultError::LoginRefused {
            address: client.address.clone(),
            method: login.method.name(),
            mount: login.mount.clone(),
            message: super::vault_error::message(&answer),
        });
    }
    super::vault_person::kept(client, &action, &answer).map(|k| k.token)
}

/// Runs `f` with a client for `v`'s server and the token to use there
/// ([`token`]); a machine login's token is revoked after it ([`done`]).
/// Call it inside the runtime.
pub async fn with_token<T, E: From<VaultError>>(
    v: &VaultRef,
    keeper: &dyn Keeper,
    f: impl AsyncFnOnce(&VaultClient, &UsedToken) -> Result<T, E>,
) -> Result<T, E> {
    let client = VaultClient::new(v)?;
    let used = token(&client, v, keeper).await?;
    tracing::debug!("the Vault token from {}", used.origin);
    let result = f(&client, &used).await;
    done(&client, &used).await;
    result
}

/// The capabilities `token` has on each of `paths`
/// (`sys/capabilities-self`), in their order.
pub async fn capabilities(
    client: &VaultClient,
    token: &VaultToken,
    paths: &[String],
) -> Result<Vec<Vec<String>>, VaultError> {
    let action = "ask for the Vault token's capabilities (sys/capabilities-self)";
    let body = serde_json::json!({ "paths": paths });
    let (code, answer) = client
        .call(
            Method::POST,
            "/v1/sys/capabilities-self",
            Some(token),
            Some(body),
        )
        .await?;
    if !code.is_success() {
        return Err(client.refused(action, "update on sys/capabilities-self", code, &answer));
    }
    let all: std::collections::HashMap<String, serde_json::Value> =
        client.decode(action, &answer)?;
    Ok(paths
        .iter()
        .map(|p| {
            all.get(p)
                .and_then(|c| serde_json::from_value::<Vec<String>>(c.clone()).ok())
                .unwrap_or_default()
        })
        .collect())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_login_input_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("jwt");
        std::fs::write(&f, "eyJx").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(others_may_write(&f), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(others_may_write(&f), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(
            others_may_write(&f).unwrap(),
            "it is writable by others (mode 666)"
        );
        let login = VaultLogin {
            method: VaultLoginMethod::Jwt {
                role: "ci".into(),
                jwt: f.display().to_string(),
            },
            mount: "jwt".into(),
        };
        let e = read(&login, "https://vault.example:8200")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("refusing the JWT in") && !e.contains("eyJx"),
            "{e}"
        );
    }
}
