//! Fixtures for the unit tests: options for one ServiceAccount, and real RS256
//! tokens signed with the test key, as the API server would mint them.

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

use crate::options::{GetOptions, Principal, SourceKind, TokenSpec};
use crate::secret::Token;

const KEY: &[u8] = include_bytes!("../tests/fixtures/test-signing-key.pem");

/// Options for the team/viewer SA through context "admin", `--cache none`.
pub fn opts() -> GetOptions {
    let mut o = GetOptions::with_defaults(TokenSpec {
        kubeconfig: None,
        admin_context: "admin".into(),
        broker: None,
        vault: None,
        namespace: "team".into(),
        principal: Principal::ServiceAccount("viewer".into()),
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

/// A certificate authority for the unit tests: signs CSRs the way the
/// cluster's signer does (a leaf with the request's subject and key).
pub struct TestCa {
    key: p256::ecdsa::SigningKey,
    name: x509_cert::name::Name,
}

impl TestCa {
    pub fn new() -> TestCa {
        use std::str::FromStr;
        TestCa {
            key: p256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
            name: x509_cert::name::Name::from_str("CN=test-ca").unwrap(),
        }
    }

    /// Signs the PEM CSR `csr`, valid from `not_before` to `not_after`
    /// (unix seconds); the certificate's PEM.
    pub fn sign_request(&self, csr: &str, not_before: i64, not_after: i64) -> String {
        use x509_cert::builder::{Builder, CertificateBuilder, Profile};
        use x509_cert::der::{DecodePem, EncodePem};
        use x509_cert::time::Validity;
        let req = x509_cert::request::CertReq::from_pem(csr.as_bytes()).unwrap();
        let cert = CertificateBuilder::new(
            Profile::Leaf {
                issuer: self.name.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            x509_cert::serial_number::SerialNumber::from(0x2a_u32),
            Validity {
                not_before: at(not_before),
                not_after: at(not_after),
            },
            req.info.subject,
            req.info.public_key,
            &self.key,
        )
        .unwrap()
        .build::<p256::ecdsa::DerSignature>()
        .unwrap();
        cert.to_pem(p256::pkcs8::LineEnding::LF).unwrap()
    }

    /// This CA's own (self-signed) certificate, as a kubeconfig's
    /// `certificate-authority-data` holds one.
    pub fn certificate(&self) -> String {
        use x509_cert::builder::{Builder, CertificateBuilder, Profile};
        use x509_cert::der::EncodePem;
        use x509_cert::spki::SubjectPublicKeyInfoOwned;
        use x509_cert::time::Validity;
        let spki = SubjectPublicKeyInfoOwned::from_key(*self.key.verifying_key()).unwrap();
        let cert = CertificateBuilder::new(
            Profile::Root,
            x509_cert::serial_number::SerialNumber::from(1_u32),
            Validity {
                not_before: at(1_000_000),
                not_after: at(2_000_000_000),
            },
            self.name.clone(),
            spki,
            &self.key,
        )
        .unwrap()
        .build::<p256::ecdsa::DerSignature>()
        .unwrap();
        cert.to_pem(p256::pkcs8::LineEnding::LF).unwrap()
    }
}

/// `s` unix seconds as a certificate's time.
fn at(s: i64) -> x509_cert::time::Time {
    use x509_cert::der::asn1::UtcTime;
    x509_cert::time::Time::UtcTime(
        UtcTime::from_unix_duration(std::time::Duration::from_secs(s as u64)).unwrap(),
    )
}

/// A client certificate and key for user `name` in `groups`, valid from
/// `not_before` to `not_after`, signed by a fresh [`TestCa`].
pub fn user_cert(
    name: &str,
    groups: &[&str],
    not_before: i64,
    not_after: i64,
) -> crate::credential::ClientCertificate {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let req = crate::x509::new_request(name, &groups).unwrap();
    crate::credential::ClientCertificate {
        certificate: TestCa::new().sign_request(&req.csr_pem, not_before, not_after),
        key: req.key,
    }
}

/// A temporary directory where no other user can write above it (under
/// `$HOME`, not /tmp): for tests of paths that must not be replaceable
/// (`exec_command::replaceable`).
#[cfg(unix)]
pub fn private_tempdir() -> tempfile::TempDir {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(".kst-test-")
        .tempdir_in(home)
        .unwrap()
}
