//! Which cluster a token belongs to. A URL alone does not say: an SSH tunnel
//! or a port-forward re-pointed, `127.0.0.1:6443` of two local clusters, a
//! cluster recreated at the same address all share one. An identity is the
//! URL plus what the client trusts there: a fingerprint of the CA bundle, the
//! TLS server name, and whether verification is skipped.

use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Normalizes a server URL for comparison: no trailing slash, lowercase
/// scheme and host.
pub fn normalize_server(server: &str) -> String {
    let s = server
        .trim_start()
        .trim_end_matches(|c: char| c == '/' || c.is_whitespace());
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        None => s.to_string(),
    }
}

/// The cluster a client talks to, as precisely as its configuration says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterIdentity {
    /// The server URL, normalized.
    pub server: String,
    /// SHA-256 (hex) over the DER certificates of the trusted CA bundle,
    /// sorted; `None`: the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// TLS verification is skipped (`insecure-skip-tls-verify`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// A CA bundle that cannot be read or is not PEM.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CaError(String);

/// The fingerprint of a PEM CA bundle: independent of the order of the
/// certificates, of duplicates, and of the PEM text around them.
pub fn ca_fingerprint(pem: &[u8]) -> Result<String, CaError> {
    let certs = match plain_certificates(pem) {
        Some(certs) => Ok(certs),
        None => CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>(),
    };
    let certs = certs.map_err(|_| CaError("the CA bundle is not valid PEM".into()))?;
    if certs.is_empty() {
        return Err(CaError("the CA bundle holds no certificate".into()));
    }
    Ok(fingerprint_of(certs))
}

/// SHA-256 (hex) over DER certificates, sorted and without duplicates.
fn fingerprint_of(mut certs: Vec<Vec<u8>>) -> String {
    certs.sort();
    certs.dedup();
    let mut h = Sha256::new();
    for c in &certs {
        h.update((c.len() as u64).to_be_bytes());
        h.update(c);
    }
    crate::hex::hex(&h.finalize())
}

/// The DER certificates of a bundle of nothing but `CERTIFICATE` blocks of
/// plain base64 lines, as kubeconfigs and kubectl give them; `None` for
/// anything else (other blocks, blanks or spaces in a block, text that
/// looks like a marker), which the PEM reader of rustls reads instead.
/// What is read here, it reads alike: this is its common case with the
/// `base64` crate's decoder, a cache hit's largest cost with its own
/// (which is also made for private keys, in constant time).
fn plain_certificates(pem: &[u8]) -> Option<Vec<Vec<u8>>> {
    use base64::Engine;
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    for line in pem.split(|b| *b == b'\n' || *b == b'\r') {
        match &mut body {
            None if line == BEGIN => body = Some(Vec::with_capacity(pem.len())),
            None if line.starts_with(b"-") => return None,
            None => {}
            Some(b) if line == END => {
                certs.push(base64::engine::general_purpose::STANDARD.decode(&b).ok()?);
                body = None;
            }
            // Anything but base64 (a blank, a marker) fails its decoding.
            Some(b) => b.extend_from_slice(line),
        }
    }
    body.is_none().then_some(certs)
}

/// The certificates of a CA bundle, re-encoded as `CERTIFICATE` blocks, and
/// how many other PEM blocks it held (a private key in a bundle, say): what
/// may be handed to others (the broker's status) is the certificates alone.
pub fn certificates_only(pem: &[u8]) -> (String, usize) {
    use base64::Engine;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .filter_map(|c| c.ok().map(|c| c.to_vec()))
        .collect();
    let blocks = pem.windows(11).filter(|w| w == b"-----BEGIN ").count();
    let mut out = String::new();
    for der in &certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    (out, blocks.saturating_sub(certs.len()))
}

/// Reads a CA from inline base64 data or a file, as kubeconfigs give it.
pub fn read_ca(data_b64: Option<&str>, file: Option<&str>) -> Result<Option<Vec<u8>>, CaError> {
    use base64::Engine;
    if let Some(data) = data_b64.filter(|d| !d.trim().is_empty()) {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map(Some)
            .map_err(|_| CaError("certificate-authority-data is not base64".into()));
    }
    match file.filter(|f| !f.is_empty()) {
        Some(f) => std::fs::read(Path::new(f))
            .map(Some)
            .map_err(|e| CaError(format!("cannot read certificate-authority {f}: {e}"))),
        None => Ok(None),
    }
}

