//! The Vault token this account uses: `VAULT_TOKEN`, `BAO_TOKEN`, else
//! `~/.vault-token` (what `vault login` and `bao login` write). It is a
//! secret like a minted token: never logged, shown or put in an argument.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::vault_error::VaultError;
use crate::secret::VaultToken;

/// The variables a Vault token is read from, in order, before the file.
const TOKEN_ENV: [&str; 2] = ["VAULT_TOKEN", "BAO_TOKEN"];

/// Where the Vault token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOrigin {
    Env(&'static str),
    File(PathBuf),
    /// A machine login of ours: the method and where it is mounted.
    Login(&'static str, String),
    /// A person's login of ours, kept between mints.
    /// (Its [`crate::options::VaultLogin::label`].)
    Kept(String),
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenOrigin::Env(v) => write!(f, "${v}"),
            TokenOrigin::File(p) => write!(f, "{}", p.display()),
            TokenOrigin::Login(method, mount) => write!(f, "a {method} login at auth/{mount}/"),
            TokenOrigin::Kept(login) => write!(f, "the kept {login}"),
        }
    }
}

/// `~/.vault-token`, where `vault login` and `bao login` keep the token.
fn token_file() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().join(".vault-token"))
}

/// The Vault token for `address`, and where it was found.
pub fn find_token(address: &str) -> Result<(VaultToken, TokenOrigin), VaultError> {
    for v in TOKEN_ENV {
        if let Some(t) = std::env::var(v).ok().filter(|t| !t.trim().is_empty()) {
            return Ok((VaultToken::new(t.trim()), TokenOrigin::Env(v)));
        }
    }
    let no_token = || VaultError::NoToken {
        address: address.into(),
    };
    let path = token_file().ok_or_else(no_token)?;
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            Ok((VaultToken::new(text.trim()), TokenOrigin::File(path)))
        }
        Ok(_) => Err(no_token()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(no_token()),
        Err(e) => Err(VaultError::TokenFile {
            path,
            detail: e.to_string(),
        }),
    }
}

/// What identifies the Vault token in use without showing it (the first
/// 16 hex digits of its SHA-256): a failure record made with one token does
/// not hold back the next after a login.
pub fn token_fingerprint(address: &str) -> String {
    match find_token(address) {
        Ok((t, _)) => fingerprint(&t),
        Err(_) => "none".into(),
    }
}

/// The first 16 hex digits of `token`'s SHA-256.
pub(super) fn fingerprint(token: &VaultToken) -> String {
    crate::hex::hex(&Sha256::digest(token.expose().as_bytes())[..8])
}
