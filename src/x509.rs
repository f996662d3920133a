//! X.509 users: the private key and the certificate signing request made on
//! this machine (ECDSA P-256; the key never leaves it), what a signed
//! certificate says (subject, groups, validity, serial, issuer), and the
//! freshness rule for a cached one: the same margin as tokens.

use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::der::asn1::SetOfVec;
use x509_cert::der::{Any, DecodePem, Encode, EncodePem, Tag, Tagged};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::jwt::{Fresh, SKEW_SECS, Stale, margin_for_lifetime};
use crate::secret::PrivateKey;

const CN: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
const O: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.10");

/// Errors making a key or a request, or reading a certificate. No message
/// carries key material or certificate bytes.
#[derive(Debug, thiserror::Error)]
pub enum X509Error {
    /// The request could not be built (a name the encoder refuses).
    #[error("could not build the certificate signing request: {0}")]
    Request(String),
    /// The stored key is not a PKCS #8 P-256 key in PEM.
    #[error("the private key is not a PKCS #8 ECDSA P-256 key")]
    Key,
    /// Not a PEM certificate, or not DER inside.
    #[error("not a PEM X.509 certificate ({0})")]
    Certificate(String),
}

/// A new key and the CSR (PEM) for `CN=name, O=group...`.
pub struct Request {
    pub key: PrivateKey,
    pub csr_pem: String,
}

/// Generates a P-256 key from the OS's random source and the CSR for the
/// user `name` in `groups` (one O attribute per group, in the order given).
pub fn new_request(name: &str, groups: &[String]) -> Result<Request, X509Error> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let subject = subject_name(name, groups)?;
    let req = RequestBuilder::new(subject, &key)
        .and_then(|b| b.build::<DerSignature>())
        .map_err(|e| X509Error::Request(e.to_string()))?;
    let csr_pem = req
        .to_pem(LineEnding::LF)
        .map_err(|e| X509Error::Request(e.to_string()))?;
    let key_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| X509Error::Request("the key does not encode".into()))?;
    Ok(Request {
        key: PrivateKey::new(key_pem.as_str()),
        csr_pem,
    })
}

/// `CN=name` then one `O=group` RDN per group, as UTF8Strings: no escaping
/// of a text form is involved, so any name the API server accepts works.
fn subject_name(name: &str, groups: &[String]) -> Result<Name, X509Error> {
    let rdn = |oid, value: &str| -> Result<RelativeDistinguishedName, X509Error> {
        let value = Any::new(Tag::Utf8String, value.as_bytes())
            .map_err(|e| X509Error::Request(e.to_string()))?;
        let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }])
            .map_err(|e| X509Error::Request(e.to_string()))?;
        Ok(RelativeDistinguishedName(set))
    };
    let mut rdns = vec![rdn(CN, name)?];
    for g in groups {
        rdns.push(rdn(O, g)?);
    }
    Ok(RdnSequence(rdns))
}

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The user name (subject CN).
    pub user: String,
    /// The groups (subject O), in certificate order.
    pub groups: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    /// Hex, colon-separated, as `openssl x509 -serial` shows it without colons.
    pub serial: String,
    /// The issuer's distinguished name (RFC 4514).
    pub issuer: String,
    /// The subject's distinguished name (RFC 4514).
    pub subject: String,
    /// A CA certificate (basicConstraints cA): a cluster's or a signer's,
    /// which authenticates nobody.
    pub is_ca: bool,
    /// SHA-256 of the certificate's DER, lowercase hex (the API server's
    /// audit log names a client certificate `X509SHA256=` this).
    pub sha256: String,
    spki_der: Vec<u8>,
}

impl CertInfo {
    /// Seconds from NotBefore to NotAfter.
    pub fn lifetime_secs(&self) -> i64 {
        self.not_after.saturating_sub(self.not_before)
    }

    /// Whether `key` is the private key of this certificate.
    pub fn matches_key(&self, key: &PrivateKey) -> Result<bool, X509Error> {
        let key = SigningKey::from_pkcs8_pem(key.expose()).map_err(|_| X509Error::Key)?;
        let public = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|_| X509Error::Key)?;
        Ok(public.as_bytes() == self.spki_der.as_slice())
    }
}

/// Reads the first certificate of a PEM bundle (the signer's answer may
/// append its chain).
pub fn parse(pem: &str) -> Result<CertInfo, X509Error> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let first = pem
        .find(BEGIN)
        .and_then(|b| Some(&pem[b..b + pem[b..].find(END)? + END.len()]))
        .ok_or_else(|| X509Error::Certificate("no PEM certificate block in it".into()))?;
    let cert = Certificate::from_pem(first.as_bytes())
        .map_err(|e| X509Error::Certificate(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let texts = |oid| -> Vec<String> {
        tbs.subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .filter(|atv| atv.oid == oid)
            .filter_map(|atv| text(&atv.value))
            .collect()
    };
    let secs =
        |t: x509_cert::time::Time| t.to_unix_duration().as_secs().min(i64::MAX as u64) as i64;
    Ok(CertInfo {
        user: texts(CN).into_iter().next().unwrap_or_default(),
        groups: texts(O),
        not_before: secs(tbs.validity.not_before),
        not_after: secs(tbs.validity.not_after),
        serial: {
            // DER keeps a leading zero byte on positive serials; openssl
            // shows them without it.
            let bytes = tbs.serial_number.as_bytes();
            let start = bytes
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(bytes.len().saturating_sub(1));
            bytes[start..]
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        },
        issuer: tbs.issuer.to_string(),
        subject: tbs.subject.to_string(),
        sha256: {
            use sha2::{Digest, Sha256};
            let der = cert
                .to_der()
                .map_err(|e| X509Error::Certificate(e.to_string()))?;
            crate::hex::hex(&Sha256::digest(&der))
        },
        is_ca: tbs
            .get::<BasicConstraints>()
            .ok()
            .flatten()
            .is_some_and(|(_, b)| b.ca),
        spki_der: tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| X509Error::Certificate(e.to_string()))?,
    })
}

