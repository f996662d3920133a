//! A person's Vault login (`--vault-login userpass|ldap|oidc`). The
//! password is asked, or the browser opened ([`super::vault_oidc`]), on a
//! terminal only (the [`Keeper`] says whether this call may ask), and the
//! Vault token it gives is kept between mints (the app keeps it in the OS
//! keyring), renewed (`auth/token/renew-self`) while Vault allows, and
//! logged in for again when it is not. Also what Vault
//! says of a token itself (`auth/token/lookup-self`).

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::vault::{Answer, VaultClient, v1};
use super::vault_error::VaultError;
use crate::options::{VaultLogin, VaultLoginMethod};
use crate::secret::{Password, VaultToken};

/// A person's Vault token as it is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptToken {
    pub token: VaultToken,
    /// Unix seconds (this machine's clock) it expires at; 0: never.
    pub expires_at: i64,
    pub renewable: bool,
}

/// Where a person's login keeps its Vault token, and how the person is
/// asked: wired by the app (the `--cache auto` store, the terminal, the
/// browser).
pub trait Keeper {
    /// The kept token, if any (a store that cannot be read keeps none).
    fn load(&self) -> Option<KeptToken>;
    /// Keeps `kept` (best effort: the next mint asks again otherwise).
    fn save(&self, kept: &KeptToken);
    fn forget(&self);
    /// Whether this call may ask the person (a terminal, the foreground).
    fn may_prompt(&self) -> bool;
    /// The password, asked now; `None` when this call may not ask.
    fn password(&self, prompt: &str) -> Option<Password>;
    /// Shows `url` in the person's browser (best effort: it is printed too).
    fn open(&self, url: &str);
    /// The kept token's fingerprint, without showing it.
    fn fingerprint(&self) -> String {
        self.load().map_or_else(
            || "none".into(),
            |k| super::vault_token::fingerprint(&k.token),
        )
    }
}

/// A kept token this close to its end is not used unless it is renewed:
/// it could expire between the lookup and the mint.
const MARGIN_SECS: u64 = 5;

/// Whether a kept token Vault described as `info` may be used: it does not
/// expire, lasts past the margin, or is renewed first ([`renewed`]).
fn usable(info: &TokenInfo) -> bool {
    info.ttl == 0 || info.ttl > MARGIN_SECS || renews(info)
}

/// Whether a kept token is renewed before it is used: renewable, and less
/// than half its TTL left.
fn renews(info: &TokenInfo) -> bool {
    info.renewable && info.ttl > 0 && info.ttl.saturating_mul(2) < info.creation_ttl
}

/// What Vault says of its own token (`auth/token/lookup-self`).
#[derive(Debug, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub policies: Vec<String>,
    /// Seconds left; 0 for a token that never expires (root).
    #[serde(default)]
    pub ttl: u64,
    /// The TTL it was created with.
    #[serde(default)]
    pub creation_ttl: u64,
    #[serde(default)]
    pub renewable: bool,
}

/// The Vault token of `login`, a person's: the kept one (renewed when
/// half its TTL is gone), else a new login whose token is kept.
pub async fn token(
    client: &VaultClient,
    login: &VaultLogin,
    keeper: &dyn Keeper,
) -> Result<VaultToken, VaultError> {
    let label = login.label();
    if let Some(kept) = keeper.load() {
        if kept.expires_at == 0 || kept.expires_at > now() {
            match lookup_self(client, &kept.token).await {
                Ok(info) if usable(&info) => return Ok(renewed(client, kept, &info, keeper).await),
                Ok(_) => tracing::info!(
                    "the kept Vault token of the {label} ends in a moment and cannot be renewed: logging in again"
                ),
                Err(VaultError::Denied { .. }) => tracing::info!(
                    "the kept Vault token of the {label} is no longer valid (revoked or expired): logging in again"
                ),
                Err(e) => return Err(e),
            }
        } else {
            tracing::info!("the kept Vault token of the {label} expired: logging in again");
        }
        keeper.forget();
    }
    let needed = |needs: &'static str| VaultError::LoginNeeded {
        address: client.address.clone(),
        login: label.clone(),
        needs,
        bao_login: login.bao_login(),
    };
    let kept = match &login.method {
        VaultLoginMethod::Password { username, .. } => {
            let password = keeper
                .password(&format!(
                    "Vault password for {username} ({} at auth/{}/ on {}): ",
                    login.method.name(),
                    login.mount,
                    client.address
                ))
                .ok_or_else(|| needed("its password"))?;
            log_in(client, login, username, &password).await?
        }
        VaultLoginMethod::Oidc { role } => {
            if !keeper.may_prompt() {
                return Err(needed("a browser"));
            }
            let finish = |answer: &[u8]| kept(client, "finish the oidc login", answer);
            let open = |url: &str| keeper.open(url);
            super::vault_oidc::log_in(client, login, role.as_deref(), &open, finish).await?
        }
        VaultLoginMethod::Jwt { .. } | VaultLoginMethod::AppRole { .. } => {
            unreachable!("a machine login is made at each mint, not kept")
        }
    };
    keeper.save(&kept);
    Ok(kept.token)
}

