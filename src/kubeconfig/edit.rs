//! Editing kubeconfig files for `setup`, the way `kubectl config set-*` does:
//!
//! - an entry that exists is modified in the file that defines it; a new one
//!   is created in the first file of the list that exists, else in the last
//!   file of the list (`--kubeconfig` names the only file);
//! - unknown fields and every other entry are kept;
//! - while a file is written, client-go's `<file>.lock` is held (created
//!   exclusively, removed afterwards), so kubectl and this tool never
//!   interleave; the file is re-read under the lock and must not have changed;
//! - a symlinked file (`~/.kube/config` → dotfiles) is written through: its
//!   target is replaced atomically, the link stays;
//! - the previous content is kept as `<file>.kube-sa-token-<UTC time>.bak`,
//!   the newest five of them (`write.rs` writes each file).

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::error::KubeconfigError;
use super::files::paths;
#[cfg(test)]
use super::files::to_yaml;
use super::load::{named, parse};
#[cfg(test)]
use super::write::BACKUPS_KEPT;
use super::write::{read, save_file};

/// One file opened for editing.
struct File {
    path: PathBuf,
    original: Option<String>,
    doc: Value,
}

/// What [`Editable::upsert`] did: the file, and the item before (none when
/// it is new) and after.
pub struct Upserted {
    pub file: PathBuf,
    pub before: Option<Value>,
    pub after: Value,
}

impl Upserted {
    /// Whether the item changes.
    pub fn changes(&self) -> bool {
        self.before.as_ref() != Some(&self.after)
    }
}

/// The kubeconfig files of the list, opened for editing.
pub struct Editable {
    files: Vec<File>,
    /// Index of the file new entries go to.
    create_in: usize,
}

impl Editable {
    /// Opens the files `setup` may write: --kubeconfig, else the KUBECONFIG
    /// list, else ~/.kube/config. Missing files start empty.
    pub fn open(explicit: Option<&Path>) -> Result<Editable, KubeconfigError> {
        let mut files = Vec::new();
        for path in paths(explicit)? {
            let original = read(&path)?;
            let doc = parse(&path, original.as_deref().unwrap_or(""))?;
            files.push(File {
                path,
                original,
                doc,
            });
        }
        let create_in = files
            .iter()
            .position(|f| f.original.is_some())
            .unwrap_or(files.len() - 1);
        Ok(Editable { files, create_in })
    }

    /// Inserts or replaces the item `name` in the list `list` (`users`,
    /// `contexts`, `clusters`) of the file that defines it (else the file new
    /// entries go to), keeping its position and any unknown fields of the
    /// item beside the body. Returns where, and the item before and after.
    pub fn upsert(&mut self, list: &str, body_key: &str, name: &str, body: Value) -> Upserted {
        let i = self
            .files
            .iter()
            .position(|f| named(&f.doc, list, name).is_some())
            .unwrap_or(self.create_in);
        let map = self.files[i]
            .doc
            .as_mapping_mut()
            .expect("parse() returns a mapping");
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
        let (before, after) = match seq
            .iter_mut()
            .find(|i| i.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(item) => {
                let before = item.clone();
                // The same entry as kubectl re-wrote it (`env: null` added,
                // keys reordered) stays as it is.
                let same = item
                    .get(body_key)
                    .is_some_and(|old| without_nulls(old) == without_nulls(&body));
                if let (false, Some(m)) = (same, item.as_mapping_mut()) {
                    m.insert(Value::from(body_key), body);
                }
                (Some(before), item.clone())
            }
            None => {
                let mut m = Mapping::new();
                m.insert(Value::from("name"), Value::from(name));
                m.insert(Value::from(body_key), body);
                seq.push(Value::Mapping(m.clone()));
                (None, Value::Mapping(m))
            }
        };
        Upserted {
            file: self.files[i].path.clone(),
            before,
            after,
        }
    }

    /// kubectl's current context: the first file's that sets one.
    pub fn current_context(&self) -> Option<&str> {
        self.files.iter().find_map(|f| {
            f.doc
                .get("current-context")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
        })
    }

    /// Makes `name` the current context, where `kubectl config use-context`
    /// writes it: the file that sets one now, else the file new entries go
    /// to.
    pub fn use_context(&mut self, name: &str) {
        let i = self
            .files
            .iter()
            .position(|f| {
                f.doc
                    .get("current-context")
                    .and_then(Value::as_str)
                    .is_some_and(|c| !c.is_empty())
            })
            .unwrap_or(self.create_in);
        if let Some(m) = self.files[i].doc.as_mapping_mut() {
            m.insert(Value::from("current-context"), Value::from(name));
        }
    }

    /// The item `name` of the list `list`, in the first file that has it.
    pub fn item(&self, list: &str, name: &str) -> Option<&Value> {
        self.files.iter().find_map(|f| named(&f.doc, list, name))
    }

    /// Removes the item `name` from the list `list` of every file that has
    /// it; the files it was removed from.
    pub fn remove(&mut self, list: &str, name: &str) -> Vec<PathBuf> {
        let mut from = Vec::new();
        for f in &mut self.files {
            let Some(seq) = f.doc.get_mut(list).and_then(Value::as_sequence_mut) else {
                continue;
            };
            let before = seq.len();
            seq.retain(|i| i.get("name").and_then(Value::as_str) != Some(name));
            if seq.len() != before {
                from.push(f.path.clone());
            }
        }
        from
    }

    /// The names of the contexts (in any file) whose `context.<field>` is
    /// `value`: who else uses a cluster or a user.
    pub fn contexts_with(&self, field: &str, value: &str) -> Vec<String> {
        self.files
            .iter()
            .filter_map(|f| f.doc.get("contexts").and_then(Value::as_sequence))
            .flatten()
            .filter(|c| {
                c.get("context")
                    .and_then(|b| b.get(field))
                    .and_then(Value::as_str)
                    == Some(value)
            })
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// Unsets `current-context` where it names `name` (kubectl then has
    /// none, rather than one that is gone).
    pub fn forget_current(&mut self, name: &str) -> bool {
        let mut forgot = false;
        for f in &mut self.files {
            if f.doc.get("current-context").and_then(Value::as_str) == Some(name)
                && let Some(m) = f.doc.as_mapping_mut()
            {
                m.insert(Value::from("current-context"), Value::from(""));
                forgot = true;
            }
        }
        forgot
    }

    fn changed_files(&self) -> impl Iterator<Item = &File> {
        self.files.iter().filter(|f| match &f.original {
            Some(orig) => parse(&f.path, orig).map(|o| o != f.doc).unwrap_or(true),
            None => f.doc.as_mapping().is_some_and(|m| !m.is_empty()),
        })
    }

    /// The files that writing would change.
    #[cfg(test)]
    fn changed(&self) -> Vec<PathBuf> {
        self.changed_files().map(|f| f.path.clone()).collect()
    }

    /// The full new content of `path` (one of the opened files).
    #[cfg(test)]
    fn content(&self, path: &Path) -> String {
        to_yaml(&self.files.iter().find(|f| f.path == path).unwrap().doc).unwrap()
    }

    /// Writes every changed file (see the module docs); returns each written
    /// file with its backup, if it had a previous content.
    pub fn save(&self) -> Result<Vec<(PathBuf, Option<PathBuf>)>, KubeconfigError> {
        self.changed_files()
            .map(|f| save_file(&f.path, f.original.as_deref(), &f.doc))
            .collect()
    }
}

/// `v` without the mapping keys whose value is null: client-go writes the
/// fields it knows, unset ones as `null` (`env: null`), on every save.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Sequence(s) => Value::Sequence(s.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