/// A directory string's text (UTF8String, PrintableString, IA5String).
fn text(value: &Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok().map(str::to_string)
        }
        _ => None,
    }
}

/// What the caller asked for: a certificate is fresh only for exactly this.
#[derive(Debug, Clone, Copy)]
pub struct WantUser<'a> {
    pub name: &'a str,
    pub groups: &'a [String],
}

/// Groups as a set: order and repetition do not change who a user is.
fn group_set(groups: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = groups.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// May a cached certificate be handed out at `now` (server time)? Until
/// NotAfter minus the token margin (the larger of 2 minutes and 20% of the
/// lifetime); NotBefore beyond the tolerated skew is "not yet valid" unless
/// `new` (just signed: valid by the signer's clock).
pub fn check(
    info: &CertInfo,
    want: &WantUser<'_>,
    now: OffsetDateTime,
    new: bool,
) -> Result<Fresh, Stale> {
    if info.user != want.name {
        return Err(Stale::WrongSubject(info.user.clone()));
    }
    if group_set(&info.groups) != group_set(want.groups) {
        return Err(Stale::WrongGroups(info.groups.clone()));
    }
    let now_s = now.unix_timestamp();
    if !new && info.not_before > now_s.saturating_add(SKEW_SECS) {
        return Err(Stale::NotYetValid);
    }
    let margin = margin_for_lifetime(info.lifetime_secs());
    let secs_left = info.not_after.saturating_sub(now_s);
    if secs_left <= margin {
        return Err(Stale::Expiring { secs_left, margin });
    }
    OffsetDateTime::from_unix_timestamp(info.not_after.saturating_sub(margin))
        .map(Fresh::Until)
        .map_err(|_| Stale::Undecodable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestCa, user_cert};

    fn want<'a>(groups: &'a [String]) -> WantUser<'a> {
        WantUser {
            name: "alice",
            groups,
        }
    }

    #[test]
    fn request_carries_the_name_and_every_group() {
        let groups = vec!["dev".to_string(), "ops, \"eu\"+1".to_string()];
        let r = new_request("alice", &groups).unwrap();
        assert!(r.csr_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert!(r.key.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        // Signed by the CA of the tests, the request's subject and key come back.
        let ca = TestCa::new();
        let cert = ca.sign_request(&r.csr_pem, 1_000_000, 1_003_600);
        let info = parse(&cert).unwrap();
        assert_eq!(info.user, "alice");
        assert_eq!(info.groups, groups);
        assert!(info.matches_key(&r.key).unwrap());
        let other = new_request("alice", &groups).unwrap();
        assert!(!info.matches_key(&other.key).unwrap());
        assert_eq!(info.lifetime_secs(), 3600);
        assert!(info.issuer.contains("CN=test-ca"), "{}", info.issuer);
        assert!(!info.serial.is_empty());
    }

    #[test]
    fn fresh_until_not_after_minus_the_token_margin() {
        let cert = user_cert("alice", &["dev"], 1_000_000, 1_003_600);
        let info = parse(&cert.certificate).unwrap();
        let groups = vec!["dev".to_string()];
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        assert_eq!(
            check(&info, &want(&groups), at(1_000_100), false),
            Ok(Fresh::Until(at(1_003_600 - 720)))
        );
        assert_eq!(
            check(&info, &want(&groups), at(1_003_600 - 720), false),
            Err(Stale::Expiring {
                secs_left: 720,
                margin: 720
            })
        );
        // Before NotBefore beyond the skew: not yet valid, unless just signed.
        assert_eq!(
            check(&info, &want(&groups), at(1_000_000 - 60), false),
            Err(Stale::NotYetValid)
        );
        assert!(check(&info, &want(&groups), at(1_000_000 - 60), true).is_ok());
    }

    #[test]
    fn other_user_or_groups_are_stale() {
        let cert = user_cert("alice", &["dev", "ops"], 1_000_000, 1_003_600);
        let info = parse(&cert.certificate).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_000_100).unwrap();
        let same = vec!["ops".to_string(), "dev".to_string(), "dev".to_string()];
        assert!(check(&info, &want(&same), now, false).is_ok());
        let fewer = vec!["dev".to_string()];
        assert_eq!(
            check(&info, &want(&fewer), now, false),
            Err(Stale::WrongGroups(vec!["dev".into(), "ops".into()]))
        );
        let bob = WantUser {
            name: "bob",
            groups: &same,
        };
        assert_eq!(
            check(&info, &bob, now, false),
            Err(Stale::WrongSubject("alice".into()))
        );
    }

    #[test]
    fn garbage_is_not_a_certificate_and_says_nothing_of_it() {
        let e = parse("-----BEGIN CERTIFICATE-----\nc2VjcmV0\n-----END CERTIFICATE-----\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("c2VjcmV0"), "{e}");
        assert!(parse("").is_err());
        let bad =
            PrivateKey::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n");
        let cert = user_cert("alice", &[], 1, 2);
        let e = parse(&cert.certificate)
            .unwrap()
            .matches_key(&bad)
            .unwrap_err();
        assert!(!e.to_string().contains("c2VjcmV0"));
    }
}
