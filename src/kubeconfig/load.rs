//! Loading: the files of a kubeconfig path list, parsed as untyped YAML, with
//! relative paths resolved against each file's directory (client-go's
//! `ResolveLocalPaths`), and lookups with kubectl's merge rule: the first file
//! that defines a context, cluster or user wins.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::error::KubeconfigError;
use super::files::paths;
use crate::cluster_identity::{ClusterIdentity, read_ca};
use crate::parse_error;

/// The parsed files of a kubeconfig path list.
pub struct Kubeconfigs {
    files: Vec<(PathBuf, Value)>,
}

/// What a context points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRef {
    pub cluster: String,
    pub user: String,
    pub namespace: Option<String>,
}

/// One context with the cluster and user it names, merged like kubectl, as
/// untyped YAML bodies (`cluster:` and `user:`) with absolute paths.
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    pub name: String,
    pub cluster_name: String,
    pub cluster: Value,
    /// The file the cluster entry comes from.
    pub cluster_file: PathBuf,
    pub user_name: String,
    /// An empty mapping for a context without a user.
    pub user: Value,
    /// The file the user entry comes from, if there is one.
    pub user_file: Option<PathBuf>,
    pub namespace: Option<String>,
}

/// Parses one file's text into a mapping; empty files are empty configs.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Value, KubeconfigError> {
    let bad = |detail: String| KubeconfigError::Parse {
        path: path.display().to_string(),
        detail,
    };
    if text.trim().is_empty() {
        return Ok(Value::Mapping(Mapping::new()));
    }
    let v: Value = serde_yaml::from_str(text).map_err(|e| bad(parse_error::yaml(&e)))?;
    match v {
        Value::Mapping(_) => Ok(v),
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        _ => Err(bad("the top level is not a mapping".into())),
    }
}

pub(super) fn named<'a>(doc: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    doc.get(list)?
        .as_sequence()?
        .iter()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().map(str::to_string)
}

/// Makes the path at `key` of `body` absolute against `base`, if it is a
/// non-empty relative path.
fn resolve_at(body: &mut Value, key: &str, base: &Path) {
    if let Some(Value::String(p)) = body.get_mut(key)
        && !p.is_empty()
        && Path::new(p.as_str()).is_relative()
    {
        *p = base.join(p.as_str()).display().to_string();
    }
}

/// client-go's `ResolveLocalPaths` for one file: certificate-authority,
/// client-certificate, client-key, tokenFile, and an exec command that
/// contains a path separator (a bare name is looked up on PATH).
fn resolve_paths(doc: &mut Value, file: &Path) {
    let dir = file.parent().unwrap_or(Path::new(""));
    let base = crate::fsutil::absolute(dir);
    for (list, body_key, keys) in [
        ("clusters", "cluster", &["certificate-authority"][..]),
        (
            "users",
            "user",
            &["client-certificate", "client-key", "tokenFile"][..],
        ),
    ] {
        let Some(seq) = doc.get_mut(list).and_then(Value::as_sequence_mut) else {
            continue;
        };
        for item in seq {
            let Some(body) = item.get_mut(body_key) else {
                continue;
            };
            for key in keys {
                resolve_at(body, key, &base);
            }
            if let Some(exec) = body.get_mut("exec")
                && exec
                    .get("command")
                    .and_then(Value::as_str)
                    .is_some_and(|c| c.contains(std::path::MAIN_SEPARATOR))
            {
                resolve_at(exec, "command", &base);
            }
        }
    }
}

impl Kubeconfigs {
    /// Reads the files kubectl would read (see [`paths`]). Files listed in
    /// KUBECONFIG that do not exist are skipped, like kubectl does; a missing
    /// `--kubeconfig` is an error.
    pub fn load(explicit: Option<&Path>) -> Result<Kubeconfigs, KubeconfigError> {
        Kubeconfigs::load_list(&paths(explicit)?, explicit.is_some())
    }

