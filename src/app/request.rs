//! What a credential request is about, worked out once for every command:
//! the cluster kubectl talks to, the entry's cache key, and the recursion
//! chain handed to the admin's exec plugins.

use crate::cache::CacheKey;
use crate::cluster_identity::{ClusterIdentity, read_ca};
use crate::error::Error;
use crate::guard;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{GetOptions, TokenSpec};
use crate::protocol::{ExecInfo, ProtocolError};

/// The admin context's cluster from the kubeconfig (no client built); a
/// broker's, from the broker.
pub(super) fn admin_cluster(spec: &TokenSpec) -> Result<ClusterIdentity, Error> {
    if let Some(remote) = super::broker_cluster::remote(spec) {
        // No admin context here: the broker's (its status says it), or the
        // Vault engine's (its config).
        return Ok(remote?.identity);
    }
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    Ok(kc.cluster_identity(&spec.admin_context)?)
}

/// The cache key of the token `spec` describes for `cluster`: the admin
/// context is read from the kubeconfig files kubectl would read now.
pub(super) fn entry_key(spec: &TokenSpec, cluster: &ClusterIdentity) -> CacheKey {
    if let Some(b) = &spec.broker {
        // From a broker: its socket stands where the admin kubeconfig would.
        tracing::info!("broker {}; server {}", b.socket.display(), cluster.server);
        return CacheKey::for_token(spec, cluster, &format!("broker:{}", b.socket.display()));
    }
    if let Some(v) = &spec.vault {
        // From Vault: the engine's role stands where the admin kubeconfig would.
        tracing::info!(
            "Vault {} role {}/{}; server {}",
            v.address,
            v.mount,
            v.role,
            cluster.server
        );
        return CacheKey::for_token(spec, cluster, &vault_origin(v));
    }
    let files: Vec<String> = crate::kubeconfig::paths(spec.kubeconfig.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|p| crate::fsutil::absolute(p).display().to_string())
        .collect();
    tracing::info!(
        "admin context {:?} from {}; server {}",
        spec.admin_context,
        files.join(", "),
        cluster.server
    );
    CacheKey::for_token(spec, cluster, &files.join("\n"))
}

/// Where a Vault role's credentials come from, as the cache key and the
/// index record name it: `vault:ADDRESS/MOUNT/ROLE`.
pub(super) fn vault_origin(v: &crate::options::VaultRef) -> String {
    format!("{}/{}", v.engine(), v.role)
}

/// The cluster kubectl talks to: as the exec info describes it, else the
/// admin context's (without `provideClusterInfo`, the plugin cannot know).
pub(super) fn target_cluster(opts: &GetOptions, info: &ExecInfo) -> Result<ClusterIdentity, Error> {
    if let Some(described) = described_cluster(info) {
        return described;
    }
    if let Some(b) = &opts.spec.broker {
        // The broker mints for one cluster; the client must know which
        // one kubectl talks to before anything is sent there.
        return Err(ProtocolError::Malformed(format!(
            "--broker {} needs the cluster from kubectl: set `provideClusterInfo: true` in the exec entry (`kube-sa-token setup --broker` writes it)",
            b.socket.display()
        ))
        .into());
    }
    if opts.spec.vault.is_some() {
        return Err(ProtocolError::Malformed(
            "--source vault needs the cluster from kubectl: set `provideClusterInfo: true` in the exec entry (`kube-sa-token setup --source vault` writes it)".into(),
        )
        .into());
    }
    admin_cluster(&opts.spec)
}

/// The cluster the exec info describes (`provideClusterInfo`), if it does.
pub(super) fn described_cluster(info: &ExecInfo) -> Option<Result<ClusterIdentity, Error>> {
    let c = info.cluster.as_ref()?;
    let bad = |e: crate::cluster_identity::CaError| {
        Error::from(ProtocolError::Malformed(format!("spec.cluster: {e}")))
    };
    let identity = read_ca(
        c.certificate_authority_data.as_deref(),
        c.certificate_authority.as_deref(),
    )
    .and_then(|ca| {
        ClusterIdentity::new(
            &c.server,
            ca.as_deref(),
            c.tls_server_name.as_deref(),
            c.insecure_skip_tls_verify,
        )
    });
    Some(identity.map_err(bad))
}

/// The recursion chain for anything that may run the admin's credentials
/// (see [`guard`]); a loop is refused here, before any lock is taken.
pub(super) fn recursion_chain(opts: &GetOptions) -> Result<String, Error> {
    let spec = &opts.spec;
    let me = guard::identity(&spec.admin_context, &spec.label());
    Ok(guard::enter(
        std::env::var(guard::CHAIN_ENV).ok().as_deref(),
        &me,
    )?)
}
