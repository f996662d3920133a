//! `kubeconfig`: print a self-contained kubeconfig for the ServiceAccount
//! (or X.509 user), with an exec entry, or with the token (or certificate
//! and key) and the cluster CA embedded.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_yaml::{Mapping, Value};

use crate::clock::SystemClock;
use crate::credential::Credential;
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{Format, GetOptions, SourceKind};
use crate::protocol::{ExecInfo, V1};

use super::admin_session::AdminSession;
use super::broker_cluster;
use super::get::obtain;
use super::setup::{context_body, default_name, exec_user};

/// Replaces the cluster's `certificate-authority` file (an absolute path:
/// [`Kubeconfigs`] resolved it against its kubeconfig file) by its content.
fn embed_ca_file(cluster: &mut Mapping) -> Result<(), Error> {
    if let Some(Value::String(path)) = cluster.remove("certificate-authority") {
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::Usage(format!(
                "cannot read certificate-authority {path}: {e}; fix the admin context's cluster entry"
            ))
        })?;
        cluster.insert(
            "certificate-authority-data".into(),
            base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into(),
        );
    }
    Ok(())
}

/// `kubeconfig`: a self-contained kubeconfig for the SA on stdout, or in
/// `output`'s file (0600), in its format (YAML or JSON).
pub fn export(
    opts: &GetOptions,
    embed_token: bool,
    context_name: Option<&str>,
    output: (Option<&Path>, Format),
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (output, format) = output;
    let (_, text, _) = document(opts, embed_token, context_name, format)?;
    match output {
        None => out.write_all(&text)?,
        Some(path) => {
            crate::fsutil::write_atomic(path, &text, 0o600).map_err(|e| {
                Error::CheckFailed(format!(
                    "cannot write --output-file {}: {e}; pick a path in a directory you can write (nothing was written)",
                    path.display()
                ))
            })?;
            eprintln!("wrote {} (mode 0600)", path.display());
        }
    }
    Ok(())
}

