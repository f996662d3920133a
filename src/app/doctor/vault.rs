//! `doctor`'s check of the Vault roles exec entries mint through
//! (`--source vault`): the Vault token (where it comes from, whose, how
//! long it lasts), what its policies let it do on the paths a mint, a
//! check and a logout use, and that the engine mints for the cluster the
//! entry's contexts name.

use crate::kube_api::vault::{VaultClient, VaultError};
use crate::kube_api::vault_login::{self, UsedToken, with_token};
use crate::kubeconfig::Kubeconfigs;
use crate::options::VaultRef;

use super::super::admin_session::AdminSession;
use super::super::broker_cluster::engine_identity;
use super::super::vault_keeper::VaultKeeper;
use super::entries::Entry;
use super::report::Report;

/// The paths a kube-sa-token user's Vault token needs, with what each is
/// for and the capability it needs.
fn needed(v: &VaultRef) -> [(String, &'static str, &'static str); 3] {
    [
        (
            format!("{}/creds/{}", v.mount, v.role),
            "update",
            "mint (POST creds)",
        ),
        (
            format!("{}/config", v.mount),
            "read",
            "check the engine's cluster before a mint",
        ),
        (
            "sys/leases/revoke".into(),
            "update",
            "revoke a lease at logout",
        ),
    ]
}

pub(super) fn check_entry_vaults(kc: &Kubeconfigs, entries: &[Entry], r: &mut Report) {
    let mut roles: Vec<&VaultRef> = entries
        .iter()
        .filter_map(|e| e.opts.spec.vault.as_ref())
        .collect();
    roles.sort_by_key(|v| (&v.address, &v.mount, &v.role));
    roles.dedup();
    let session = AdminSession::new(None, "");
    for v in roles {
        let of_it: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.opts.spec.vault.as_ref() == Some(v))
            .collect();
        let named: Vec<String> = of_it.iter().map(|e| e.named()).collect();
        let paths: Vec<String> = needed(v).iter().map(|(p, ..)| p.clone()).collect();
        // What a mint would use, a kept login included; doctor never prompts.
        let keeper = VaultKeeper::new(v, false);
        let asked = session.block_on(with_token(
            v,
            &keeper,
            async |client: &VaultClient, used: &UsedToken| {
                let me = vault_login::lookup_self(client, &used.token).await?;
                let caps = vault_login::capabilities(client, &used.token, &paths).await?;
                let engine = client.engine_cluster(&used.token, &v.mount).await;
                Ok::<_, VaultError>((used.origin.to_string(), me, caps, engine))
            },
        ));
        let (origin, me, caps, engine) = match asked {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                r.fail(format!("{e} (used by {})", named.join(", ")));
                continue;
            }
            Err(e) => {
                r.fail(e.to_string());
                continue;
            }
        };
        let lasts = match me.ttl {
            0 => "does not expire".to_string(),
            s => format!("expires in {}", crate::clock::human(s as i64)),
        };
        r.ok(format!(
            "Vault at {}: the token from {origin} is {:?} (policies {}; {lasts})",
            v.address,
            me.display_name,
            me.policies.join(", ")
        ));
        if me.ttl > 0 && me.ttl < 600 {
            r.warn(format!(
                "Vault at {}: the token from {origin} expires in {}; log in again (`bao login`) before the next mint",
                v.address,
                crate::clock::human(me.ttl as i64)
            ));
        }
        for ((path, want, what), have) in needed(v).iter().zip(&caps) {
            let may = have.iter().any(|c| c == want || c == "root");
            let line = format!(
                "Vault role {}/{}: {want} on {path} ({what}): {}",
                v.mount,
                v.role,
                if may { "yes" } else { "no" }
            );
            match (may, path.starts_with("sys/")) {
                (true, _) => r.ok(line),
                // logout still forgets the token; it only cannot end the lease.
                (false, true) => r.warn(format!("{line}; logout cannot revoke leases without it")),
                (false, false) => r.fail(format!(
                    "{line}; ask the Vault operator for it (docs/vault.md)"
                )),
            }
        }
        let engine = match engine {
            Ok(e) => e,
            Err(e) => {
                r.fail(e.to_string());
                continue;
            }
        };
        let Ok(minting) = engine_identity(v, &engine.server, &engine.ca_pem) else {
            r.fail(format!(
                "the engine at {}/ on Vault at {} has a CA that does not parse",
                v.mount, v.address
            ));
            continue;
        };
        for e in &of_it {
            for ctx in &e.contexts {
                let Ok(target) = kc.cluster_identity(ctx) else {
                    continue;
                };
                match minting.mismatch(&target) {
                    None => r.ok(format!(
                        "context {ctx:?}: Vault role {}/{} mints for its cluster ({})",
                        v.mount, v.role, target.server
                    )),
                    Some(why) => r.fail(format!(
                        "context {ctx:?}: the engine at {}/ mints for {}, not this context's cluster ({why}); every mint would be refused: point the context at the engine's cluster (rerun setup)",
                        v.mount, minting.server
                    )),
                }
            }
        }
    }
}
