//! The id the API server gives requests made with a credential in its audit
//! log and in SelfSubjectReview (`authentication.kubernetes.io/credential-id`,
//! Kubernetes 1.32+): `JTI=<jti>` for a bound token, `X509SHA256=<hex
//! SHA-256 of the DER>` for a client certificate. Legacy tokens and CA
//! certificates have none. `cache list -o wide`, `inspect`, `logout` and
//! `-v` print it, so a user can find what a credential did.

use crate::credential::Credential;
use crate::jwt::Claims;
use crate::x509::CertInfo;

/// The id of `credential`.
pub fn of(credential: &Credential) -> Option<String> {
    match credential {
        Credential::Token(t) => of_token(&crate::jwt::decode(t).ok()?.1),
        Credential::Certificate(c) => of_certificate(&crate::x509::parse(&c.certificate).ok()?),
    }
}

/// A token's id, from its claims.
pub fn of_token(claims: &Claims) -> Option<String> {
    claims.jti.as_ref().map(|j| format!("JTI={j}"))
}

/// A client certificate's id.
pub fn of_certificate(info: &CertInfo) -> Option<String> {
    (!info.is_ca).then(|| format!("X509SHA256={}", info.sha256))
}