    fn load_list(list: &[PathBuf], explicit: bool) -> Result<Kubeconfigs, KubeconfigError> {
        let mut files = Vec::new();
        for p in list {
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    let mut doc = parse(p, &text)?;
                    resolve_paths(&mut doc, p);
                    files.push((p.clone(), doc));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
                Err(source) => {
                    return Err(KubeconfigError::Read {
                        path: p.display().to_string(),
                        source,
                    });
                }
            }
        }
        if files.is_empty() {
            let shown: Vec<String> = list.iter().map(|p| p.display().to_string()).collect();
            return Err(KubeconfigError::Missing(format!(
                "looked at {}",
                shown.join(", ")
            )));
        }
        Ok(Kubeconfigs { files })
    }

    fn files_shown(&self) -> String {
        let v: Vec<String> = self
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        v.join(", ")
    }

    /// First file that defines `name` in `list` wins (kubectl's merge rule).
    fn first(&self, list: &str, name: &str) -> Option<(&Path, &Value)> {
        self.files
            .iter()
            .find_map(|(p, doc)| named(doc, list, name).map(|v| (p.as_path(), v)))
    }

    pub fn context_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (_, doc) in &self.files {
            for item in doc
                .get("contexts")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(n) = item.get("name").and_then(Value::as_str)
                    && !names.iter().any(|x| x == n)
                {
                    names.push(n.to_string());
                }
            }
        }
        names
    }

    pub fn context(&self, name: &str) -> Result<ContextRef, KubeconfigError> {
        let (_, ctx) = self.first("contexts", name).ok_or_else(|| {
            let names = self.context_names();
            KubeconfigError::NoContext {
                name: name.into(),
                files: self.files_shown(),
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
                fix: "pass an existing one with --admin-context (kubectl config get-contexts lists them)"
                    .into(),
            }
        })?;
        Ok(ContextRef {
            cluster: str_at(ctx, &["context", "cluster"]).unwrap_or_default(),
            user: str_at(ctx, &["context", "user"]).unwrap_or_default(),
            namespace: str_at(ctx, &["context", "namespace"]),
        })
    }

    /// The `cluster:` body of a named cluster.
    pub fn cluster(&self, name: &str) -> Option<&Value> {
        self.first("clusters", name)
            .and_then(|(_, c)| c.get("cluster"))
    }

    /// The server URL of a context's cluster.
    pub fn server_of(&self, context: &str) -> Result<String, KubeconfigError> {
        let ctx = self.context(context)?;
        self.cluster(&ctx.cluster)
            .and_then(|c| str_at(c, &["server"]))
            .ok_or_else(|| KubeconfigError::NoCluster {
                context: context.into(),
                cluster: ctx.cluster.clone(),
                files: self.files_shown(),
            })
    }

    /// The identity of a context's cluster (server, CA, TLS name), read
    /// without building a client: the hot path of `get` without cluster info.
    pub fn cluster_identity(&self, context: &str) -> Result<ClusterIdentity, KubeconfigError> {
        let server = self.server_of(context)?;
        let ctx = self.context(context)?;
        let cluster = self.cluster(&ctx.cluster).cloned().unwrap_or_default();
        let field = |k: &str| cluster.get(k).and_then(Value::as_str);
        let bad = |e: crate::cluster_identity::CaError| KubeconfigError::BadCa {
            context: context.into(),
            detail: e.to_string(),
        };
        let ca = self.cluster_ca(context)?;
        let insecure = cluster
            .get("insecure-skip-tls-verify")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        ClusterIdentity::new(&server, ca.as_deref(), field("tls-server-name"), insecure)
            .map_err(bad)
    }

    /// The CA certificates (PEM) a context's cluster names, from
    /// `certificate-authority-data` or the `certificate-authority` file;
    /// `None`: the system's roots (or no verification).
    pub fn cluster_ca(&self, context: &str) -> Result<Option<Vec<u8>>, KubeconfigError> {
        let ctx = self.context(context)?;
        let cluster = self.cluster(&ctx.cluster);
        let field = |k: &str| cluster.and_then(|c| c.get(k)).and_then(Value::as_str);
        read_ca(
            field("certificate-authority-data"),
            field("certificate-authority"),
        )
        .map_err(|e| KubeconfigError::BadCa {
            context: context.into(),
            detail: e.to_string(),
        })
    }

    /// The one file that defines `context`, its cluster and its user (the
    /// entries kubectl's merge picks), if one does: what an exported exec
    /// entry can name with `--kubeconfig`, whatever KUBECONFIG says then.
    pub fn single_file_of(&self, context: &str) -> Result<Option<PathBuf>, KubeconfigError> {
        let r = self.resolve(context)?;
        let Some((file, _)) = self.first("contexts", context) else {
            return Ok(None);
        };
        let one = r.cluster_file == file && r.user_file.as_deref().is_none_or(|u| u == file);
        Ok(one.then(|| file.to_path_buf()))
    }

    /// A context with its cluster and user, for building a client.
    pub fn resolve(&self, context: &str) -> Result<ResolvedContext, KubeconfigError> {
        let ctx = self.context(context)?;
        let (cluster_file, cluster) = self
            .first("clusters", &ctx.cluster)
            .and_then(|(p, c)| Some((p.to_path_buf(), c.get("cluster")?.clone())))
            .ok_or_else(|| KubeconfigError::NoCluster {
                context: context.into(),
                cluster: ctx.cluster.clone(),
                files: self.files_shown(),
            })?;
        let (user_file, user) = if ctx.user.is_empty() {
            (None, Value::Mapping(Mapping::new()))
        } else {
            let (p, u) = self
                .first("users", &ctx.user)
                .ok_or_else(|| KubeconfigError::NoUser {
                    context: context.into(),
                    user: ctx.user.clone(),
                    files: self.files_shown(),
                })?;
            let body = u
                .get("user")
                .cloned()
                .unwrap_or(Value::Mapping(Mapping::new()));
            (Some(p.to_path_buf()), body)
        };
        Ok(ResolvedContext {
            name: context.into(),
            cluster_name: ctx.cluster,
            cluster,
            cluster_file,
            user_name: ctx.user,
            user,
            user_file,
            namespace: ctx.namespace,
        })
    }

    /// The current context, as kubectl picks it: the first file of the list
    /// that sets a non-empty `current-context`.
    pub fn current_context(&self) -> Option<String> {
        self.files.iter().find_map(|(_, doc)| {
            doc.get("current-context")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(String::from)
        })
    }

    /// Exec entries of every user, for `doctor`: (user name, exec body).
    pub fn exec_users(&self) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for (_, doc) in &self.files {
            for item in doc
                .get("users")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let (Some(n), Some(exec)) = (
                    item.get("name").and_then(Value::as_str),
                    item.get("user").and_then(|u| u.get("exec")),
                ) else {
                    continue;
                };
                if !out.iter().any(|(x, _)| x == n) {
                    out.push((n.to_string(), exec.clone()));
                }
            }
        }
        out
    }

    /// Contexts that use `user`, for `doctor`.
    pub fn contexts_of_user(&self, user: &str) -> Vec<String> {
        self.context_names()
            .into_iter()
            .filter(|c| self.context(c).map(|r| r.user == user).unwrap_or(false))
            .collect()
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