impl ClusterIdentity {
    pub fn new(
        server: &str,
        ca_pem: Option<&[u8]>,
        tls_server_name: Option<&str>,
        insecure: bool,
    ) -> Result<ClusterIdentity, CaError> {
        Ok(ClusterIdentity {
            server: normalize_server(server),
            ca: ca_pem.map(ca_fingerprint).transpose()?,
            tls_server_name: tls_server_name
                .filter(|n| !n.is_empty())
                .map(str::to_ascii_lowercase),
            insecure,
        })
    }

    /// Why a token minted on `self` must not be sent to `target`, if it
    /// must not: another URL; kubectl skipping verification where the mint
    /// did not; another CA or TLS server name where both verify.
    pub fn mismatch(&self, target: &ClusterIdentity) -> Option<String> {
        if self.server != target.server {
            return Some(format!(
                "it was minted on {} but kubectl is talking to {}",
                self.server, target.server
            ));
        }
        if target.insecure && !self.insecure {
            return Some(format!(
                "kubectl skips TLS verification for {} (insecure-skip-tls-verify), so it cannot know which server gets the token",
                target.server
            ));
        }
        if self.insecure || target.insecure {
            return None;
        }
        if self.ca != target.ca {
            return Some(format!(
                "kubectl trusts another CA for {} than the one the token was minted through ({} vs {}): another cluster may be behind that URL",
                target.server,
                short(&target.ca),
                short(&self.ca)
            ));
        }
        if self.tls_server_name != target.tls_server_name {
            return Some(format!(
                "kubectl verifies {} as {:?}, the mint verified it as {:?}",
                target.server,
                target
                    .tls_server_name
                    .as_deref()
                    .unwrap_or("its URL's host"),
                self.tls_server_name.as_deref().unwrap_or("its URL's host")
            ));
        }
        None
    }
}

