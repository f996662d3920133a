//! `setup` (write an exec user + context into the kubeconfig) and
//! `kubeconfig` (print a self-contained kubeconfig for the SA).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_yaml::{Mapping, Value};

use crate::clock::SystemClock;
use crate::error::Error;
use crate::get::{GetOptions, SourceKind, obtain};
use crate::kubeconfig::{Editable, Kubeconfigs};
use crate::protocol::{ExecInfo, V1};
use crate::source::Admin;
use crate::store::CacheChoice;

use super::runtime;

const BIN: &str = "kube-sa-token";
const INSTALL_HINT: &str = "kube-sa-token is not installed or not on PATH. Install it with ./install.sh from the kube-sa-token repository (cargo install --locked --path .), then retry.";

/// The command for the exec entry: the bare name when PATH finds this very
/// binary, else its absolute path.
fn exec_command() -> String {
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let on_path = super::find_on_path(BIN).and_then(|p| p.canonicalize().ok());
    match (me, on_path) {
        (Some(me), Some(found)) if me == found => BIN.to_string(),
        (Some(me), _) => me.display().to_string(),
        (None, _) => BIN.to_string(),
    }
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The `get` arguments that reproduce `opts` (defaults left out).
pub fn get_args(opts: &GetOptions) -> Vec<String> {
    let spec = &opts.spec;
    let mut a = vec!["get".to_string()];
    if let Some(k) = &spec.kubeconfig {
        let abs = std::path::absolute(k).unwrap_or_else(|_| k.clone());
        a.extend(["--kubeconfig".into(), abs.display().to_string()]);
    }
    a.extend(["--admin-context".into(), spec.admin_context.clone()]);
    a.extend([
        "--service-account".into(),
        format!("{}/{}", spec.namespace, spec.service_account),
    ]);
    if spec.source == SourceKind::Secret {
        a.extend(["--source".into(), "secret".into()]);
    }
    if opts.create_secret {
        a.push("--create-secret".into());
    }
    if spec.bind_secret {
        a.push("--bind-secret".into());
    }
    if opts.duration != Duration::from_secs(3600) {
        a.extend(["--duration".into(), fmt_duration(opts.duration)]);
    }
    for aud in &spec.audiences {
        a.extend(["--audience".into(), aud.clone()]);
    }
    let cache = match opts.cache {
        CacheChoice::Auto => None,
        CacheChoice::Keyring => Some("keyring"),
        CacheChoice::Keyutils => Some("keyutils"),
        CacheChoice::File => Some("file"),
        CacheChoice::None => Some("none"),
    };
    if let Some(c) = cache {
        a.extend(["--cache".into(), c.into()]);
    }
    if opts.revalidate != Duration::from_secs(600) {
        a.extend([
            "--revalidate-interval".into(),
            fmt_duration(opts.revalidate),
        ]);
    }
    a
}

/// The `user:` body with the exec entry.
fn exec_user(opts: &GetOptions) -> Value {
    let mut exec = Mapping::new();
    exec.insert("apiVersion".into(), V1.into());
    exec.insert("command".into(), exec_command().into());
    exec.insert(
        "args".into(),
        Value::Sequence(get_args(opts).into_iter().map(Value::from).collect()),
    );
    exec.insert("interactiveMode".into(), "Never".into());
    exec.insert("provideClusterInfo".into(), true.into());
    exec.insert("installHint".into(), INSTALL_HINT.into());
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    Value::Mapping(user)
}

fn context_body(cluster: &str, user: &str, namespace: &str) -> Value {
    let mut m = Mapping::new();
    m.insert("cluster".into(), cluster.into());
    m.insert("user".into(), user.into());
    m.insert("namespace".into(), namespace.into());
    Value::Mapping(m)
}

fn default_name(opts: &GetOptions, cluster: &str) -> String {
    format!(
        "{}/{}@{}",
        opts.spec.namespace, opts.spec.service_account, cluster
    )
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
    runtime()?.block_on(validate(opts))?;

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
    let path = ed.path.display().to_string();
    if dry_run {
        writeln!(out, "# dry run: {path} would become:")?;
        write!(out, "{}", ed.render())?;
        return Ok(());
    }
    if ed.changed() {
        let backup = ed.save()?;
        match backup {
            Some(b) => eprintln!(
                "wrote user and context {name:?} to {path} (previous file kept as {})",
                b.display()
            ),
            None => eprintln!("wrote user and context {name:?} to {path}"),
        }
    } else {
        eprintln!("{path} already has user and context {name:?}; nothing changed");
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
async fn validate(opts: &GetOptions) -> Result<(), Error> {
    let spec = &opts.spec;
    let admin = Admin::connect(spec.kubeconfig.as_deref(), &spec.admin_context).await?;
    let ns = &spec.namespace;
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
    admin.service_account(ns, &spec.service_account).await?;
    Ok(())
}

fn embed_file(
    cluster: &mut Mapping,
    file_key: &str,
    data_key: &str,
    base: &Path,
) -> Result<(), Error> {
    if let Some(Value::String(p)) = cluster.remove(file_key) {
        let path = if Path::new(&p).is_absolute() {
            PathBuf::from(&p)
        } else {
            base.join(&p)
        };
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::Usage(format!(
                "cannot read {file_key} {}: {e}; fix the admin context's cluster entry",
                path.display()
            ))
        })?;
        cluster.insert(
            data_key.into(),
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into(),
        );
    }
    Ok(())
}

/// `kubeconfig`: a self-contained kubeconfig for the SA on stdout.
pub fn export(
    opts: &GetOptions,
    embed_token: bool,
    context_name: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let spec = &opts.spec;
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    let admin_ctx = kc.context(&spec.admin_context)?;
    let mut cluster = kc
        .cluster(&admin_ctx.cluster)
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let base = crate::kubeconfig::paths(spec.kubeconfig.as_deref())?
        .first()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    embed_file(
        &mut cluster,
        "certificate-authority",
        "certificate-authority-data",
        &base,
    )?;
    let name = context_name
        .map(str::to_string)
        .unwrap_or_else(|| default_name(opts, &admin_ctx.cluster));

    let user = if embed_token {
        let info = ExecInfo {
            api_version: V1,
            interactive: false,
            cluster: None,
        };
        let issued = obtain(opts, &info, &SystemClock)?;
        let claims = crate::freshness::decode(&issued.token)?.1;
        // The CA: the token Secret's ca.crt (classic way), else the admin
        // context's, else the kube-root-ca.crt ConfigMap.
        let ca: Option<Vec<u8>> = runtime()?.block_on(async {
            let admin = Admin::connect(spec.kubeconfig.as_deref(), &spec.admin_context).await?;
            if spec.source == SourceKind::Secret {
                let m = admin
                    .secret_token(
                        &spec.namespace,
                        &spec.service_account,
                        false,
                        Duration::from_secs(1),
                    )
                    .await?;
                if m.ca_crt.is_some() {
                    return Ok::<_, Error>(m.ca_crt);
                }
            }
            if cluster.contains_key("certificate-authority-data")
                || cluster.contains_key("insecure-skip-tls-verify")
            {
                return Ok(None);
            }
            Ok(admin.root_ca_configmap(&spec.namespace).await?)
        })?;
        if let Some(ca) = ca {
            cluster.insert(
                "certificate-authority-data".into(),
                base64::engine::general_purpose::STANDARD.encode(ca).into(),
            );
        }
        match claims.exp {
            None => eprintln!(
                "warning: this kubeconfig embeds a legacy token that never expires; whoever holds the file acts as {}/{} until its Secret is deleted",
                spec.namespace, spec.service_account
            ),
            Some(exp) => eprintln!(
                "note: the embedded token expires at {} (in {}); run this command again for a new one",
                crate::clock::rfc3339(
                    time::OffsetDateTime::from_unix_timestamp(exp).unwrap_or(issued.expires)
                ),
                crate::clock::human(exp - time::OffsetDateTime::now_utc().unix_timestamp())
            ),
        }
        let mut u = Mapping::new();
        u.insert("token".into(), issued.token.expose().into());
        Value::Mapping(u)
    } else {
        exec_user(opts)
    };

    let mut doc = Mapping::new();
    doc.insert("apiVersion".into(), "v1".into());
    doc.insert("kind".into(), "Config".into());
    let item = |body_key: &str, body: Value| {
        let mut m = Mapping::new();
        m.insert("name".into(), name.clone().into());
        m.insert(body_key.into(), body);
        Value::Sequence(vec![Value::Mapping(m)])
    };
    doc.insert("clusters".into(), item("cluster", Value::Mapping(cluster)));
    doc.insert(
        "contexts".into(),
        item("context", context_body(&name, &name, &spec.namespace)),
    );
    doc.insert("current-context".into(), name.clone().into());
    doc.insert("users".into(), item("user", user));
    write!(
        out,
        "{}",
        serde_yaml::to_string(&Value::Mapping(doc)).expect("kubeconfig serializes")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> GetOptions {
        let mut o = crate::get::tests::opts();
        o.spec.audiences = vec!["vault".into()];
        o.duration = Duration::from_secs(7200);
        o.cache = CacheChoice::Keyutils;
        o
    }

    #[test]
    fn get_args_round_trip_through_the_cli() {
        let args = get_args(&opts());
        assert_eq!(
            args,
            [
                "get",
                "--admin-context",
                "admin",
                "--service-account",
                "team/viewer",
                "--duration",
                "2h",
                "--audience",
                "vault",
                "--cache",
                "keyutils"
            ]
        );
        let mut argv = vec!["kube-sa-token".to_string()];
        argv.extend(args);
        match crate::cli::parse(argv.into_iter().map(Into::into))
            .unwrap()
            .unwrap()
            .command
        {
            crate::cli::Command::Get(o) => {
                assert_eq!(o.duration, Duration::from_secs(7200));
                assert_eq!(o.spec.audiences, vec!["vault".to_string()]);
                assert_eq!(o.cache, CacheChoice::Keyutils);
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn exec_entry_is_complete() {
        let u = exec_user(&opts());
        let e = u.get("exec").unwrap();
        assert_eq!(e.get("apiVersion").unwrap().as_str(), Some(V1));
        assert_eq!(e.get("interactiveMode").unwrap().as_str(), Some("Never"));
        assert_eq!(e.get("provideClusterInfo").unwrap().as_bool(), Some(true));
        assert!(e.get("installHint").is_some());
        assert!(!e.get("command").unwrap().as_str().unwrap().is_empty());
    }
}
