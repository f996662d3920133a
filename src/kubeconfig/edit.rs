//! Editing one kubeconfig file in place for `setup`: unknown fields and every
//! other entry kept, atomic write, a backup of the previous file.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::{KubeconfigError, parse, paths};
use crate::fsutil::write_atomic;

/// One kubeconfig file opened for editing.
pub struct Editable {
    pub path: PathBuf,
    original: Option<String>,
    doc: Value,
}

impl Editable {
    /// Opens the file `setup` writes to: --kubeconfig, else the first KUBECONFIG
    /// path, else ~/.kube/config. A missing file starts empty.
    pub fn open(explicit: Option<&Path>) -> Result<Editable, KubeconfigError> {
        let path = paths(explicit)?.remove(0);
        let original = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(KubeconfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let doc = parse(&path, original.as_deref().unwrap_or(""))?;
        Ok(Editable {
            path,
            original,
            doc,
        })
    }

    fn map(&mut self) -> &mut Mapping {
        self.doc
            .as_mapping_mut()
            .expect("parse() returns a mapping")
    }

    /// Inserts or replaces the item `name` in the list `list` (`users`,
    /// `contexts`, `clusters`), keeping its position and any unknown fields
    /// of the item beside the body.
    pub fn upsert(&mut self, list: &str, body_key: &str, name: &str, body: Value) {
        let map = self.map();
        for (k, v) in [("apiVersion", "v1"), ("kind", "Config")] {
            if !map.contains_key(k) {
                map.insert(Value::from(k), Value::from(v));
            }
        }
        let seq = map
            .entry(Value::from(list))
            .or_insert_with(|| Value::Sequence(vec![]));
        if !seq.is_sequence() {
            *seq = Value::Sequence(vec![]);
        }
        let seq = seq.as_sequence_mut().expect("sequence");
        match seq
            .iter_mut()
            .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(item) => {
                if let Some(m) = item.as_mapping_mut() {
                    m.insert(Value::from(body_key), body);
                }
            }
            None => {
                let mut m = Mapping::new();
                m.insert(Value::from("name"), Value::from(name));
                m.insert(Value::from(body_key), body);
                seq.push(Value::Mapping(m));
            }
        }
    }

    pub fn render(&self) -> String {
        serde_yaml::to_string(&self.doc).expect("kubeconfig serializes")
    }

    /// True when writing would change the file.
    pub fn changed(&self) -> bool {
        match &self.original {
            Some(orig) => parse(&self.path, orig)
                .map(|o| o != self.doc)
                .unwrap_or(true),
            None => true,
        }
    }

    /// Writes the file atomically (mode 0600 for a new file, else the old
    /// mode), after copying the previous content to `<file>.kube-sa-token.bak`.
    /// Returns the backup path, if one was made.
    pub fn save(&self) -> Result<Option<PathBuf>, KubeconfigError> {
        let werr = |source: std::io::Error| KubeconfigError::Write {
            path: self.path.display().to_string(),
            source,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(werr)?;
        }
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&self.path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o600)
        };
        #[cfg(not(unix))]
        let mode = 0o600;
        let backup = match &self.original {
            Some(orig) => {
                let mut name = self.path.file_name().unwrap_or_default().to_os_string();
                name.push(".kube-sa-token.bak");
                let b = self.path.with_file_name(name);
                write_atomic(&b, orig.as_bytes(), mode).map_err(werr)?;
                Some(b)
            }
            None => None,
        };
        write_atomic(&self.path, self.render().as_bytes(), mode).map_err(werr)?;
        Ok(backup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubeconfig::tests::ADMIN;

    #[test]
    fn upsert_keeps_unknown_fields_and_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("config");
        std::fs::write(&p, ADMIN).unwrap();
        let body: Value = serde_yaml::from_str("{cluster: local, user: sa-user}").unwrap();
        let mut ed = Editable::open(Some(&p)).unwrap();
        ed.upsert("contexts", "context", "sa", body.clone());
        assert!(ed.changed());
        let backup = ed.save().unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), ADMIN);
        let first = std::fs::read_to_string(&p).unwrap();
        assert!(first.contains("x-unknown-top: keep-me"));
        assert!(first.contains("extension:"));
        assert!(first.contains("colors: true"));
        let mut ed = Editable::open(Some(&p)).unwrap();
        ed.upsert("contexts", "context", "sa", body);
        assert!(!ed.changed());
        assert_eq!(ed.render(), first);
    }
}
