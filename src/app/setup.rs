//! `setup`: validate the admin context and the ServiceAccount (or its right
//! to have user certificates signed), then write an exec user and a context
//! into the kubeconfig kubectl reads.

use std::io::Write;

use serde_yaml::{Mapping, Value};

use crate::error::Error;
use crate::get_flags::exec_args;
use crate::kube_api::Admin;
use crate::kubeconfig::{Editable, Kubeconfigs};
use crate::options::{GetOptions, Principal, SourceKind};
use crate::protocol::V1;

use super::admin_session::AdminSession;

const BIN: &str = "kube-sa-token";
const INSTALL_HINT: &str = "kube-sa-token is not installed or not on PATH. Install it with ./install.sh from the kube-sa-token repository (cargo install --locked --path .), then retry.";

/// The command for the exec entry: the bare name when PATH finds this very
/// binary, else its absolute path.
fn exec_command() -> String {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let on_path = find_on_path(BIN).and_then(|p| p.canonicalize().ok());
    match (me, on_path) {
        (Some(me), Some(found)) if me == found => BIN.to_string(),
        (Some(me), _) => me.display().to_string(),
        (None, _) => BIN.to_string(),
    }
}

/// The `user:` body with the exec entry.
pub(super) fn exec_user(opts: &GetOptions) -> Value {
    let mut exec = Mapping::new();
    exec.insert("apiVersion".into(), V1.into());
    exec.insert("command".into(), exec_command().into());
    exec.insert(
        "args".into(),
        Value::Sequence(exec_args(opts).into_iter().map(Value::from).collect()),
    );
    exec.insert("interactiveMode".into(), "Never".into());
    exec.insert("provideClusterInfo".into(), true.into());
    exec.insert("installHint".into(), INSTALL_HINT.into());
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    Value::Mapping(user)
}

pub(super) fn context_body(cluster: &str, user: &str, namespace: &str) -> Value {
    let mut m = Mapping::new();
    m.insert("cluster".into(), cluster.into());
    m.insert("user".into(), user.into());
    m.insert("namespace".into(), namespace.into());
    Value::Mapping(m)
}

/// `NS/SA@cluster`, or `user:NAME@cluster` for an X.509 user.
pub(super) fn default_name(opts: &GetOptions, cluster: &str) -> String {
    match &opts.spec.principal {
        Principal::ServiceAccount(sa) => format!("{}/{sa}@{cluster}", opts.spec.namespace),
        Principal::User { name, .. } => format!("user:{name}@{cluster}"),
    }
}

/// What the admin context needs for X.509 users: create, get and delete
/// CSRs, and unless someone else approves, update their approval and
/// `approve` on the signer (verb, resource, subresource, resource name).
/// docs/users.md has the ClusterRole.
pub(super) fn user_rights(
    approve: bool,
) -> Vec<(
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
)> {
    let mut v = vec![
        ("create", "certificatesigningrequests", None, None),
        // Waiting for the certificate, and removing the request after it.
        ("get", "certificatesigningrequests", None, None),
        ("delete", "certificatesigningrequests", None, None),
    ];
    if approve {
        v.push((
            "update",
            "certificatesigningrequests",
            Some("approval"),
            None,
        ));
        v.push(("approve", "signers", None, Some(crate::kube_api::SIGNER)));
    }
    v
}

