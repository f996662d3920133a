//! `inspect`: header and claims of a token, and — only with `--verify` —
//! whether it is valid (signature against the cluster's JWKS, and TokenReview).
//! Reads the input ([`input`]), then reports on a token ([`token`]) or a
//! user's certificate ([`certificate`]) ([`report`]).

mod certificate;
mod input;
mod report;
mod token;

use std::io::Write;

use crate::clock::Clock;
use crate::error::Error;

pub use input::Request;
use input::{Inspected, read_input};

/// `kube-sa-token inspect`.
pub fn inspect(req: Request<'_>, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let (inspected, cached) = read_input(req.input)?;
    match inspected {
        Inspected::Token(t) => token::inspect_token(&req, &t, cached.as_ref(), clock, out),
        Inspected::Certificate { pem, credential } => certificate::inspect_certificate(
            &req,
            &pem,
            credential.as_ref(),
            cached.as_ref(),
            clock,
            out,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::options::{Format, InspectInput};
    use crate::secret::Token;
    use crate::testing::{bound, mint};
    use serde_json::{Value, json};

    fn run(token: &Token, format: Format) -> String {
        let clock = FakeClock::at_unix(1_000_100);
        let mut out = Vec::new();
        let req = Request {
            input: &InspectInput::Given(token.clone()),
            kubeconfig: None,
            admin_context: None,
            verify: false,
            format,
        };
        inspect(req, &clock, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bound_token_text() {
        let t = bound(
            "team",
            "viewer",
            &["https://kubernetes.default.svc"],
            1_000_000,
            1_003_600,
        );
        let text = run(&t, Format::Text);
        assert!(text.contains("bound token"), "{text}");
        assert!(text.contains("system:serviceaccount:team:viewer"));
        assert!(text.contains("in 58m20s"), "{text}");
        assert!(text.contains("1m40s ago"), "{text}");
        assert!(
            text.contains("not checked"),
            "never claims validity unchecked: {text}"
        );
        assert!(!text.contains(t.expose()), "never prints the token");
    }

    #[test]
    fn a_given_certificate_shows_user_groups_validity_and_issuer() {
        let c = crate::testing::user_cert("alice", &["dev", "ops"], 1_000_000, 1_003_600);
        let text = run(&Token::new(c.certificate.clone()), Format::Text);
        assert!(text.contains("X.509 client certificate"), "{text}");
        assert!(text.contains("User:             alice"), "{text}");
        assert!(text.contains("Groups:           dev, ops"), "{text}");
        assert!(text.contains("Issuer:           CN=test-ca"), "{text}");
        assert!(text.contains("in 58m20s"), "{text}");
        assert!(text.contains("Serial:           2A"), "{text}");
        let v: Value =
            serde_json::from_str(&run(&Token::new(c.certificate), Format::Json)).unwrap();
        assert_eq!(v["kind"], "certificate");
        assert_eq!(v["groups"], json!(["dev", "ops"]));
        assert_eq!(v["expired"], false);
    }

    /// The id the API server's audit log gives a credential's requests
    /// (issue 20 item 4): JTI= of a bound token, X509SHA256= of a
    /// certificate's DER; none for a legacy token or a CA.
    #[test]
    fn the_credential_id_is_the_audit_logs() {
        let t = bound("team", "viewer", &["api"], 1_000_000, 1_003_600);
        let jti = "JTI=6f0c9f5e-1c2d-4a8e-9d3b-000000000001";
        assert!(run(&t, Format::Text).contains(&format!("Credential ID:    {jti}")));
        let v: Value = serde_json::from_str(&run(&t, Format::Json)).unwrap();
        assert_eq!(v["credentialId"], jti);
        let legacy = crate::testing::legacy("team", "viewer");
        let v: Value = serde_json::from_str(&run(&legacy, Format::Json)).unwrap();
        assert_eq!(v["credentialId"], Value::Null);

        let c = crate::testing::user_cert("alice", &["dev"], 1_000_000, 1_003_600);
        use base64::Engine;
        let body: String = c
            .certificate
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        use sha2::Digest;
        let hex: String = crate::hex::hex(&sha2::Sha256::digest(&der));
        let v: Value =
            serde_json::from_str(&run(&Token::new(c.certificate.clone()), Format::Json)).unwrap();
        assert_eq!(v["credentialId"], format!("X509SHA256={hex}"));
        assert_eq!(
            crate::credential_id::of(&crate::credential::Credential::Certificate(c)),
            Some(format!("X509SHA256={hex}"))
        );
        let ca = crate::testing::TestCa::new().certificate();
        let v: Value = serde_json::from_str(&run(&Token::new(ca), Format::Json)).unwrap();
        assert_eq!(v["credentialId"], Value::Null);
    }

    /// `inspect - < ca.crt`: the cluster's CA is not called a client
    /// certificate (issue 24).
    #[test]
    fn a_ca_certificate_is_called_one() {
        let ca = crate::testing::TestCa::new().certificate();
        let text = run(&Token::new(ca.clone()), Format::Text);
        assert!(text.contains("X.509 CA certificate"), "{text}");
        assert!(!text.contains("client certificate"), "{text}");
        assert!(!text.contains("Revocation"), "{text}");
        let v: Value = serde_json::from_str(&run(&Token::new(ca), Format::Json)).unwrap();
        assert_eq!(v["kind"], "caCertificate");
        let leaf = crate::testing::user_cert("alice", &[], 1_000_000, 1_003_600);
        assert!(!crate::x509::parse(&leaf.certificate).unwrap().is_ca);
    }

    #[test]
    fn legacy_token_json() {
        let t = mint(
            json!({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:team:viewer",
            "kubernetes.io/serviceaccount/namespace": "team", "kubernetes.io/serviceaccount/secret.name": "viewer-token",
            "kubernetes.io/serviceaccount/service-account.name": "viewer"}),
        );
        let v: Value = serde_json::from_str(&run(&t, Format::Json)).unwrap();
        assert_eq!(v["kind"], "legacy");
        assert_eq!(v["expires"], Value::Null);
        assert_eq!(v["serviceAccount"]["secret"], "viewer-token");
        assert_eq!(v["verification"], Value::Null);
        let text = run(&t, Format::Text);
        assert!(
            text.contains("Expires:          never") && text.contains("token Secret viewer-token"),
            "{text}"
        );
    }
}
