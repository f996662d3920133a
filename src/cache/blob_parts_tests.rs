use super::*;
use crate::cache::store::{Entry, decode, encode};
use crate::cluster_identity::ClusterIdentity;
use crate::credential::{ClientCertificate, Credential};

#[test]
fn an_entry_that_fits_is_stored_as_it_is() {
    let blob = br#"{"token":"x"}"#;
    assert_eq!(split(blob, LIMIT).unwrap(), vec![blob.to_vec()]);
    assert_eq!(count(blob), Some(1));
    assert_eq!(join(vec![blob.to_vec()]), blob);
}

#[test]
fn parts_round_trip_and_each_fits() {
    for len in [
        0,
        1,
        LIMIT - 1,
        LIMIT,
        LIMIT + 1,
        2 * LIMIT,
        3 * LIMIT + 7,
        7 * LIMIT,
    ] {
        let blob: Vec<u8> = (0..len).map(|i| b'{' + (i % 50) as u8).collect();
        let parts = split(&blob, LIMIT).unwrap();
        assert!(parts.iter().all(|p| p.len() <= LIMIT), "{len}");
        assert_eq!(count(&parts[0]), Some(parts.len()), "{len}");
        assert_eq!(join(parts), blob, "{len}");
    }
    assert_eq!(
        split(&vec![b'{'; MAX_PARTS * LIMIT], LIMIT),
        Err(TooLarge(MAX_PARTS * LIMIT))
    );
}

#[test]
fn a_header_not_ours_is_refused() {
    assert_eq!(count(b"kube-sa-token parts=9\n{"), None);
    assert_eq!(count(b"kube-sa-token parts=1\n{"), None);
    assert_eq!(count(b"kube-sa-token parts=x"), None);
    assert_eq!(count(b"kube-sa-token parts="), None);
}

fn entry(credential: Credential, user: Option<&str>, groups: &[String]) -> Entry {
    Entry {
        credential,
        cluster: ClusterIdentity::new(
            // An EKS endpoint, about as long as server names get.
            "https://0123456789ABCDEF0123456789ABCDEF.gr7.eu-central-1.eks.amazonaws.com",
            Some(include_str!("../../tests/fixtures/ca-a.pem").as_bytes()),
            Some("kubernetes.default.svc.cluster.local"),
            false,
        )
        .unwrap(),
        clock_offset: -3,
        namespace: if user.is_some() { "" } else { NS }.into(),
        service_account: if user.is_some() { "" } else { SA }.into(),
        user: user.map(String::from),
        groups: groups.to_vec(),
        minted_at: 1_796_063_066,
        checked_at: 1_796_063_066,
        secret: user.is_none().then(|| SECRET.to_string()),
        asked_secs: Some(86_400),
        revalidate_secs: Some(600),
        cache_dir: Some("0123456789abcdef".into()),
        lease: None,
    }
}

// The longest names Kubernetes allows: a namespace is a DNS label (63),
// a ServiceAccount and a Secret DNS subdomains (253).
const NS: &str = "platform-observability-and-security-engineering-production-euw1";
const SA: &str = concat!(
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "grafana-agent-reader-for-the"
);
const SECRET: &str = concat!(
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "grafana-agent-reader-for-the-platform-observability-stack-in-production-",
    "token-xyz12"
);
const ISS: &str = "https://oidc.eks.eu-central-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";

/// A token of a short-named ServiceAccount, not bound to a Secret.
fn typical_entry(token: crate::secret::Token) -> Entry {
    let mut e = entry(Credential::Token(token), None, &[]);
    e.namespace = "team".into();
    e.service_account = "viewer".into();
    e.secret = None;
    e
}

