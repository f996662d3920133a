//! `token`: the classic workflow in one command. It prints the raw bearer
//! token (the cached one, else minted as `get` would) for curl and scripts,
//! and with `--ca-file` writes the cluster's CA beside it:
//! `curl --cacert ca.crt -H "Authorization: Bearer $(kube-sa-token token
//! --context C --ca-file ca.crt)" $SERVER/version`.

use std::io::Write;
use std::path::Path;

use crate::clock::Clock;
use crate::credential::Credential;
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{GetOptions, Who};

use super::admin_session::AdminSession;
use super::broker_cluster::{self, command_info};
use super::get::obtain;
use super::identity::options_of;

pub fn token(
    who: &Who,
    ca_file: Option<&Path>,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let opts = &options_of(who)?;
    let spec = &opts.spec;
    // The CA first: nothing is minted for a request that cannot be met.
    let ca = ca_file.map(|_| admin_ca(opts)).transpose()?;
    let info = command_info(spec)?;
    let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
    let issued = obtain(opts, &info, clock, &session)?;
    let Credential::Token(token) = &issued.credential else {
        return Err(Error::Usage(format!(
            "{} authenticates with a client certificate, not a token: `kube-sa-token kubeconfig --embed-token --output-file FILE` writes it with its key (curl: --cert and --key)",
            spec.label()
        )));
    };
    if let (Some(path), Some(ca)) = (ca_file, ca) {
        crate::fsutil::write_atomic(path, &ca, 0o644).map_err(|e| {
            Error::CheckFailed(format!(
                "cannot write --ca-file {}: {e}; pick a path in a directory you can write",
                path.display()
            ))
        })?;
    }
    writeln!(out, "{}", token.expose())?;
    Ok(())
}

/// The CA of the admin context's cluster (the one the token is bound to),
/// as its kubeconfig gives it.
fn admin_ca(opts: &GetOptions) -> Result<Vec<u8>, Error> {
    let spec = &opts.spec;
    // A Vault role's: the CA its engine's config names (it must name one).
    if spec.vault.is_some()
        && let Some(remote) = broker_cluster::remote(spec)
    {
        return Ok(remote?.ca_pem.unwrap_or_default());
    }
    if let Some(b) = &spec.broker {
        return broker_cluster::of(b)?.ca_pem.ok_or_else(|| {
            Error::Usage(format!(
                "the broker at {} names no cluster CA (the system's roots): curl needs no --cacert for it, leave out --ca-file",
                b.socket.display()
            ))
        });
    }
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    kc.cluster_ca(&spec.admin_context)?.ok_or_else(|| {
        Error::Usage(format!(
            "the admin context {:?} names no cluster CA (the system's roots, or no verification): curl needs no --cacert for it, leave out --ca-file",
            spec.admin_context
        ))
    })
}
