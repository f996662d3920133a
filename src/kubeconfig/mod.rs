//! Kubeconfig files, read as kubectl reads them, in one place for every
//! command: the file list (--kubeconfig, else every path in KUBECONFIG with
//! missing files skipped, else ~/.kube/config), relative paths resolved
//! against the file that holds them, first file wins ([`Kubeconfigs`]); the
//! hot path of `get` looks up a server without building a client. `setup`
//! edits files in place ([`Editable`]).

use std::path::{Path, PathBuf};

mod edit;
mod load;

pub use edit::Editable;
use load::parse;
pub use load::{Kubeconfigs, ResolvedContext};

/// Errors finding, reading or writing kubeconfig files.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// No kubeconfig file could be found.
    #[error("no kubeconfig found ({0}); pass --kubeconfig PATH or set KUBECONFIG")]
    Missing(String),
    /// A kubeconfig could not be written as YAML (a structure YAML cannot hold).
    #[error(
        "cannot write the kubeconfig as YAML (a key or value it cannot represent); nothing was changed; check the file with `kubectl config view`"
    )]
    Render,
    /// A file could not be read.
    #[error(
        "cannot read kubeconfig {path}: {source}; check the path given with --kubeconfig or KUBECONFIG"
    )]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML or not a kubeconfig. `detail` names the kind
    /// of error and where, never the text there (it may be a credential).
    #[error(
        "kubeconfig {path} is not valid: {detail}; fix the file (kubectl config view shows what kubectl makes of it)"
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
    /// The CA of a context's cluster cannot be read.
    #[error(
        "the cluster of context {context:?} has an unusable CA: {detail}; fix its certificate-authority(-data)"
    )]
    BadCa { context: String, detail: String },
    /// The context names a user that is in none of the files.
    #[error(
        "context {context:?} refers to user {user:?}, which is not in {files}; fix the context (kubectl config set-context)"
    )]
    NoUser {
        context: String,
        user: String,
        files: String,
    },
    /// Another writer (kubectl, another setup) holds the file's lock.
    #[error(
        "kubeconfig lock {lock} is held by another writer (waited {waited}s); if no kubectl or kube-sa-token is running, a crashed one left it: delete it and retry"
    )]
    Locked { lock: String, waited: u64 },
    /// The file changed between reading and writing it.
    #[error(
        "kubeconfig {path} changed while setup was editing it; nothing was written: run setup again"
    )]
    Changed { path: String },
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

/// A kubeconfig as YAML that kubectl reads back the same: kubectl reads YAML
/// 1.1, where `on`, `yes`, `n`, `1_000`, `2001-12-14`, `0o17` and friends
/// are not strings, so every such string is quoted (serde-saphyr's default);
/// serde_yaml writes YAML 1.2 and leaves them bare.
pub fn to_yaml(doc: &serde_yaml::Value) -> Result<String, KubeconfigError> {
    // Its message may quote a value: only the fact is passed on.
    serde_saphyr::to_string(doc).map_err(|_| KubeconfigError::Render)
}

#[cfg(test)]
pub(super) mod tests {
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
}