/// A user's certificate as a cluster signs it: the request's subject
/// (CN=user, O=each group) and P-256 key, signed with the cluster CA's
/// RSA 2048 key (kubeadm's, EKS's, GKE's and AKS's CAs all are).
fn rsa_signed_user_cert(user: &str, groups: &[String]) -> ClientCertificate {
    use rsa::pkcs8::DecodePrivateKey;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::{DecodePem, EncodePem};
    let req = crate::x509::new_request(user, groups).unwrap();
    let csr = x509_cert::request::CertReq::from_pem(req.csr_pem.as_bytes()).unwrap();
    let ca_key = rsa::RsaPrivateKey::from_pkcs8_pem(include_str!(
        "../../tests/fixtures/test-signing-key.pem"
    ))
    .unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(ca_key);
    let validity =
        x509_cert::time::Validity::from_now(std::time::Duration::from_secs(86_400)).unwrap();
    let cert = CertificateBuilder::new(
        Profile::Leaf {
            issuer: x509_cert::name::Name::from_str("CN=kubernetes").unwrap(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        x509_cert::serial_number::SerialNumber::new(&[0x5a; 20]).unwrap(),
        validity,
        csr.info.subject,
        csr.info.public_key,
        &signer,
    )
    .unwrap()
    .build::<rsa::pkcs1v15::Signature>()
    .unwrap();
    ClientCertificate {
        certificate: cert.to_pem(x509_cert::der::pem::LineEnding::LF).unwrap(),
        key: req.key,
    }
}

/// Issue 21: each credential kind's largest realistic entry is stored in
/// Windows Credential Manager: within [`MAX_PARTS`] items of at most 2,560
/// bytes, read back whole; a typical token entry takes one item.
#[test]
fn the_largest_realistic_entry_of_each_kind_fits_credential_manager() {
    let now = 1_796_063_066;
    let audiences: Vec<String> = (1..=3)
        .map(|i| format!("https://vault-{i}.platform.example.com/v1/auth/kubernetes"))
        .collect();
    let bound = crate::testing::mint(serde_json::json!({
        "iss": ISS, "sub": format!("system:serviceaccount:{NS}:{SA}"),
        "aud": audiences, "iat": now, "nbf": now, "exp": now + 86_400,
        "jti": "6f0c9f5e-1c2d-4a8e-9d3b-7a6b5c4d3e2f",
        "kubernetes.io": {
            "namespace": NS,
            "serviceaccount": {"name": SA, "uid": "a1b2c3d4-e5f6-4a8b-9c0d-1e2f3a4b5c6d"},
            "secret": {"name": SECRET, "uid": "b1b2c3d4-e5f6-4a8b-9c0d-1e2f3a4b5c6d"}
        }
    }));
    let legacy = crate::testing::mint(serde_json::json!({
        "iss": "kubernetes/serviceaccount", "sub": format!("system:serviceaccount:{NS}:{SA}"),
        "kubernetes.io/serviceaccount/namespace": NS,
        "kubernetes.io/serviceaccount/secret.name": SECRET,
        "kubernetes.io/serviceaccount/service-account.name": SA,
        "kubernetes.io/serviceaccount/service-account.uid": "a1b2c3d4-e5f6-4a8b-9c0d-1e2f3a4b5c6d"
    }));
    // A user named by an e-mail address, in 20 groups of 40 characters.
    let user = "firstname.middlename.lastname@platform-engineering.example.com";
    let groups: Vec<String> = (0..20)
        .map(|i| format!("oidc:platform-engineering-team-{i:02}-viewers"))
        .collect();
    let typical = crate::testing::bound(
        "team",
        "viewer",
        &["https://kubernetes.default.svc"],
        now,
        now + 3600,
    );
    let cases = [
        ("bound token", entry(Credential::Token(bound), None, &[]), 2),
        (
            "legacy token",
            entry(Credential::Token(legacy), None, &[]),
            2,
        ),
        (
            "user certificate",
            entry(
                Credential::Certificate(rsa_signed_user_cert(user, &groups)),
                Some(user),
                &groups,
            ),
            3,
        ),
        ("typical token", typical_entry(typical), 1),
    ];
    for (what, e, at_most) in cases {
        let blob = encode(&e);
        let parts = split(blob.as_bytes(), LIMIT).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        eprintln!("{what}: {} bytes, {} item(s)", blob.len(), parts.len());
        assert!(parts.iter().all(|p| p.len() <= LIMIT), "{what}");
        assert!(parts.len() <= at_most, "{what}: {} parts", parts.len());
        assert_eq!(count(&parts[0]), Some(parts.len()));
        let back = decode(&join(parts)).unwrap();
        assert_eq!(encode(&back), blob, "{what}");
    }
}
