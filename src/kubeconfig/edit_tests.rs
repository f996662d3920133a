//! Editing like `kubectl config set-*`: which file, locks, links, backups.

use super::*;
use crate::kubeconfig::tests::ADMIN;
use std::time::Duration;

fn body(yaml: &str) -> Value {
    serde_yaml::from_str(yaml).unwrap()
}

fn open_list(list: &[PathBuf]) -> Editable {
    let joined = std::env::join_paths(list).unwrap();
    // Editable::open reads KUBECONFIG; build the same list without the
    // process environment.
    let mut files = Vec::new();
    for path in std::env::split_paths(&joined) {
        let original = read(&path).unwrap();
        let doc = parse(&path, original.as_deref().unwrap_or("")).unwrap();
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
    Editable { files, create_in }
}

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    v.sort();
    v
}

#[test]
fn upsert_keeps_unknown_fields_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    std::fs::write(&p, ADMIN).unwrap();
    let ctx = body("{cluster: local, user: sa-user}");
    let mut ed = Editable::open(Some(&p)).unwrap();
    ed.upsert("contexts", "context", "sa", ctx.clone());
    assert_eq!(ed.changed(), vec![p.clone()]);
    let saved = ed.save().unwrap();
    let backup = saved[0].1.clone().unwrap();
    assert_eq!(std::fs::read_to_string(backup).unwrap(), ADMIN);
    let first = std::fs::read_to_string(&p).unwrap();
    assert!(first.contains("x-unknown-top: keep-me"));
    assert!(first.contains("extension:"));
    assert!(first.contains("colors: true"));
    let mut ed = Editable::open(Some(&p)).unwrap();
    ed.upsert("contexts", "context", "sa", ctx);
    assert!(ed.changed().is_empty());
    assert_eq!(ed.content(&p), first);
    assert!(!tmp.path().join("config.lock").exists(), "lock released");
}

#[test]
fn entries_go_where_kubectl_puts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    std::fs::write(&a, "contexts: []\n").unwrap();
    std::fs::write(&b, "users:\n- name: u\n  user: {token: old}\n").unwrap();
    let mut ed = open_list(&[missing.clone(), a.clone(), b.clone()]);
    // A new entry: the first file that exists.
    ed.upsert("contexts", "context", "c", body("{cluster: x, user: u}"));
    // An existing entry: the file that defines it.
    ed.upsert("users", "user", "u", body("{token: new}"));
    let mut changed = ed.changed();
    changed.sort();
    assert_eq!(changed, vec![a.clone(), b.clone()]);
    ed.save().unwrap();
    assert!(std::fs::read_to_string(&a).unwrap().contains("name: c"));
    assert!(std::fs::read_to_string(&b).unwrap().contains("token: new"));
    assert!(!missing.exists());

    // No file exists: the last one of the list is created.
    let (x, y) = (tmp.path().join("x"), tmp.path().join("y"));
    let mut ed = open_list(&[x.clone(), y.clone()]);
    ed.upsert("contexts", "context", "c", body("{cluster: x}"));
    ed.save().unwrap();
    assert!(!x.exists() && y.exists());
}

#[cfg(unix)]
#[test]
fn a_symlinked_file_is_written_through_and_stays_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("dotfiles-kubeconfig");
    std::fs::write(&real, ADMIN).unwrap();
    let link = tmp.path().join("config");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut ed = Editable::open(Some(&link)).unwrap();
    ed.upsert("contexts", "context", "sa", body("{cluster: local}"));
    ed.save().unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().contains("name: sa"));
}

