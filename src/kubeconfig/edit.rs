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
//!   the newest [`BACKUPS_KEPT`] of them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_yaml::{Mapping, Value};

use super::error::KubeconfigError;
use super::files::{paths, to_yaml};
use super::load::{named, parse};
use crate::fsutil::write_atomic;

/// How many backups of a file `setup` keeps.
pub const BACKUPS_KEPT: usize = 5;
/// How long to wait for another writer's `<file>.lock`.
const LOCK_WAIT: Duration = Duration::from_secs(5);

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

fn read(path: &Path) -> Result<Option<String>, KubeconfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KubeconfigError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
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
        self.changed_files().map(save_file).collect()
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

/// client-go's lock: `<file>.lock`, created exclusively, removed on drop.
struct Lock(PathBuf);

impl Lock {
    fn take(file: &Path) -> Result<Lock, KubeconfigError> {
        let mut name = file.as_os_str().to_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let start = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if start.elapsed() >= LOCK_WAIT {
                        return Err(KubeconfigError::Locked {
                            lock: path.display().to_string(),
                            waited: LOCK_WAIT.as_secs(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(source) => {
                    return Err(KubeconfigError::Write {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn save_file(f: &File) -> Result<(PathBuf, Option<PathBuf>), KubeconfigError> {
    let werr = |source: std::io::Error| KubeconfigError::Write {
        path: f.path.display().to_string(),
        source,
    };
    // Whose the file is: its owner, or for a new one the owner of the
    // nearest directory there is (root writing into an agent's home).
    let owner = owner_unless_me(&f.path);
    if let Some(dir) = f.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        std::fs::create_dir_all(dir).map_err(werr)?;
        for d in missing {
            give(d, owner).map_err(werr)?;
        }
    }
    let _lock = Lock::take(&f.path)?;
    if read(&f.path)? != f.original {
        return Err(KubeconfigError::Changed {
            path: f.path.display().to_string(),
        });
    }
    // A link another account could have made: never followed as root
    // into a file of someone else's (its content replaced, its owner kept).
    let link = std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.file_type().is_symlink());
    if link
        && f.path
            .parent()
            .is_some_and(|d| owner_unless_me(d).is_some())
    {
        return Err(werr(std::io::Error::other(
            "it is a link in a directory of another account's; not followed: give the file it points to, if that is meant",
        )));
    }
    // Through a symlink: replace the file it points at, keep the link.
    let target = match std::fs::canonicalize(&f.path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => f.path.clone(),
        Err(e) => return Err(werr(e)),
    };
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&target)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o600)
    };
    #[cfg(not(unix))]
    let mode = 0o600;
    let content = to_yaml(&f.doc)?;
    let backup = match &f.original {
        Some(orig) => {
            let b = backup_path(&f.path);
            write_atomic(&b, orig.as_bytes(), mode).map_err(werr)?;
            prune_backups(&f.path);
            Some(b)
        }
        None => None,
    };
    write_atomic(&target, content.as_bytes(), mode).map_err(werr)?;
    // Root writing another account's file (set up for an agent): the file
    // and its backup stay that account's, as kubectl runs as it.
    for p in std::iter::once(&target).chain(backup.as_ref()) {
        give(p, owner).map_err(werr)?;
    }
    Ok((f.path.clone(), backup))
}

/// The owner of `path`, or of the nearest directory above it there is,
/// when that is another account than ours.
#[cfg(unix)]
fn owner_unless_me(path: &Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt;
    let m = path.ancestors().find_map(|p| std::fs::metadata(p).ok())?;
    // SAFETY: geteuid cannot fail.
    (m.uid() != unsafe { libc::geteuid() }).then(|| (m.uid(), m.gid()))
}

#[cfg(not(unix))]
fn owner_unless_me(_: &Path) -> Option<(u32, u32)> {
    None
}

/// Hands `path` to `owner`, if any.
fn give(path: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    match owner {
        #[cfg(unix)]
        Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
        _ => Ok(()),
    }
}

fn backup_prefix(file: &Path) -> String {
    format!(
        "{}.kube-sa-token-",
        file.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// `<file>.kube-sa-token-20261129T101500.123Z.bak`: sorts by time.
fn backup_path(file: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    );
    file.with_file_name(format!("{}{stamp}.bak", backup_prefix(file)))
}

/// Deletes all but the newest [`BACKUPS_KEPT`] backups of `file`.
fn prune_backups(file: &Path) {
    let dir = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    let prefix = backup_prefix(file);
    let mut backups: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".bak"))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(BACKUPS_KEPT);
    for old in &backups[..excess] {
        let _ = std::fs::remove_file(old);
    }
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
