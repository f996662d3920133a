//! `setup --broker`: what the broker says of its cluster, and a first
//! credential through it (so a policy refusal shows now, not at the first
//! kubectl call), then the kubeconfig cluster entry the client needs.

use serde_yaml::Value;

use crate::clock::SystemClock;
use crate::error::Error;
use crate::options::{BrokerRef, GetOptions};
use crate::protocol::{ExecInfo, V1};

use super::admin_session::AdminSession;
use super::broker_cluster;
use super::broker_minter::BrokerMinter;
use super::mint::mint_and_keep;
use super::request::{entry_key, recursion_chain, target_cluster};
use crate::cache::Cache;

/// Checks the broker and the credential; the cluster entry's name
/// (`broker:HOST:PORT`) and body. A dry run asks for no credential.
pub(super) fn validate(
    b: &BrokerRef,
    opts: &GetOptions,
    dry_run: bool,
) -> Result<(String, Value), Error> {
    let cluster = broker_cluster::of(b)?;
    if cluster.version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "note: the broker runs kube-sa-token {}, this is {}",
            cluster.version,
            env!("CARGO_PKG_VERSION")
        );
    }
    if !dry_run {
        let info = ExecInfo {
            api_version: V1,
            interactive: false,
            cluster: Some(cluster.info.clone()),
        };
        // Asked of the broker with the entry's exact options (duration,
        // audiences, source), never answered from this account's cache: a
        // refusal shows now, with the policy's reason, and nothing is
        // written (issue 33). What it hands out is kept, as `get` keeps it.
        let session = AdminSession::new(None, "");
        let target = target_cluster(opts, &info)?;
        let key = entry_key(&opts.spec, &target);
        let cache = Cache::open(opts.cache)?;
        let minter = BrokerMinter::new(b, &session, false);
        mint_and_keep(
            &cache,
            &minter,
            &SystemClock,
            opts,
            &target,
            &key,
            &recursion_chain(opts)?,
        )?;
        eprintln!(
            "the broker at {} issued a credential for {} (policy {})",
            b.socket.display(),
            opts.spec.label(),
            cluster.policy_file
        );
    }
    Ok((cluster.name, cluster.entry))
}
