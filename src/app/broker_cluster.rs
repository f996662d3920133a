//! A broker identity's cluster, for the commands a person types (`whoami`,
//! `token`, `kubeconfig`, `inspect`, `logout`, `cache`, `setup`): kubectl is
//! not there to name the cluster, and there is no admin context to read it
//! from, so the broker's status says it (its admin context's cluster: the
//! only one it mints for).

use std::time::Duration;

use base64::Engine;
use serde_yaml::{Mapping, Value};

use crate::broker::client;
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::options::{BrokerRef, TokenSpec};
use crate::protocol::{ClusterInfo, ExecInfo, V1};

/// How long a command waits for the broker's status.
pub(super) const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct BrokerCluster {
    /// The kubeconfig cluster entry's name: `broker:NAME` (the broker's
    /// cluster), else `broker:HOST:PORT`.
    pub name: String,
    /// The kubeconfig cluster entry: server, CA data, TLS name.
    pub entry: Value,
    pub identity: ClusterIdentity,
    /// As kubectl would describe it to the plugin.
    pub info: ClusterInfo,
    pub ca_pem: Option<Vec<u8>>,
    /// The broker's release and policy file (for `setup`'s messages).
    pub version: String,
    pub policy_file: String,
}

/// The cluster the broker `b` mints for.
pub(super) fn of(b: &BrokerRef) -> Result<BrokerCluster, Error> {
    let (version, status) = client::status(&b.socket, b.owner.as_deref(), STATUS_TIMEOUT)?;
    let ca_pem = status.ca_pem.map(String::into_bytes);
    let ca_b64 = ca_pem
        .as_ref()
        .map(|pem| base64::engine::general_purpose::STANDARD.encode(pem));
    let identity = ClusterIdentity::new(
        &status.server,
        ca_pem.as_deref(),
        status.tls_server_name.as_deref(),
        false,
    )
    .map_err(|e| crate::broker::BrokerError::Broken {
        path: b.socket.clone(),
        detail: format!("its cluster's CA: {e}"),
    })?;
    let host = status
        .server
        .split("://")
        .nth(1)
        .unwrap_or(&status.server)
        .trim_end_matches('/')
        .to_string();
    let mut entry = Mapping::new();
    entry.insert("server".into(), status.server.clone().into());
    if let Some(ca) = &ca_b64 {
        entry.insert("certificate-authority-data".into(), ca.clone().into());
    }
    if let Some(name) = &status.tls_server_name {
        entry.insert("tls-server-name".into(), name.clone().into());
    }
    // Named after the broker's cluster entry (short, stable); a broker of
    // an older release says only its server.
    let name = match status.cluster_name.as_deref() {
        Some(c)
            if !c.is_empty()
                && c.len() <= 253
                && !c.chars().any(|ch| ch.is_control() || ch.is_whitespace()) =>
        {
            format!("broker:{c}")
        }
        _ => format!("broker:{host}"),
    };
    Ok(BrokerCluster {
        name,
        entry: Value::Mapping(entry),
        identity,
        info: ClusterInfo {
            server: status.server,
            certificate_authority_data: ca_b64,
            certificate_authority: None,
            tls_server_name: status.tls_server_name,
            insecure_skip_tls_verify: false,
            proxy_url: None,
        },
        ca_pem,
        version,
        policy_file: status.policy_file,
    })
}

/// The exec info a command obtains a credential with: none from kubectl;
/// for a broker's identity, its cluster as kubectl would name it (a broker
/// client never mints without knowing where the credential goes).
pub(super) fn command_info(spec: &TokenSpec) -> Result<ExecInfo, Error> {
    Ok(ExecInfo {
        api_version: V1,
        interactive: false,
        cluster: match &spec.broker {
            Some(b) => Some(of(b)?.info),
            None => None,
        },
    })
}
