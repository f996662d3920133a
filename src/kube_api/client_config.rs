//! What the admin client and the token client configure alike: timeouts
//! and the cluster's CA certificates.

use std::time::Duration;

use kube::Config;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// How long to wait for a TCP/TLS connection, and then for an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn apply_timeouts(config: &mut Config) {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
}

/// DER certificates of a PEM bundle.
pub(super) fn pem_certs(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA bundle is not valid PEM ({e})"))?;
    if certs.is_empty() {
        return Err("the CA bundle holds no certificate".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_certs_reads_every_certificate() {
        let pem = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_certs(pem.as_bytes()).unwrap(),
            vec![vec![1u8, 2, 3], vec![4u8, 5]]
        );
        assert!(pem_certs(b"nothing").is_err());
    }
}
