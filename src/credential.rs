//! What `get` hands out: a ServiceAccount's bearer token, or an X.509
//! user's client certificate and private key. Both are secrets in types
//! whose `Debug` is redacted; the key's PEM is read only through
//! [`PrivateKey::expose`].

use serde::{Deserialize, Serialize};

use crate::secret::{PrivateKey, Token};

/// A credential kept and emitted by `get`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Repr", into = "Repr")]
pub enum Credential {
    /// A ServiceAccount token (a JWT).
    Token(Token),
    /// An X.509 user: a certificate signed through the CSR API and its key.
    Certificate(ClientCertificate),
}

/// A client certificate (PEM, as the signer returned it) and the private key
/// it certifies (PEM, PKCS #8), made on this machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientCertificate {
    pub certificate: String,
    pub key: PrivateKey,
}

impl Credential {
    /// The token, for what only ServiceAccount tokens have (JWT claims,
    /// bound Secrets, legacy revalidation).
    pub fn token(&self) -> Option<&Token> {
        match self {
            Credential::Token(t) => Some(t),
            Credential::Certificate(_) => None,
        }
    }

    pub fn certificate(&self) -> Option<&ClientCertificate> {
        match self {
            Credential::Certificate(c) => Some(c),
            Credential::Token(_) => None,
        }
    }

    /// The token's text, "" for a certificate (tests compare tokens).
    #[cfg(test)]
    pub fn expose_token(&self) -> &str {
        self.token().map_or("", Token::expose)
    }

    /// Whether `other` is the very same credential (a replaced one is not).
    pub fn same_as(&self, other: &Credential) -> bool {
        match (self, other) {
            (Credential::Token(a), Credential::Token(b)) => a.expose() == b.expose(),
            (Credential::Certificate(a), Credential::Certificate(b)) => {
                a.certificate == b.certificate
            }
            _ => false,
        }
    }

    /// "token" or "certificate", for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Token(_) => "token",
            Credential::Certificate(_) => "certificate",
        }
    }
}

/// The stored shape, flattened into a cache entry: `token`, or
/// `certificate` + `key` (entries written before users existed have a
/// `token` only).
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Token {
        token: Token,
    },
    Certificate {
        certificate: String,
        key: PrivateKey,
    },
}

impl From<Repr> for Credential {
    fn from(r: Repr) -> Self {
        match r {
            Repr::Token { token } => Credential::Token(token),
            Repr::Certificate { certificate, key } => {
                Credential::Certificate(ClientCertificate { certificate, key })
            }
        }
    }
}

impl From<Credential> for Repr {
    fn from(c: Credential) -> Self {
        match c {
            Credential::Token(token) => Repr::Token { token },
            Credential::Certificate(c) => Repr::Certificate {
                certificate: c.certificate,
                key: c.key,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let c = Credential::Certificate(ClientCertificate {
            certificate: "-----BEGIN CERTIFICATE-----".into(),
            key: PrivateKey::new("-----BEGIN PRIVATE KEY-----\nsecretkeybytes"),
        });
        let shown = format!("{c:?}");
        assert!(!shown.contains("secretkeybytes"), "{shown}");
        assert!(shown.contains("REDACTED"));
        let t = Credential::Token(Token::new("eyJsecret"));
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }

    #[test]
    fn stored_shapes_round_trip() {
        #[derive(Serialize, Deserialize)]
        struct Holder {
            #[serde(flatten)]
            credential: Credential,
            other: u8,
        }
        let old = r#"{"token":"eyJ.a.b","other":1}"#;
        let h: Holder = serde_json::from_str(old).unwrap();
        assert_eq!(h.credential.expose_token(), "eyJ.a.b");
        let cert = Holder {
            credential: Credential::Certificate(ClientCertificate {
                certificate: "C".into(),
                key: PrivateKey::new("K"),
            }),
            other: 2,
        };
        let text = serde_json::to_string(&cert).unwrap();
        assert_eq!(text, r#"{"certificate":"C","key":"K","other":2}"#);
        let back: Holder = serde_json::from_str(&text).unwrap();
        assert!(back.credential.same_as(&cert.credential));
        assert_eq!(back.credential.certificate().unwrap().key.expose(), "K");
    }
}