/// `setup`: validate, then write the user and context.
pub fn setup(
    opts: &GetOptions,
    context_name: Option<&str>,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let spec = &opts.spec;
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    let admin_ctx = kc.context(&spec.admin_context)?;
    let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
    let admin = session.admin(None)?;
    session.block_on(validate(admin, opts))??;

    let name = context_name
        .map(str::to_string)
        .unwrap_or_else(|| default_name(opts, &admin_ctx.cluster));
    let mut ed = Editable::open(spec.kubeconfig.as_deref())?;
    ed.upsert("users", "user", &name, exec_user(opts));
    ed.upsert(
        "contexts",
        "context",
        &name,
        context_body(&admin_ctx.cluster, &name, &spec.namespace),
    );
    if dry_run {
        let changes = ed.render()?;
        if changes.is_empty() {
            writeln!(out, "# dry run: nothing would change")?;
        }
        for (path, content) in changes {
            writeln!(out, "# dry run: {} would become:", path.display())?;
            write!(out, "{content}")?;
        }
        return Ok(());
    }
    let saved = ed.save()?;
    if saved.is_empty() {
        eprintln!("the kubeconfig already has user and context {name:?}; nothing changed");
    }
    for (path, backup) in saved {
        match backup {
            Some(b) => eprintln!(
                "wrote user and context {name:?} to {} (previous file kept as {})",
                path.display(),
                b.display()
            ),
            None => eprintln!("wrote user and context {name:?} to {}", path.display()),
        }
    }
    writeln!(out, "kubectl --context {} auth whoami", shell_word(&name))?;
    Ok(())
}

fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./@:".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The checks `setup` makes before writing anything.
async fn validate(admin: &Admin, opts: &GetOptions) -> Result<(), Error> {
    let spec = &opts.spec;
    let ns = &spec.namespace;
    let sa = match &spec.principal {
        Principal::ServiceAccount(sa) => sa,
        Principal::User { .. } => {
            for (verb, resource, sub, name) in user_rights(opts.approve) {
                if !admin.can_certificates(verb, resource, sub, name).await? {
                    let what = match (sub, name) {
                        (Some(s), _) => format!("{resource}/{s}"),
                        (None, Some(n)) => format!("{resource} {n:?}"),
                        (None, None) => resource.to_string(),
                    };
                    return Err(Error::Refused(format!(
                        "admin context {:?} may not {verb} {what} (certificates.k8s.io; SelfSubjectAccessReview said no); grant it with a ClusterRole and ClusterRoleBinding (see docs/users.md), use --no-approve to have someone else approve, or use another --admin-context",
                        spec.admin_context
                    )));
                }
            }
            return Ok(());
        }
    };
    let mut needed: Vec<(&str, &str, Option<&str>)> = vec![("get", "serviceaccounts", None)];
    match spec.source {
        SourceKind::TokenRequest => needed.push(("create", "serviceaccounts", Some("token"))),
        SourceKind::Secret => {
            needed.push(("list", "secrets", None));
            needed.push(("get", "secrets", None));
            if opts.create_secret {
                needed.push(("create", "secrets", None));
            }
        }
    }
    if spec.bind_secret {
        needed.push(("create", "secrets", None));
    }
    for (verb, resource, sub) in needed {
        if !admin.can(verb, resource, sub, ns).await? {
            let res = match sub {
                Some(s) => format!("{resource}/{s}"),
                None => resource.to_string(),
            };
            return Err(Error::Refused(format!(
                "admin context {:?} may not {verb} {res} in namespace {ns:?} (SelfSubjectAccessReview said no); grant it, e.g. `kubectl create role sa-token-minter -n {ns} --verb={verb} --resource={res}` plus a rolebinding, or use another --admin-context",
                spec.admin_context
            )));
        }
    }
    admin.service_account(ns, sa).await?;
    Ok(())
}

/// The first `name` on PATH, as client-go finds an exec command.
pub(super) fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_entry_is_complete() {
        let u = exec_user(&crate::testing::opts());
        let e = u.get("exec").unwrap();
        assert_eq!(e.get("apiVersion").unwrap().as_str(), Some(V1));
        assert_eq!(e.get("interactiveMode").unwrap().as_str(), Some("Never"));
        assert_eq!(e.get("provideClusterInfo").unwrap().as_bool(), Some(true));
        assert!(e.get("installHint").is_some());
        assert!(!e.get("command").unwrap().as_str().unwrap().is_empty());
    }
}
