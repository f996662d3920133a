//! `whoami`: a SelfSubjectReview made with the SA's token (like `kubectl auth
//! whoami`), plus the server version fetched with the same token — the
//! classic `curl --cacert ca.crt -H "Authorization: Bearer $TOKEN" $SERVER/version`.

use std::io::Write;

use serde_json::json;

use crate::cache::Cache;
use crate::clock::Clock;
use crate::error::Error;
use crate::options::{Format, GetOptions, Who};

use super::admin_session::AdminSession;
use super::broker_cluster::command_info;
use super::get::obtain;
use super::identity::options_of;
use super::kube_minter::credential_client;
use super::request::{admin_cluster, entry_key};

pub fn whoami(
    who: &Who,
    format: Format,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let opts = &options_of(who)?;
    if let Who::Options(_) = who {
        note_a_new_identity(opts);
    }
    // A broker's identity: its cluster, asked with the credential alone.
    let info = command_info(&opts.spec)?;
    let session = AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
    let issued = obtain(opts, &info, clock, &session)?;
    let who = format!("the {} of {}", issued.credential.kind(), opts.spec.label());
    let client = credential_client(
        &session,
        &info,
        &issued.credential,
        &issued.cluster,
        &who,
        "",
    )?;
    let (user, version) = session.block_on(async {
        let user = client.whoami().await?;
        let version = client.version().await?;
        Ok::<_, Error>((user, version))
    })??;
    match format {
        Format::Json | Format::Yaml => {
            let v = json!({
                "userInfo": user,
                "server": issued.cluster.server,
                "serverVersion": version.git_version,
            });
            format.write_document(&v, out)?;
        }
        Format::Text => {
            writeln!(
                out,
                "Username:  {}",
                user.username.as_deref().unwrap_or("-")
            )?;
            writeln!(out, "UID:       {}", user.uid.as_deref().unwrap_or("-"))?;
            writeln!(
                out,
                "Groups:    {}",
                user.groups.as_deref().unwrap_or_default().join(", ")
            )?;
            for (k, v) in user.extra.iter().flatten() {
                writeln!(out, "Extra:     {k}={}", v.join(","))?;
            }
            writeln!(
                out,
                "Server:    {} (Kubernetes {})",
                issued.cluster.server, version.git_version
            )?;
        }
    }
    Ok(())
}

/// `whoami` shows an identity; named by flags that match nothing cached
/// (a user whose groups were forgotten, a typo in an audience), it would
/// mint a credential for an identity nobody configured: it says so first.
fn note_a_new_identity(opts: &GetOptions) {
    let Ok(cluster) = admin_cluster(&opts.spec) else {
        return;
    };
    let key = entry_key(&opts.spec, &cluster);
    let cached = Cache::open(opts.cache).is_ok_and(|c| matches!(c.load(&key), Ok(Some(_))));
    if !cached {
        eprintln!(
            "note: nothing is cached for {} with these options, so a new credential is minted for it; to show the identity a kubeconfig context uses, run `kube-sa-token whoami --context NAME`",
            opts.spec.label()
        );
    }
}
