//! Loading kubeconfig files like kubectl: merge, missing files, paths.

use super::*;
use crate::kubeconfig::tests::ADMIN;

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
fn missing_files_in_the_list_are_skipped_but_an_explicit_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let real = tmp.path().join("real");
    std::fs::write(&real, ADMIN).unwrap();
    let kc = Kubeconfigs::load_list(&[missing.clone(), real], false).unwrap();
    assert_eq!(kc.server_of("admin").unwrap(), "https://127.0.0.1:6443/");
    let err = Kubeconfigs::load_list(&[missing], true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot read kubeconfig"), "{err}");
}

#[test]
fn relative_paths_resolve_against_the_file_that_holds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("conf.d");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("admin.yaml");
    // An absolute path stays as it is.
    let abs = if cfg!(windows) {
        r"C:\abs\u.key"
    } else {
        "/abs/u.key"
    };
    // A command holding the OS's separator is a path (client-go's test).
    let plugin = if cfg!(windows) {
        r".\bin\plugin"
    } else {
        "./bin/plugin"
    };
    std::fs::write(
        &file,
        format!("clusters:\n- name: c\n  cluster: {{server: 'https://h:1', certificate-authority: pki/ca.crt}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user:\n    client-certificate: pki/u.crt\n    client-key: {abs}\n    tokenFile: tok\n    exec: {{command: {plugin}}}\n- name: v\n  user:\n    exec: {{command: gcloud}}\n"),
    )
    .unwrap();
    let kc = Kubeconfigs::load_list(&[file], true).unwrap();
    let r = kc.resolve("x").unwrap();
    let at = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap().to_string();
    assert_eq!(
        at(&r.cluster, "certificate-authority"),
        dir.join("pki/ca.crt").display().to_string()
    );
    assert_eq!(
        at(&r.user, "client-certificate"),
        dir.join("pki/u.crt").display().to_string()
    );
    assert_eq!(at(&r.user, "client-key"), abs);
    assert_eq!(
        at(&r.user, "tokenFile"),
        dir.join("tok").display().to_string()
    );
    assert_eq!(
        at(&r.user["exec"], "command"),
        dir.join(plugin).display().to_string()
    );
    let users = kc.exec_users();
    let gcloud = users.iter().find(|(n, _)| n == "v").unwrap();
    assert_eq!(
        at(&gcloud.1, "command"),
        "gcloud",
        "a bare command stays a PATH lookup"
    );
}

#[test]
fn resolve_takes_each_entry_from_the_first_file_that_defines_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    std::fs::write(&a, "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: ns}\nusers:\n- name: u\n  user: {token: first}\n").unwrap();
    std::fs::write(&b, "clusters:\n- name: c\n  cluster: {server: 'https://b'}\nusers:\n- name: u\n  user: {token: second}\n").unwrap();
    let kc = Kubeconfigs::load_list(&[a.clone(), b.clone()], false).unwrap();
    let r = kc.resolve("x").unwrap();
    assert_eq!(r.user["token"].as_str(), Some("first"));
    assert_eq!(r.user_file.as_deref(), Some(a.as_path()));
    assert_eq!(r.cluster_file, b);
    assert_eq!(r.namespace.as_deref(), Some("ns"));
    std::fs::write(
        &a,
        "contexts:\n- name: x\n  context: {cluster: c, user: nobody}\n",
    )
    .unwrap();
    let kc = Kubeconfigs::load_list(&[a, b], false).unwrap();
    let err = kc.resolve("x").unwrap_err().to_string();
    assert!(err.contains("user \"nobody\""), "{err}");
}

/// An exported exec entry names one file: the one holding the context, its
/// cluster and its user, else none (issue 24, item 4).
#[test]
fn the_single_file_of_a_context_is_found_or_there_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    std::fs::write(&a, "contexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: 'https://a'}\nusers:\n- name: u\n  user: {token: t}\n").unwrap();
    std::fs::write(&b, "contexts:\n- name: y\n  context: {cluster: c, user: v}\nusers:\n- name: v\n  user: {token: t}\n").unwrap();
    let kc = Kubeconfigs::load_list(&[a.clone(), b.clone()], false).unwrap();
    assert_eq!(kc.single_file_of("x").unwrap(), Some(a));
    // y's cluster is in a: spread over two files.
    assert_eq!(kc.single_file_of("y").unwrap(), None);
    assert!(kc.single_file_of("z").is_err());
}

#[test]
fn a_broken_file_is_reported_without_its_content() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config");
    std::fs::write(
        &p,
        "users:\n- name: u\n  user:\n    token: SECRET\n   bad: [\n",
    )
    .unwrap();
    let err = Kubeconfigs::load_list(&[p], true)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("line") && !err.contains("SECRET"), "{err}");
}
