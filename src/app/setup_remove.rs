//! `setup --remove`: undo a setup. The user and context it wrote for the
//! identity (by the name `setup` gives them, or `--context-name`) go from
//! whichever file of the list holds them, a broker's cluster entry too when
//! no other context uses it, and kubectl's current context is unset if it
//! was that one. Only what setup writes is removed: a user of that name
//! that does not run `get`, or a context that names another user, is left
//! as it is and said. The cached credential stays (`logout` forgets it).

use std::io::Write;

use serde_yaml::Value;

use crate::error::Error;
use crate::kubeconfig::{Editable, Kubeconfigs};
use crate::options::{GetOptions, Principal};
use crate::wording::shell_word;

use super::broker_cluster;
use super::identity::args_of;
use super::setup::default_name;

/// `setup --remove [--dry-run]`.
pub fn remove(
    opts: &GetOptions,
    context_name: Option<&str>,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let spec = &opts.spec;
    let name = match context_name {
        Some(n) => n.to_string(),
        None => {
            let cluster = match broker_cluster::remote(spec) {
                Some(remote) => remote?.name,
                None => {
                    Kubeconfigs::load(spec.kubeconfig.as_deref())?
                        .context(&spec.admin_context)?
                        .cluster
                }
            };
            default_name(opts, &cluster)
        }
    };
    let mut ed = Editable::open(spec.kubeconfig.as_deref())?;
    let mut gone: Vec<String> = Vec::new();
    match ed.item("users", &name).map(written_by_setup) {
        Some(true) => {
            ed.remove("users", &name);
            gone.push(format!("user {name:?}"));
        }
        Some(false) => eprintln!(
            "note: user {name:?} is not an exec entry setup wrote (it does not run `get`); left as it is"
        ),
        None => {}
    }
    let cluster = context_field(&ed, &name, "cluster");
    match context_field(&ed, &name, "user") {
        Some(user) if user == name => {
            ed.remove("contexts", &name);
            gone.push(format!("context {name:?}"));
        }
        Some(user) => eprintln!(
            "note: context {name:?} names user {user:?}, not the one setup wrote; left as it is"
        ),
        None => {}
    }
    // A broker's cluster entry, written by setup --broker, once unused.
    if let Some(c) = cluster.filter(|c| c.starts_with("broker:"))
        && ed.contexts_with("cluster", &c).is_empty()
        && !ed.remove("clusters", &c).is_empty()
    {
        gone.push(format!("cluster {c:?}"));
    }
    if gone.is_empty() {
        writeln!(
            out,
            "no user or context {name:?} that setup wrote: nothing to remove"
        )?;
        return Ok(());
    }
    let current = ed.forget_current(&name);
    let what = gone.join(", ");
    if dry_run {
        writeln!(out, "# dry run: nothing was written")?;
        writeln!(out, "# would remove {what}")?;
        if current {
            writeln!(out, "# current-context would be unset (it was {name:?})")?;
        }
        return Ok(());
    }
    for (path, backup) in ed.save()? {
        match backup {
            Some(b) => writeln!(
                out,
                "removed {what} from {} (previous file kept as {})",
                path.display(),
                b.display()
            )?,
            None => writeln!(out, "removed {what} from {}", path.display())?,
        }
    }
    if current {
        writeln!(
            out,
            "kubectl has no current context now (it was {name:?}): `kubectl config use-context NAME` picks one"
        )?;
    }
    writeln!(
        out,
        "the cached credential stays until it expires; to forget it now: {}",
        logout_command(opts)
    )?;
    Ok(())
}

/// Whether a kubeconfig user is an exec entry as setup writes one: it runs
/// `get` for a ServiceAccount or a user.
fn written_by_setup(user: &Value) -> bool {
    let args = user
        .get("user")
        .and_then(|u| u.get("exec"))
        .map(args_of)
        .unwrap_or_default();
    args.first().is_some_and(|a| a == "get")
        && args
            .iter()
            .any(|a| a == "--service-account" || a == "--user")
}

/// `context.<field>` of the context `name`.
fn context_field(ed: &Editable, name: &str, field: &str) -> Option<String> {
    ed.item("contexts", name)?
        .get("context")?
        .get(field)?
        .as_str()
        .map(str::to_string)
}

/// The `logout` that forgets this identity's cached credentials.
fn logout_command(opts: &GetOptions) -> String {
    let spec = &opts.spec;
    let mut words = vec!["kube-sa-token".to_string(), "logout".into()];
    match (&spec.broker, &spec.vault) {
        (Some(b), _) => {
            words.push("--broker".into());
            words.push(b.socket.display().to_string());
            if let Some(owner) = &b.owner {
                words.extend(["--broker-owner".into(), owner.clone()]);
            }
        }
        (None, Some(v)) => {
            words.extend(["--source".into(), "vault".into()]);
            words.extend(["--vault-addr".into(), v.address.clone()]);
            if v.mount != crate::options::DEFAULT_VAULT_MOUNT {
                words.extend(["--vault-mount".into(), v.mount.clone()]);
            }
            words.extend(["--vault-role".into(), v.role.clone()]);
        }
        (None, None) => {
            if let Some(k) = &spec.kubeconfig {
                words.extend(["--kubeconfig".into(), k.display().to_string()]);
            }
            words.extend(["--admin-context".into(), spec.admin_context.clone()]);
        }
    }
    match &spec.principal {
        Principal::ServiceAccount(sa) => words.push(format!("{}/{sa}", spec.namespace)),
        Principal::User { name, .. } => words.extend(["--user".into(), name.clone()]),
    }
    words
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}
