//! The one secret type. Every token and private key in this program lives in
//! a [`Secret`]: its `Debug` never shows the value, it has no `Display`, and
//! the only way to read it is the explicit [`Secret::expose`], whose call
//! sites are few and audited (the ExecCredential writer, the stores, the
//! embedded kubeconfig export and the HTTP clients that send or present it).
//! The kind parameter keeps a token from being passed where a key is meant.

use std::marker::PhantomData;

use secrecy::{ExposeSecret, SecretString};

/// What a [`Secret`] holds; its name is all `Debug` shows.
pub trait Kind {
    const NAME: &'static str;
}

/// A bearer token (a JWT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerToken {}

impl Kind for BearerToken {
    const NAME: &'static str = "Token";
}

/// A private key in PEM (PKCS #8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPem {}

impl Kind for KeyPem {
    const NAME: &'static str = "PrivateKey";
}

/// A Vault (or OpenBao) token: what the Vault source logs in with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaultTokenText {}

impl Kind for VaultTokenText {
    const NAME: &'static str = "VaultToken";
}

/// A person's password for a Vault login (`--vault-login userpass|ldap`):
/// read from the terminal, sent once, never kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordText {}

impl Kind for PasswordText {
    const NAME: &'static str = "Password";
}

/// A secret of kind `K`. Redacted in `Debug`; never `Display`.
pub struct Secret<K: Kind>(SecretString, PhantomData<K>);

/// A bearer token.
pub type Token = Secret<BearerToken>;
/// An X.509 user's private key (PEM).
pub type PrivateKey = Secret<KeyPem>;
/// A Vault token.
pub type VaultToken = Secret<VaultTokenText>;
/// A Vault login's password.
pub type Password = Secret<PasswordText>;

impl<K: Kind> Secret<K> {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()), PhantomData)
    }

    /// The secret's text: see the module's list of call sites.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl<K: Kind> Clone for Secret<K> {
    fn clone(&self) -> Self {
        Secret(self.0.clone(), PhantomData)
    }
}

impl<K: Kind> std::fmt::Debug for Secret<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}([REDACTED])", K::NAME)
    }
}

impl<K: Kind> serde::Serialize for Secret<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de, K: Kind> serde::Deserialize<'de> for Secret<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln");
        let k = PrivateKey::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n");
        let v = VaultToken::new("s.c2VjcmV0");
        let shown = format!("{t:?} {:?} {k:?} {:?} {v:?}", Some(&t), vec![k.clone()]);
        assert!(
            !shown.contains("eyJ") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        assert!(
            shown.starts_with("Token([REDACTED]) Some(Token([REDACTED]))"),
            "{shown}"
        );
        assert_eq!(
            shown.matches("PrivateKey([REDACTED])").count(),
            2,
            "{shown}"
        );
        assert!(shown.contains("VaultToken([REDACTED])"), "{shown}");
    }

    #[test]
    fn serialized_as_the_plain_string_for_the_stores() {
        let t = Token::new("abc");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"abc\"");
        let back: Token = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back.expose(), "abc");
    }
}
