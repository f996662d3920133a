//! Kubeconfig files: finding them (like kubectl: --kubeconfig, else every
//! path in KUBECONFIG merged first-wins, else ~/.kube/config), looking up a
//! context's server without building a client (the hot path of `get`), and
//! editing one file in place for `setup`: unknown fields and every other entry
//! kept, atomic write, a backup of the previous file.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

mod edit;
pub use edit::Editable;

/// Errors finding, reading or writing kubeconfig files.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// No kubeconfig file could be found.
    #[error("no kubeconfig found ({0}); pass --kubeconfig PATH or set KUBECONFIG")]
    Missing(String),
    /// A file could not be read.
    #[error(
        "cannot read kubeconfig {path}: {source}; check the path given with --kubeconfig or KUBECONFIG"
    )]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML or not a kubeconfig.
    #[error(
        "kubeconfig {path} is not valid YAML: {detail}; fix the file (kubectl config view shows what kubectl makes of it)"
    )]
    Parse { path: String, detail: String },
    /// The named context is in none of the files.
    #[error(
        "context {name:?} not found in {files}; available contexts: {available}; pass an existing one with --admin-context (kubectl config get-contexts lists them)"
    )]
    NoContext {
        name: String,
        files: String,
        available: String,
    },
    /// The context names a cluster that is in none of the files.
    #[error(
        "context {context:?} refers to cluster {cluster:?}, which is not in {files}; fix the context (kubectl config set-context)"
    )]
    NoCluster {
        context: String,
        cluster: String,
        files: String,
    },
    /// The edited file could not be written.
    #[error(
        "cannot write kubeconfig {path}: {source}; check its permissions (nothing was changed)"
    )]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The kubeconfig file list, in kubectl's order.
pub fn paths(explicit: Option<&Path>) -> Result<Vec<PathBuf>, KubeconfigError> {
    if let Some(p) = explicit {
        return Ok(vec![p.to_path_buf()]);
    }
    if let Some(v) = std::env::var_os("KUBECONFIG") {
        let list: Vec<PathBuf> = std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !list.is_empty() {
            return Ok(list);
        }
    }
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .ok_or_else(|| KubeconfigError::Missing("HOME is not set".into()))?;
    Ok(vec![home.join(".kube").join("config")])
}

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

pub(crate) fn parse(path: &Path, text: &str) -> Result<Value, KubeconfigError> {
    if text.trim().is_empty() {
        return Ok(Value::Mapping(Mapping::new()));
    }
    let v: Value = serde_yaml::from_str(text).map_err(|e| KubeconfigError::Parse {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    match v {
        Value::Mapping(_) => Ok(v),
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        _ => Err(KubeconfigError::Parse {
            path: path.display().to_string(),
            detail: "the top level is not a mapping".into(),
        }),
    }
}

fn named<'a>(doc: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
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

impl Kubeconfigs {
    /// Reads the files; with KUBECONFIG, missing files are skipped like kubectl does.
    pub fn load(explicit: Option<&Path>) -> Result<Kubeconfigs, KubeconfigError> {
        let list = paths(explicit)?;
        let mut files = Vec::new();
        for p in &list {
            match std::fs::read_to_string(p) {
                Ok(text) => files.push((p.clone(), parse(p, &text)?)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {}
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
    fn first(&self, list: &str, name: &str) -> Option<&Value> {
        self.files
            .iter()
            .find_map(|(_, doc)| named(doc, list, name))
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
        let ctx = self.first("contexts", name).ok_or_else(|| {
            let names = self.context_names();
            KubeconfigError::NoContext {
                name: name.into(),
                files: self.files_shown(),
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
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
        self.first("clusters", name).and_then(|c| c.get("cluster"))
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

/// Normalizes a server URL for comparison: no trailing slash, lowercase
/// scheme and host.
pub fn normalize_server(server: &str) -> String {
    let s = server.trim().trim_end_matches('/');
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                path
            )
        }
        None => s.to_string(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) const ADMIN: &str = r#"
apiVersion: v1
kind: Config
current-context: admin
preferences: {colors: true}
x-unknown-top: keep-me
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: Zm9v
    extensions:
    - name: something
      extension: {a: 1}
contexts:
- name: admin
  context: {cluster: local, user: admin, namespace: kube-system}
users:
- name: admin
  user: {client-certificate-data: YQ==, client-key-data: Yg==}
"#;

    #[test]
    fn finds_server_of_context() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("config");
        std::fs::write(&p, ADMIN).unwrap();
        let kc = Kubeconfigs::load(Some(&p)).unwrap();
        assert_eq!(kc.server_of("admin").unwrap(), "https://127.0.0.1:6443/");
        let err = kc.server_of("nope").unwrap_err().to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("available contexts: admin"),
            "{err}"
        );
    }

    #[test]
    fn first_file_wins_like_kubectl() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::fs::write(
            &a,
            "clusters:\n- name: local\n  cluster: {server: https://first}\n",
        )
        .unwrap();
        std::fs::write(&b, ADMIN).unwrap();
        let joined = std::env::join_paths([&a, &b]).unwrap();
        // Use explicit parsing of the list rather than the process environment.
        let files = std::env::split_paths(&joined)
            .map(|p| {
                let t = std::fs::read_to_string(&p).unwrap();
                let v = parse(&p, &t).unwrap();
                (p, v)
            })
            .collect();
        let kc = Kubeconfigs { files };
        assert_eq!(kc.server_of("admin").unwrap(), "https://first");
    }

    #[test]
    fn normalizes_servers() {
        assert_eq!(
            normalize_server("HTTPS://LocalHost:6443/"),
            "https://localhost:6443"
        );
        assert_eq!(
            normalize_server("https://h:1/prefix/"),
            "https://h:1/prefix"
        );
    }
}
