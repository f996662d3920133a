//! The bearer token type. Every token in this program lives in a [`Token`]:
//! its `Debug` and `Display` never show the value, and the only way to read it
//! is the explicit [`Token::expose`].

use secrecy::{ExposeSecret, SecretString};

/// A bearer token (a JWT). Redacted in `Debug`; never `Display`.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Token(SecretString::from(value.into()))
    }

    /// The token text. Call sites are few and audited: the ExecCredential
    /// writer, the stores, and the HTTP clients that send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

impl serde::Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for Token {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Token::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln");
        let shown = format!("{t:?} {:?}", Some(&t));
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}
