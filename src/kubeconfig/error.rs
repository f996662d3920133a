//! Errors finding, reading or writing kubeconfig files.

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
    /// An exec entry without `--kubeconfig` ran where the files kubectl
    /// reads by default do not hold its admin context.
    #[error(
        "this exec entry's admin context {context:?} is not where kubectl's environment points ({detail}): the entry names no --kubeconfig (an older setup wrote it in a shell with KUBECONFIG set); run `kube-sa-token setup` again (it now writes the admin kubeconfig's path into the entry), or set KUBECONFIG"
    )]
    EntryUnanchored { context: String, detail: String },
    /// The named context is in none of the files.
    #[error("context {name:?} not found in {files}; available contexts: {available}; {fix}")]
    NoContext {
        name: String,
        files: String,
        available: String,
        /// What to do: pass another `--admin-context`; for an exec entry,
        /// also where the context may be ([`KubeconfigError::in_exec_entry`]).
        fix: String,
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

impl KubeconfigError {
    /// This error as `get` run from an exec entry without `--kubeconfig`
    /// reports it: no kubeconfig, or no such context in it, says it is the
    /// entry's admin context, and what to do (issue 33).
    pub fn in_exec_entry(self, context: &str) -> KubeconfigError {
        match self {
            KubeconfigError::Missing(looked) => KubeconfigError::EntryUnanchored {
                context: context.into(),
                detail: looked,
            },
            other => other.with_fix(
                "fix the exec entry's --admin-context; or, if that context is in another kubeconfig file, run `kube-sa-token setup` again (it now writes that file's path into the entry) or set KUBECONFIG",
            ),
        }
    }

    /// A context not found, with `fix` as what to do instead of passing
    /// another `--admin-context` (the flag that named it may be another);
    /// any other error as it is.
    pub fn with_fix(self, fix: impl Into<String>) -> KubeconfigError {
        match self {
            KubeconfigError::NoContext {
                name,
                files,
                available,
                ..
            } => KubeconfigError::NoContext {
                name,
                files,
                available,
                fix: fix.into(),
            },
            other => other,
        }
    }
}
