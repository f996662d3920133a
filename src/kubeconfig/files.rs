//! Which kubeconfig files kubectl reads, and the YAML it reads back.

use std::path::{Path, PathBuf};

use super::error::KubeconfigError;

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
    Ok(vec![default_path()?])
}

/// kubectl's kubeconfig when neither --kubeconfig nor KUBECONFIG names one:
/// `~/.kube/config`.
pub fn default_path() -> Result<PathBuf, KubeconfigError> {
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .ok_or_else(|| KubeconfigError::Missing("HOME is not set".into()))?;
    Ok(home.join(".kube").join("config"))
}

/// What the kubeconfig files look like now: each one's path, size and
/// modification time, hashed. A failure backoff holds only while this is
/// unchanged, so editing the admin kubeconfig (a new token, another user)
/// is tried at once.
pub fn fingerprint(explicit: Option<&Path>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in paths(explicit).unwrap_or_default() {
        h.update(p.as_os_str().as_encoded_bytes());
        match std::fs::metadata(&p) {
            Ok(m) => {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                h.update(format!("\t{}\t{mtime}\n", m.len()));
            }
            Err(_) => h.update("\tmissing\n"),
        }
    }
    crate::hex::hex(&h.finalize()[..8])
}

/// A kubeconfig as YAML that kubectl reads back the same: kubectl reads YAML
/// 1.1, where `on`, `yes`, `n`, `1_000`, `2001-12-14`, `0o17` and friends
/// are not strings, so every such string is quoted (serde-saphyr's default);
/// serde_yaml writes YAML 1.2 and leaves them bare.
pub fn to_yaml(doc: &serde_yaml::Value) -> Result<String, KubeconfigError> {
    // Its message may quote a value: only the fact is passed on.
    serde_saphyr::to_string(doc).map_err(|_| KubeconfigError::Render)
}
