//! `setup --broker`: what the broker says of its cluster, and a first
//! credential through it (so a policy refusal shows now, not at the first
//! kubectl call), then the kubeconfig cluster entry the client needs.

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use crate::broker::client;
use crate::clock::SystemClock;
use crate::error::Error;
use crate::options::{BrokerRef, GetOptions};
use crate::protocol::{ClusterInfo, ExecInfo, V1};

use super::admin_session::AdminSession;

/// How long `setup` and `doctor` wait for the broker's status.
pub(super) const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks the broker and the credential; the cluster entry's name
/// (`broker:HOST:PORT`) and body. A dry run asks for no credential.
pub(super) fn validate(
    b: &BrokerRef,
    opts: &GetOptions,
    dry_run: bool,
) -> Result<(String, Value), Error> {
    let (version, status) = client::status(&b.socket, b.owner.as_deref(), STATUS_TIMEOUT)?;
    if version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "note: the broker runs kube-sa-token {version}, this is {}",
            env!("CARGO_PKG_VERSION")
        );
    }
    use base64::Engine;
    let ca_b64 = status
        .ca_pem
        .as_ref()
        .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem));
    if !dry_run {
        let info = ExecInfo {
            api_version: V1,
            interactive: false,
            cluster: Some(ClusterInfo {
                server: status.server.clone(),
                certificate_authority_data: ca_b64.clone(),
                certificate_authority: None,
                tls_server_name: status.tls_server_name.clone(),
                insecure_skip_tls_verify: false,
                proxy_url: None,
            }),
        };
        let session = AdminSession::new(None, "");
        super::get::obtain(opts, &info, &SystemClock, &session)?;
        eprintln!(
            "the broker at {} issued a credential for {} (policy {})",
            b.socket.display(),
            opts.spec.label(),
            status.policy_file
        );
    }
    let host = status
        .server
        .split("://")
        .nth(1)
        .unwrap_or(&status.server)
        .trim_end_matches('/')
        .to_string();
    let mut cluster = Mapping::new();
    cluster.insert("server".into(), status.server.clone().into());
    if let Some(ca) = ca_b64 {
        cluster.insert("certificate-authority-data".into(), ca.into());
    }
    if let Some(name) = status.tls_server_name {
        cluster.insert("tls-server-name".into(), name.into());
    }
    Ok((format!("broker:{host}"), Value::Mapping(cluster)))
}
