//! `doctor`'s checks of the kubeconfig's exec entries that run us.

use serde_yaml::Value;

use crate::kubeconfig::Kubeconfigs;
use crate::options::{GetOptions, ParseGet};
use crate::protocol::{V1, V1BETA1};

use super::super::exec_command;
use super::super::identity::{args_of, runs_us};
use super::report::Report;

/// A well-formed exec entry: its kubeconfig user, the contexts that use
/// it, and the options its `get` runs with.
pub(super) struct Entry {
    pub(super) user: String,
    pub(super) contexts: Vec<String>,
    pub(super) opts: GetOptions,
}

impl Entry {
    /// `user "NAME" (contexts: A, B)`, for findings about it.
    pub(super) fn named(&self) -> String {
        format!(
            "user {:?} (contexts: {})",
            self.user,
            if self.contexts.is_empty() {
                "none".into()
            } else {
                self.contexts.join(", ")
            }
        )
    }
}

/// Checks each exec entry that runs us; the well-formed ones come back for
/// the checks of their admin contexts and stores.
pub(super) fn check_exec_entries(
    kc: &Kubeconfigs,
    parse_get: ParseGet,
    r: &mut Report,
) -> Vec<Entry> {
    let mut good = Vec::new();
    // kubectl's credential plugin policy, which every entry answers to.
    let kuberc = match crate::kuberc::load() {
        Ok(Some(k)) => {
            r.ok(format!(
                "kubectl's credential plugin policy in {}: {}",
                k.path.display(),
                match &k.policy {
                    crate::kuberc::Policy::AllowAll => "AllowAll".to_string(),
                    crate::kuberc::Policy::DenyAll => "DenyAll".to_string(),
                    crate::kuberc::Policy::Allowlist(v) => format!("Allowlist ({})", v.join(", ")),
                }
            ));
            Some(k)
        }
        Ok(None) => None,
        Err(e) => {
            r.fail(e.to_string());
            None
        }
    };
    let kuberc = kuberc.as_ref();
    let ours: Vec<(String, Value)> = kc
        .exec_users()
        .into_iter()
        .filter(|(_, e)| runs_us(e))
        .collect();
    if ours.is_empty() {
        r.warn("no kubeconfig user runs kube-sa-token yet; create one with `kube-sa-token setup --admin-context ADMIN -n NS SA`");
        return good;
    }
    for (user, exec) in ours {
        let contexts = kc.contexts_of_user(&user);
        let mut problems: Vec<String> = Vec::new();
        let mut parsed = None;
        let api = exec.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if api != V1 && api != V1BETA1 {
            problems.push(format!("apiVersion {api:?} is not {V1} or {V1BETA1}"));
        }
        if api == V1 && exec.get("interactiveMode").is_none() {
            problems.push(
                "interactiveMode is missing (kubectl refuses v1 entries without it; use Never)"
                    .into(),
            );
        }
        let cmd = exec.get("command").and_then(Value::as_str).unwrap_or("");
        if let Some(why) = exec_command::problem(cmd) {
            problems.push(why);
        } else if let Some(Err(why)) =
            kuberc.map(|k| k.check(cmd).map_err(|why| (why, k.fix_for(cmd))))
        {
            problems.push(format!("kubectl will not run it: {}; {}", why.0, why.1));
        }
        // The args as `get` will read them: the real parser, every form
        // clap accepts (`--admin-context=NAME` too), every check.
        match parse_get(&args_of(&exec)) {
            Err(why) => problems.push(format!("its args do not parse as `get`: {why}")),
            Ok(opts) => {
                let admin = &opts.spec.admin_context;
                if opts.spec.broker.is_some() || opts.spec.vault.is_some() {
                    // No admin context here: the broker (Vault) is checked
                    // instead.
                } else if let Err(e) = kc.context(admin) {
                    problems.push(format!(
                        "admin context {admin:?} not found ({})",
                        e.to_string().split(';').next().unwrap_or_default()
                    ));
                } else if contexts.iter().any(|c| c == admin) {
                    problems.push(format!("its admin context {admin:?} uses this same user: that loops; point --admin-context at a context with its own credentials"));
                }
                parsed = Some(opts);
            }
        }
        let remote = parsed
            .as_ref()
            .is_some_and(|o: &GetOptions| o.spec.broker.is_some() || o.spec.vault.is_some());
        if remote && exec.get("provideClusterInfo").and_then(Value::as_bool) != Some(true) {
            problems.push("provideClusterInfo is not true, and --broker and --source vault need it (they mint for the cluster kubectl names)".into());
        } else if exec.get("provideClusterInfo").and_then(Value::as_bool) != Some(true) {
            r.warn(format!("user {user:?}: provideClusterInfo is not true, so the cluster-binding check cannot see which server kubectl talks to; rerun setup"));
        }
        if let (true, Some(opts)) = (problems.is_empty(), parsed) {
            let entry = Entry {
                user,
                contexts,
                opts,
            };
            r.ok(format!("{} has a well-formed exec entry", entry.named()));
            good.push(entry);
        } else {
            r.fail(format!(
                "user {user:?}: {}; rerun `kube-sa-token setup` to rewrite it",
                problems.join("; ")
            ));
        }
    }
    good
}
