//! Kubeconfig files, read as kubectl reads them, in one place for every
//! command: the file list (--kubeconfig, else every path in KUBECONFIG with
//! missing files skipped, else ~/.kube/config), relative paths resolved
//! against the file that holds them, first file wins ([`Kubeconfigs`]); the
//! hot path of `get` looks up a server without building a client. `setup`
//! edits files in place ([`Editable`]). This file only names the parts.

mod edit;
mod error;
mod files;
mod load;
mod redact;
mod write;

pub use edit::Editable;
pub use error::KubeconfigError;
pub use files::{default_path, fingerprint, paths, to_yaml};
pub use load::{Kubeconfigs, ResolvedContext};
pub use redact::{diff as redacted_diff, redacted};

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
