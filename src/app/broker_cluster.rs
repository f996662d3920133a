//! A broker identity's (or a Vault role's) cluster, for the commands a person types (`whoami`,
//! `token`, `kubeconfig`, `inspect`, `logout`, `cache`, `setup`): kubectl is
//! not there to name the cluster, and there is no admin context to read it
//! from, so the broker's status says it (its admin context's cluster: the
//! only one it mints for).

use std::time::Duration;

use base64::Engine;
use serde_yaml::{Mapping, Value};

use super::admin_session::AdminSession;
use crate::broker::client;
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::kube_api::vault::{VaultClient, VaultError};
use crate::kube_api::vault_login::{self, Keeper, UsedToken};
use crate::options::{BrokerRef, TokenSpec, VaultRef};
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

/// The cluster the engine of `v` mints for, as a kubeconfig cluster entry
/// (`vault:HOST:PORT/MOUNT`) and as kubectl would describe it: what the
/// commands a person types use where kubectl is not there to say it.
pub(super) fn vault_cluster(v: &VaultRef, keeper: &dyn Keeper) -> Result<BrokerCluster, Error> {
    let session = AdminSession::new(None, "");
    let engine = session.block_on(vault_login::with_token(
        v,
        keeper,
        async |client: &VaultClient, used: &UsedToken| {
            client.engine_cluster(&used.token, &v.mount).await
        },
    ))??;
    let identity = engine_identity(v, &engine.server, &engine.ca_pem)?;
    let ca_b64 = base64::engine::general_purpose::STANDARD.encode(&engine.ca_pem);
    let mut entry = Mapping::new();
    entry.insert("server".into(), engine.server.clone().into());
    entry.insert("certificate-authority-data".into(), ca_b64.clone().into());
    let host = v.address.split("://").nth(1).unwrap_or(&v.address);
    Ok(BrokerCluster {
        // '+' is in no mount or namespace name.
        name: match &v.namespace {
            Some(ns) => format!("vault:{host}/{}+{ns}", v.mount),
            None => format!("vault:{host}/{}", v.mount),
        },
        entry: Value::Mapping(entry),
        identity,
        info: ClusterInfo {
            server: engine.server,
            certificate_authority_data: Some(ca_b64),
            certificate_authority: None,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            proxy_url: None,
        },
        ca_pem: Some(engine.ca_pem),
        version: String::new(),
        policy_file: String::new(),
    })
}

/// What a token of the engine is bound to: its `kubernetes_host` and CA.
pub(super) fn engine_identity(
    v: &VaultRef,
    server: &str,
    ca: &[u8],
) -> Result<ClusterIdentity, Error> {
    ClusterIdentity::new(server, Some(ca), None, false).map_err(|e| {
        VaultError::EngineConfig {
            address: v.address.clone(),
            mount: v.mount.clone(),
            detail: format!("has a kubernetes_ca_cert that is not usable ({e})"),
        }
        .into()
    })
}

/// The cluster of an identity that has no admin context: a broker's (its
/// status says it) or a Vault role's (its engine's config says it); `None`
/// for an admin context's identity.
pub(super) fn remote(spec: &TokenSpec) -> Option<Result<BrokerCluster, Error>> {
    if let Some(b) = &spec.broker {
        return Some(of(b));
    }
    // The commands a person types: a password login may prompt.
    let may_prompt = super::admin_session::terminal();
    spec.vault
        .as_ref()
        .map(|v| vault_cluster(v, &super::vault_keeper::VaultKeeper::new(v, may_prompt)))
}

/// The exec info a command obtains a credential with: none from kubectl;
/// for a broker's or a Vault role's identity, its cluster as kubectl would
/// name it (neither mints without knowing where the credential goes).
pub(super) fn command_info(spec: &TokenSpec) -> Result<ExecInfo, Error> {
    Ok(ExecInfo {
        api_version: V1,
        interactive: false,
        cluster: match remote(spec) {
            Some(c) => Some(c?.info),
            None => None,
        },
    })
}