/// The self-contained kubeconfig of `export` (and of `exec`), in `format`,
/// the name of its context (and cluster and user), and the options its
/// exec entry runs `get` with.
pub(super) fn document(
    opts: &GetOptions,
    embed_token: bool,
    context_name: Option<&str>,
    format: Format,
) -> Result<(String, Vec<u8>, GetOptions), Error> {
    let spec = &opts.spec;
    // A broker's or a Vault role's identity: the cluster its status (the
    // engine's config) names, no admin context.
    let broker = broker_cluster::remote(spec).transpose()?;
    let (mut cluster, cluster_name, own) = match &broker {
        Some(b) => (
            b.entry.as_mapping().cloned().unwrap_or_default(),
            b.name.clone(),
            opts.clone(),
        ),
        None => admin_side(opts, embed_token)?,
    };
    let opts = &own;
    let name = context_name
        .map(str::to_string)
        .unwrap_or_else(|| default_name(opts, &cluster_name));

    let user = if embed_token {
        let info = ExecInfo {
            api_version: V1,
            interactive: false,
            cluster: broker.as_ref().map(|b| b.info.clone()),
        };
        let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
        let issued = obtain(opts, &info, &SystemClock, &session)?;
        // The CA: the token Secret's ca.crt (classic way), else the admin
        // context's, else the kube-root-ca.crt ConfigMap; a broker's is in
        // its cluster entry already.
        let ca: Option<Vec<u8>> = if broker.is_some() {
            None
        } else {
            let admin = session.admin(None)?;
            session.block_on(async {
                if let (SourceKind::Secret, Some(sa)) = (spec.source, spec.service_account()) {
                    let m = admin
                        .secret_token(&spec.namespace, sa, false, Duration::from_secs(1))
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
            })??
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        if let Some(ca) = ca {
            cluster.insert("certificate-authority-data".into(), b64.encode(ca).into());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut u = Mapping::new();
        match &issued.credential {
            Credential::Certificate(c) => {
                // The certificate's own NotAfter: the file works until then,
                // past the cache's serve window (`issued.expires`).
                let not_after = crate::x509::parse(&c.certificate)?.not_after;
                eprintln!(
                    "note: the embedded certificate of {} expires at {} (in {}); it cannot be revoked before then: keep the file private, run this command again for a new one",
                    spec.label(),
                    crate::clock::rfc3339(
                        time::OffsetDateTime::from_unix_timestamp(not_after)
                            .unwrap_or(issued.expires)
                    ),
                    crate::clock::human(not_after - now)
                );
                u.insert(
                    "client-certificate-data".into(),
                    b64.encode(&c.certificate).into(),
                );
                u.insert("client-key-data".into(), b64.encode(c.key.expose()).into());
            }
            Credential::Token(token) => {
                match crate::jwt::decode(token)?.1.exp {
                    None => eprintln!(
                        "warning: this kubeconfig embeds a legacy token that never expires; whoever holds the file acts as {} until its Secret is deleted",
                        spec.label()
                    ),
                    Some(exp) => eprintln!(
                        "note: the embedded token expires at {} (in {}); run this command again for a new one",
                        crate::clock::rfc3339(
                            time::OffsetDateTime::from_unix_timestamp(exp)
                                .unwrap_or(issued.expires)
                        ),
                        crate::clock::human(exp - now)
                    ),
                }
                u.insert("token".into(), token.expose().into());
            }
        }
        Value::Mapping(u)
    } else {
        let chosen = super::exec_command::for_this_binary()?;
        if let Some(w) = &chosen.warning {
            tracing::warn!("{w}");
        }
        exec_user(opts, &chosen.command)
    };
    let mut text = Vec::new();
    write_config(cluster, &name, &spec.namespace, user, &mut text)?;
    if format == Format::Json {
        let doc: serde_json::Value = serde_yaml::from_slice(&text).expect("written above");
        text.clear();
        format.write_document(&doc, &mut text)?;
    }
    Ok((name, text, own))
}

/// Writes the self-contained kubeconfig: one cluster, context and user, all
/// named `name`.
fn write_config(
    cluster: Mapping,
    name: &str,
    namespace: &str,
    user: Value,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut doc = Mapping::new();
    doc.insert("apiVersion".into(), "v1".into());
    doc.insert("kind".into(), "Config".into());
    let item = |body_key: &str, body: Value| {
        let mut m = Mapping::new();
        m.insert("name".into(), name.into());
        m.insert(body_key.into(), body);
        Value::Sequence(vec![Value::Mapping(m)])
    };
    doc.insert("clusters".into(), item("cluster", Value::Mapping(cluster)));
    doc.insert(
        "contexts".into(),
        item("context", context_body(name, name, namespace)),
    );
    doc.insert("current-context".into(), name.into());
    doc.insert("users".into(), item("user", user));
    write!(out, "{}", crate::kubeconfig::to_yaml(&Value::Mapping(doc))?)?;
    Ok(())
}

/// Without a broker: the admin context's cluster entry (its CA file
/// embedded), its name, and the options the exported exec entry runs with
/// (naming the admin kubeconfig, so that it works anywhere).
fn admin_side(
    opts: &GetOptions,
    embed_token: bool,
) -> Result<(Mapping, String, GetOptions), Error> {
    let spec = &opts.spec;
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    // The exec entry must find the admin context wherever the file is used
    // (`KUBECONFIG=FILE kubectl`, k9s, CI): it names the admin kubeconfig.
    let mut own = opts.clone();
    if !embed_token && spec.kubeconfig.is_none() {
        match kc.single_file_of(&spec.admin_context)? {
            Some(file) => own.spec.kubeconfig = Some(file),
            None => {
                return Err(Error::Usage(format!(
                    "the admin context {:?} and its cluster and user are in different kubeconfig files, and the exported exec entry can name only one: pass --kubeconfig FILE with a file that holds them all (`kubectl config view --flatten --minify --context {} > FILE`)",
                    spec.admin_context, spec.admin_context
                )));
            }
        }
    }
    let admin_ctx = kc.context(&spec.admin_context)?;
    let mut cluster = kc
        .cluster(&admin_ctx.cluster)
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    embed_ca_file(&mut cluster)?;
    Ok((cluster, admin_ctx.cluster, own))
}