fn short(ca: &Option<String>) -> String {
    match ca {
        // A stored fingerprint may be damaged: never sliced blindly.
        Some(fp) => format!("CA {}…", fp.chars().take(12).collect::<String>()),
        None => "the system's roots".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_A: &str = include_str!("../tests/fixtures/ca-a.pem");
    const CA_B: &str = include_str!("../tests/fixtures/ca-b.pem");

    /// Issue 32, finding 9: a bundle with a private key in it is handed on
    /// as its certificates alone, the same CA by the binding's fingerprint.
    #[test]
    fn only_certificates_leave_a_bundle() {
        let key =
            std::str::from_utf8(include_bytes!("../tests/fixtures/test-signing-key.pem")).unwrap();
        let bundle = format!("{CA_A}{key}{CA_B}");
        let (certs, other) = certificates_only(bundle.as_bytes());
        assert_eq!(other, 1);
        assert!(!certs.contains("PRIVATE KEY"));
        assert_eq!(certs.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert_eq!(
            ca_fingerprint(certs.as_bytes()).unwrap(),
            ca_fingerprint(format!("{CA_A}{CA_B}").as_bytes()).unwrap()
        );
        assert_eq!(certificates_only(CA_A.as_bytes()).1, 0);
    }

    /// The quick reader of plain bundles reads what rustls' PEM reader
    /// reads, and leaves it everything else.
    #[test]
    fn plain_bundles_read_as_rustls_reads_them() {
        let rustls = |pem: &str| {
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .map(|c| c.map(|c| c.to_vec()))
                .collect::<Result<Vec<_>, _>>()
                .ok()
        };
        let key =
            std::str::from_utf8(include_bytes!("../tests/fixtures/test-signing-key.pem")).unwrap();
        let crlf = CA_A.replace('\n', "\r\n");
        let plain = [
            CA_A.to_string(),
            format!("{CA_A}{CA_B}"),
            format!("text before\n{CA_B}\n\n{CA_A}"),
            crlf.clone(),
            CA_A.trim_end().to_string(),
            String::new(),
        ];
        for pem in &plain {
            let quick = plain_certificates(pem.as_bytes());
            assert!(quick.is_some(), "read quickly: {pem:?}");
            assert_eq!(quick, rustls(pem), "{pem:?}");
        }
        // Left to rustls: a key block, spaces, a marker with trailing
        // blanks, a block never ended, base64 with a bad character.
        let body_line = CA_A.lines().nth(1).unwrap();
        let others = [
            format!("{CA_A}{key}"),
            CA_A.replacen(body_line, &format!(" {body_line}"), 1),
            CA_A.replacen(
                "-----BEGIN CERTIFICATE-----",
                "-----BEGIN CERTIFICATE----- ",
                1,
            ),
            CA_A.replacen("-----END CERTIFICATE-----", "", 1),
            CA_A.replacen(body_line, &body_line.replacen('A', "*", 1), 1),
        ];
        for pem in &others {
            assert_eq!(plain_certificates(pem.as_bytes()), None, "{pem:?}");
            assert_eq!(
                ca_fingerprint(pem.as_bytes()).ok(),
                rustls(pem).map(|_| ca_fingerprint_by_rustls(pem)),
                "{pem:?}"
            );
        }
        assert_eq!(
            ca_fingerprint(crlf.as_bytes()).unwrap(),
            ca_fingerprint(CA_A.as_bytes()).unwrap()
        );
    }

    /// The fingerprint as rustls' reader alone gives it.
    fn ca_fingerprint_by_rustls(pem: &str) -> String {
        fingerprint_of(
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .map(|c| c.unwrap().to_vec())
                .collect(),
        )
    }

    fn id(ca: Option<&str>, tls: Option<&str>, insecure: bool) -> ClusterIdentity {
        ClusterIdentity::new(
            "https://127.0.0.1:6443/",
            ca.map(str::as_bytes),
            tls,
            insecure,
        )
        .unwrap()
    }

    #[test]
    fn fingerprint_ignores_order_duplicates_and_text() {
        let ab = format!("{CA_A}{CA_B}");
        let ba = format!("junk before\n{CA_B}\n\n{CA_A}{CA_A}");
        assert_eq!(
            ca_fingerprint(ab.as_bytes()).unwrap(),
            ca_fingerprint(ba.as_bytes()).unwrap()
        );
        assert_ne!(
            ca_fingerprint(CA_A.as_bytes()).unwrap(),
            ca_fingerprint(CA_B.as_bytes()).unwrap()
        );
        assert!(ca_fingerprint(b"no certificate").is_err());
    }

    #[test]
    fn normalizes_servers() {
        assert_eq!(
            normalize_server("HTTPS://LocalHost:6443/"),
            "https://localhost:6443"
        );
        assert_eq!(
            normalize_server("https://h:1/prefix/"),
            "https://h:1/prefix"
        );
        // Found by the property test: whitespace before a trailing slash.
        assert_eq!(normalize_server("!\t/"), "!");
        assert_eq!(normalize_server(&normalize_server("x \t/ /")), "x");
    }

    #[test]
    fn binding_rules() {
        let minted = id(Some(CA_A), None, false);
        assert_eq!(minted.mismatch(&id(Some(CA_A), None, false)), None);
        let other_ca = minted.mismatch(&id(Some(CA_B), None, false)).unwrap();
        assert!(other_ca.contains("another CA"), "{other_ca}");
        assert!(minted.mismatch(&id(None, None, false)).is_some());
        assert!(
            minted
                .mismatch(&id(Some(CA_A), Some("api"), false))
                .is_some()
        );
        let insecure = minted.mismatch(&id(None, None, true)).unwrap();
        assert!(insecure.contains("skips TLS verification"), "{insecure}");
        // A mint that skipped verification binds nothing beyond the URL.
        let loose = id(None, None, true);
        assert_eq!(loose.mismatch(&id(Some(CA_B), None, false)), None);
        let elsewhere = ClusterIdentity::new("https://10.0.0.1:6443", None, None, false).unwrap();
        assert!(minted.mismatch(&elsewhere).unwrap().contains("minted on"));
    }
}
