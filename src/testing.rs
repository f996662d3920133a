//! Fixtures for the unit tests: options for one ServiceAccount, and real RS256
//! tokens signed with the test key, as the API server would mint them.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use crate::options::{GetOptions, SourceKind, TokenSpec};
use crate::token::Token;

const KEY: &[u8] = include_bytes!("../tests/fixtures/test-signing-key.pem");

/// Options for the team/viewer SA through context "admin", `--cache none`.
pub fn opts() -> GetOptions {
    let mut o = GetOptions::with_defaults(TokenSpec {
        kubeconfig: None,
        admin_context: "admin".into(),
        namespace: "team".into(),
        service_account: "viewer".into(),
        source: SourceKind::TokenRequest,
        audiences: vec![],
        bind_secret: false,
    });
    o.cache = crate::options::CacheChoice::None;
    o.secret_wait = std::time::Duration::from_secs(30);
    o.lock_wait = std::time::Duration::from_secs(30);
    o
}

/// Mints a real RS256 token with `claims`.
pub fn mint(claims: serde_json::Value) -> Token {
    let key = EncodingKey::from_rsa_pem(KEY).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-kid".into());
    Token::new(encode(&header, &claims, &key).unwrap())
}

/// A bound token for `ns/sa` with audiences `aud`, issued at `iat`, expiring at `exp`.
pub fn bound(ns: &str, sa: &str, aud: &[&str], iat: i64, exp: i64) -> Token {
    mint(serde_json::json!({
        "iss": "https://127.0.0.1:6443", "sub": format!("system:serviceaccount:{ns}:{sa}"),
        "aud": aud, "iat": iat, "nbf": iat, "exp": exp, "jti": "6f0c9f5e-1c2d-4a8e-9d3b-000000000001",
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa, "uid": "u-1"}}
    }))
}

/// A legacy (Secret-based) token for `ns/sa`: no `exp`.
pub fn legacy(ns: &str, sa: &str) -> Token {
    mint(serde_json::json!({
        "iss": "kubernetes/serviceaccount", "sub": format!("system:serviceaccount:{ns}:{sa}"),
        "kubernetes.io/serviceaccount/namespace": ns,
        "kubernetes.io/serviceaccount/secret.name": format!("{sa}-token"),
        "kubernetes.io/serviceaccount/service-account.name": sa
    }))
}