#[test]
fn a_held_lock_or_a_concurrent_change_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    std::fs::write(&p, ADMIN).unwrap();
    let lock = tmp.path().join("config.lock");
    std::fs::write(&lock, "").unwrap();
    let mut ed = Editable::open(Some(&p)).unwrap();
    ed.upsert("contexts", "context", "sa", body("{cluster: local}"));
    let err = ed.save().unwrap_err().to_string();
    assert!(
        err.contains("config.lock") && err.contains("delete it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), ADMIN);
    assert!(lock.exists(), "someone else's lock is left alone");
    std::fs::remove_file(&lock).unwrap();

    std::fs::write(&p, format!("{ADMIN}\n# edited meanwhile\n")).unwrap();
    let err = ed.save().unwrap_err().to_string();
    assert!(err.contains("changed while"), "{err}");
    assert!(
        std::fs::read_to_string(&p)
            .unwrap()
            .contains("edited meanwhile")
    );
}

#[test]
fn backups_are_timestamped_and_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    std::fs::write(&p, ADMIN).unwrap();
    for i in 0..(BACKUPS_KEPT + 3) {
        let mut ed = Editable::open(Some(&p)).unwrap();
        ed.upsert(
            "contexts",
            "context",
            &format!("c{i}"),
            body("{cluster: local}"),
        );
        ed.save().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let kept = backups(tmp.path());
    assert_eq!(kept.len(), BACKUPS_KEPT, "{kept:?}");
    // The newest backup holds the content before the last save.
    let newest = std::fs::read_to_string(kept.last().unwrap()).unwrap();
    assert!(newest.contains(&format!("c{}", BACKUPS_KEPT + 1)));
    assert!(!newest.contains(&format!("c{}", BACKUPS_KEPT + 2)));
}

/// Issue 17, finding 4: strings a YAML 1.1 reader (kubectl) would take for
/// a bool, a number or a date stay quoted after an edit; other values keep
/// their type.
#[test]
fn strings_kubectl_would_misread_stay_quoted() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    let ambiguous = [
        "on",
        "off",
        "yes",
        "no",
        "y",
        "n",
        "Y",
        "NO",
        "True",
        "1_000",
        "0o17",
        "0x1F",
        "0b101",
        "2001-12-14",
        "1:20",
        "190:20:30",
        ".inf",
        "-.inf",
        ".NaN",
        "~",
        "null",
        "1e3",
        "+1",
    ];
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers:\n- name: other\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: login\n      interactiveMode: Never\n      env:\n",
    );
    for (i, v) in ambiguous.iter().enumerate() {
        yaml.push_str(&format!("      - name: V{i}\n        value: \"{v}\"\n"));
    }
    yaml.push_str("preferences:\n  colors: true\n");
    std::fs::write(&p, &yaml).unwrap();
    let mut ed = Editable::open(Some(&p)).unwrap();
    ed.upsert(
        "contexts",
        "context",
        "sa",
        body("{cluster: local, user: sa-user, namespace: \"yes\"}"),
    );
    ed.save().unwrap();
    let written = std::fs::read_to_string(&p).unwrap();
    for v in ambiguous.iter().chain(["yes"].iter()) {
        let bare = format!("value: {v}\n");
        assert!(!written.contains(&bare), "{v} left bare:\n{written}");
    }
    assert!(!written.contains("namespace: yes\n"), "{written}");
    let back: Value = serde_yaml::from_str(&written).unwrap();
    let env = &back["users"][0]["user"]["exec"]["env"];
    for (i, v) in ambiguous.iter().enumerate() {
        assert_eq!(env[i]["value"], Value::String(v.to_string()), "{written}");
    }
    assert_eq!(back["preferences"]["colors"], Value::Bool(true));
}

/// Issue 33, item 8: after kubectl re-wrote the file (keys reordered, the
/// fields it knows added as `null`), the same entry is still the same.
#[test]
fn an_entry_kubectl_rewrote_is_still_the_same_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    let user = body(
        "{exec: {apiVersion: client.authentication.k8s.io/v1, command: kube-sa-token, args: [get, --admin-context, admin], interactiveMode: IfAvailable}}",
    );
    let mut ed = Editable::open(Some(&p)).unwrap();
    ed.upsert("users", "user", "sa", user.clone());
    ed.save().unwrap();
    // What `kubectl config use-context` leaves of it.
    std::fs::write(
        &p,
        "apiVersion: v1\nkind: Config\nusers:\n- user:\n    exec:\n      args:\n      - get\n      - --admin-context\n      - admin\n      command: kube-sa-token\n      env: null\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: IfAvailable\n      provideClusterInfo: null\n  name: sa\n",
    )
    .unwrap();
    let mut ed = Editable::open(Some(&p)).unwrap();
    let u = ed.upsert("users", "user", "sa", user.clone());
    assert!(!u.changes(), "the same entry");
    assert!(ed.changed().is_empty(), "nothing to write");
    // A real difference still is one.
    let other = body(
        "{exec: {apiVersion: client.authentication.k8s.io/v1, command: kube-sa-token, args: [get, --admin-context, root], interactiveMode: IfAvailable}}",
    );
    let u = ed.upsert("users", "user", "sa", other);
    assert!(u.changes());
    assert_eq!(ed.changed(), vec![p.clone()]);
}
