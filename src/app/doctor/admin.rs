//! `doctor`'s checks of an admin context: reachable, its clock, its rights.

use std::path::Path;

use crate::error::Error;
use crate::options::Principal;

use super::super::admin_session::AdminSession;
use super::super::rights::{self, Scope};
use super::entries::Entry;
use super::report::Report;

pub(super) fn check_admin(
    kubeconfig: Option<&std::path::Path>,
    ctx: &str,
    ns: &str,
    r: &mut Report,
) -> Result<(), Error> {
    let session = AdminSession::new(kubeconfig, ctx);
    let admin = match session.admin(None) {
        Ok(a) => a,
        Err(e) => {
            r.fail(e.to_string());
            return Ok(());
        }
    };
    session.block_on(async {
        match admin.clock_offset().await {
            Ok(off) if off.abs() <= 30 => r.ok(format!("admin context {ctx:?} reaches {} (clock offset {off}s)", admin.server())),
            Ok(off) => r.fail(format!(
                "clock offset to {} is {off}s: tokens may look expired or not yet valid; sync this machine's clock (NTP)",
                admin.server()
            )),
            Err(e) => {
                r.fail(e.to_string());
                return;
            }
        }
        // Rights for the defaults fail the check; the others (legacy
        // Secrets, X.509 users: not every admin context is meant for them)
        // warn.
        for right in rights::ALL {
            let (verb, what, by) = (right.verb, right.what(), right.needed_by);
            let place = match right.scope {
                Scope::Namespace => format!("in {ns:?}"),
                Scope::Certificates => "(certificates.k8s.io)".into(),
            };
            match right.held(admin, ns).await {
                Ok(true) => r.ok(format!("admin context {ctx:?} may {verb} {what} {place} (needed by {by})")),
                Ok(false) if right.default => r.fail(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by}); grant it with a Role and RoleBinding")),
                Ok(false) if right.scope == Scope::Certificates => r.warn(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by}); grant it with a ClusterRole (see docs/users.md)")),
                Ok(false) => r.warn(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by})")),
                Err(e) => r.fail(e.to_string()),
            }
        }
    })?;
    Ok(())
}

/// Each exec entry's admin context (through the kubeconfig the entry names)
/// reaches the server and holds the rights that entry's options need, in
/// its namespace: otherwise its next mint fails in kubectl.
pub(super) fn check_entry_admins(entries: &[Entry], r: &mut Report) -> Result<(), Error> {
    let mut admins: Vec<(Option<&Path>, &str)> = entries
        .iter()
        // A broker's entries and a Vault role's: their own checks
        // (`broker.rs`, `vault.rs`).
        .filter(|e| e.opts.spec.broker.is_none() && e.opts.spec.vault.is_none())
        .map(|e| {
            (
                e.opts.spec.kubeconfig.as_deref(),
                e.opts.spec.admin_context.as_str(),
            )
        })
        .collect();
    admins.sort();
    admins.dedup();
    for (kubeconfig, ctx) in admins {
        let of_it: Vec<&Entry> = entries
            .iter()
            .filter(|e| {
                e.opts.spec.kubeconfig.as_deref() == kubeconfig && e.opts.spec.admin_context == ctx
            })
            .collect();
        let session = AdminSession::new(kubeconfig, ctx);
        let admin = match session.admin(None) {
            Ok(a) => a,
            Err(e) => {
                r.fail(format!("admin context {ctx:?} of {}: {e}", names(&of_it)));
                continue;
            }
        };
        session.block_on(async {
            for entry in of_it {
                let ns = &entry.opts.spec.namespace;
                let mut missing = Vec::new();
                for right in rights::needed(&entry.opts) {
                    match right.held(admin, ns).await {
                        Ok(true) => {}
                        Ok(false) => missing.push(right.phrase(ns)),
                        Err(e) => {
                            r.fail(format!("admin context {ctx:?} of {}: {e}", entry.named()));
                            return;
                        }
                    }
                }
                if !missing.is_empty() {
                    r.fail(format!(
                        "admin context {ctx:?} may not {}, so kubectl with {} gets no new credential; `kube-sa-token setup` with the entry's options and --print-rbac prints what grants it",
                        missing.join(", "),
                        entry.named()
                    ));
                    continue;
                }
                // The ServiceAccount itself (issue 33: a deleted one passed,
                // and kubectl then failed with "not found"). Not knowing
                // (the admin may not read ServiceAccounts) is no finding.
                if let Principal::ServiceAccount(sa) = &entry.opts.spec.principal
                    && let Ok(None) = admin.service_account_uid(ns, sa).await
                {
                    r.fail(format!(
                        "ServiceAccount {ns}/{sa} does not exist on {}, so kubectl with {} gets no credential; create it (`kubectl create serviceaccount -n {ns} {sa}`), or remove the entry (`kube-sa-token logout --context CONTEXT`, then `kubectl config delete-user`)",
                        admin.server(),
                        entry.named()
                    ));
                    continue;
                }
                r.ok(format!(
                    "admin context {ctx:?} may mint for {}",
                    entry.named()
                ));
            }
        })?;
    }
    Ok(())
}

fn names(entries: &[&Entry]) -> String {
    entries
        .iter()
        .map(|e| e.named())
        .collect::<Vec<_>>()
        .join(", ")
}