/// Logs in as `username` with `password`.
async fn log_in(
    client: &VaultClient,
    login: &VaultLogin,
    username: &str,
    password: &Password,
) -> Result<KeptToken, VaultError> {
    let method = login.method.name();
    let path = v1(&format!("auth/{}", login.mount), &["login", username]);
    let (code, answer) = client
        .call(
            Method::POST,
            &path,
            None,
            Some(json!({ "password": password.expose() })),
        )
        .await?;
    if !code.is_success() {
        return Err(VaultError::PasswordRefused {
            address: client.address.clone(),
            method,
            mount: login.mount.clone(),
            username: username.into(),
            message: super::vault_error::message(&answer),
        });
    }
    let action = format!("log in ({method} at auth/{}/)", login.mount);
    kept(client, &action, &answer)
}

/// The token of a login's or a renewal's answer, as it is kept.
pub(super) fn kept(
    client: &VaultClient,
    action: &str,
    answer: &[u8],
) -> Result<KeptToken, VaultError> {
    let answer: Answer<serde_json::Value> = client.decode(action, answer)?;
    let auth = answer.auth.ok_or_else(|| VaultError::BadAnswer {
        address: client.address.clone(),
        action: action.into(),
        detail: "no auth.client_token".into(),
    })?;
    Ok(KeptToken {
        token: auth.client_token,
        expires_at: match auth.lease_duration {
            0 => 0,
            secs => now().saturating_add(secs.min(i64::MAX as u64) as i64),
        },
        renewable: auth.renewable,
    })
}

/// `kept`, renewed first when it is renewable and less than half of its
/// TTL is left (kept anew with its new expiry). A refused renewal leaves
/// it as it is: it works until it expires, and a new login follows.
async fn renewed(
    client: &VaultClient,
    kept: KeptToken,
    info: &TokenInfo,
    keeper: &dyn Keeper,
) -> VaultToken {
    if !renews(info) {
        return kept.token;
    }
    let action = "renew the Vault token (auth/token/renew-self)";
    let answer = client
        .call(
            Method::POST,
            "/v1/auth/token/renew-self",
            Some(&kept.token),
            Some(json!({})),
        )
        .await;
    match answer {
        Ok((code, body)) if code.is_success() => match self::kept(client, action, &body) {
            Ok(new) => {
                tracing::info!(
                    "renewed the kept Vault token ({}s left before, {}s now)",
                    info.ttl,
                    new.expires_at.saturating_sub(now())
                );
                keeper.save(&new);
                new.token
            }
            Err(e) => {
                tracing::info!("{e}");
                kept.token
            }
        },
        Ok((code, body)) => {
            let e = client.refused(action, "update on auth/token/renew-self", code, &body);
            tracing::info!("{e}; the token is used until it expires");
            kept.token
        }
        Err(e) => {
            tracing::info!("{e}; the token is used until it expires");
            kept.token
        }
    }
}

/// Logs the kept login out: its token revoked (`auth/token/revoke-self`;
/// one Vault no longer takes is as good) and forgotten. `Ok(false)` when
/// none was kept.
pub async fn log_out(client: &VaultClient, keeper: &dyn Keeper) -> Result<bool, VaultError> {
    let Some(kept) = keeper.load() else {
        return Ok(false);
    };
    let action = "revoke the kept Vault token (auth/token/revoke-self)";
    let (code, body) = client
        .call(
            Method::POST,
            "/v1/auth/token/revoke-self",
            Some(&kept.token),
            None,
        )
        .await?;
    if !code.is_success() && code != http::StatusCode::FORBIDDEN {
        return Err(client.refused(action, "update on auth/token/revoke-self", code, &body));
    }
    keeper.forget();
    Ok(true)
}

/// What Vault says of `token` itself.
pub async fn lookup_self(
    client: &VaultClient,
    token: &VaultToken,
) -> Result<TokenInfo, VaultError> {
    let action = "look up the Vault token (auth/token/lookup-self)";
    let (code, body) = client
        .call(Method::GET, "/v1/auth/token/lookup-self", Some(token), None)
        .await?;
    if !code.is_success() {
        return Err(client.refused(action, "read on auth/token/lookup-self", code, &body));
    }
    let answer: Answer<TokenInfo> = client.decode(action, &body)?;
    answer.data.ok_or_else(|| VaultError::BadAnswer {
        address: client.address.clone(),
        action: action.into(),
        detail: "no data".into(),
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ttl: u64, creation_ttl: u64, renewable: bool) -> TokenInfo {
        TokenInfo {
            display_name: "userpass-alice".into(),
            policies: vec![],
            ttl,
            creation_ttl,
            renewable,
        }
    }

    /// Renewed once half its TTL is gone; used as it is before that; a
    /// token that ends within the margin and cannot be renewed is not used.
    #[test]
    fn a_kept_token_is_renewed_past_half_its_life_and_dropped_at_its_end() {
        assert!(usable(&info(0, 0, false)), "a token that never expires");
        assert!(usable(&info(3600, 3600, true)) && !renews(&info(3600, 3600, true)));
        assert!(!renews(&info(1800, 3600, true)), "exactly half: not yet");
        assert!(renews(&info(1799, 3600, true)));
        assert!(!renews(&info(1799, 3600, false)), "not renewable");
        assert!(usable(&info(60, 3600, false)));
        assert!(!usable(&info(MARGIN_SECS, 3600, false)));
        assert!(usable(&info(MARGIN_SECS, 3600, true)), "renewed first");
    }
}
