//! X.509 users through the CertificateSigningRequest API: kubectl (and the
//! Python and kube-rs clients) as user and groups, RBAC by group, one CSR per
//! certificate, approval by someone else, a denied request, the key kept out
//! of every message, the entry seen from outside by keyctl and secret-tool.

use super::clients::{kube_rs_client, python_client};
use super::*;

/// A user and a group unique to this run (the test cluster is reused across
/// runs: RBAC bindings to a name stay behind).
pub(super) fn names(ns: &str) -> (String, String) {
    (format!("alice-{ns}"), format!("dev-{ns}"))
}

pub(super) fn user_entry<'a>(user: &'a str, group: &'a str, cache: &'a str) -> Vec<&'a str> {
    vec![
        "--admin-context",
        "admin",
        "--user",
        user,
        "--group",
        group,
        "--cache",
        cache,
    ]
}

/// The group may view `ns` (and nothing else).
pub(super) fn bind_group(c: &Cluster, ns: &str, group: &str) {
    c.admin(&[
        "-n",
        ns,
        "create",
        "rolebinding",
        "dev-view",
        "--clusterrole=view",
        "--group",
        group,
    ])
    .ok();
}

/// CSR objects on the server annotated for `user` (ours are deleted once done).
pub(super) fn csrs_of(c: &Cluster, user: &str) -> Vec<String> {
    let out = c.admin(&["get", "csr", "-o", "json"]);
    out.ok();
    out.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["annotations"]["kube-sa-token/user"] == user)
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

pub(super) fn whoami_json(c: &Cluster, env: &TestEnv) -> serde_json::Value {
    let out = c.kubectl(env, &["--context", "sa", "auth", "whoami", "-o", "json"]);
    out.ok();
    out.json()["status"]["userInfo"].clone()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn kubectl_as_a_user_in_a_group_with_rbac_one_csr_and_the_entry_in_keyutils() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user");
    let (user, group) = names(&ns);
    bind_group(&c, &ns, &group);
    let env = c.env("v1", &user_entry(&user, &group, "keyutils"));
    let before = c.csr_creates_settled();

    let who = whoami_json(&c, &env);
    assert_eq!(who["username"], user.as_str(), "{who}");
    let groups: Vec<&str> = who["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert!(groups.contains(&group.as_str()), "{who}");

    // The binding to the group grants exactly what it says.
    c.kubectl(&env, &["--context", "sa", "-n", &ns, "get", "pods"])
        .ok();
    let denied = c.kubectl(
        &env,
        &["--context", "sa", "-n", &ns, "create", "configmap", "x"],
    );
    assert!(denied.stderr.contains("forbidden"), "{}", denied.stderr);
    let elsewhere = c.kubectl(&env, &["--context", "sa", "-n", "default", "get", "pods"]);
    assert!(
        elsewhere.stderr.contains("forbidden"),
        "{}",
        elsewhere.stderr
    );

    assert_eq!(
        c.csr_creates_settled() - before,
        1,
        "four kubectl calls, one CertificateSigningRequest"
    );
    assert!(csrs_of(&c, &user).is_empty(), "the CSR object is deleted");

    // The entry lives in the kernel keyring, seen from outside.
    let key = only_key(&env);
    assert!(in_kernel_keyring(&key), "keyctl search");

    // cache list names the user and groups, never the key.
    let list = env.run(&["cache", "list"]);
    list.ok();
    assert!(
        list.stdout.contains(&format!("user:{user} [{group}]")),
        "{}",
        list.stdout
    );
    // --check asks the server with the cached certificate.
    let checked = env.run(&["cache", "list", "--check", "-o", "json"]);
    checked.ok();
    let check = &checked.json()[0]["check"];
    assert_eq!(check["state"], "ok", "{check}");
    assert_eq!(check["username"], user.as_str(), "{check}");
    let json = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(json[0]["source"], "csr");
    assert_eq!(json[0]["user"], user.as_str());

    // Third-party clients take the certificate from the plugin too.
    let py = python_client(&env, &ns);
    py.ok();
    assert!(py.stdout.starts_with(&format!("{user}\n")), "{}", py.stdout);
    let (name, _) = kube_rs_client(&env, &ns).unwrap();
    assert_eq!(name, user);
    assert_eq!(
        c.csr_creates_settled() - before,
        1,
        "other clients are served from the cache"
    );

    env.run(&["cache", "clear", "--all"]).ok();
    assert!(
        !in_kernel_keyring(&key),
        "cache clear removes the kernel key"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn twenty_concurrent_cold_calls_for_a_user_make_one_csr() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-stampede");
    let (user, group) = names(&ns);
    bind_group(&c, &ns, &group);
    let env = c.env("v1", &user_entry(&user, &group, "file"));
    let before = c.csr_creates_settled();
    for out in c.kubectl_concurrently(
        &env,
        20,
        &["--context", "sa", "-n", &ns, "get", "pods", "-o", "name"],
    ) {
        out.ok();
    }
    assert_eq!(c.csr_creates_settled() - before, 1);
    // The file store holds certificate and key, 0600.
    let key = only_key(&env);
    let path = env.cache_dir().join("tokens").join(format!("{key}.json"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let entry: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        entry["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(entry.get("token").is_none());
}

/// `get --user USER --group GROUP --no-approve` started in the background:
/// it creates a CSR and waits (60 s at most) for someone else to approve it.
pub(super) fn spawn_no_approve(
    c: &Cluster,
    env: &TestEnv,
    user: &str,
    group: &str,
) -> std::process::Child {
    let mut args = vec!["get"];
    args.extend(user_entry(user, group, "file"));
    args.extend(["--no-approve", "--csr-timeout", "60s"]);
    let mut cmd = env.cmd(&args);
    cmd.env(
        "KUBERNETES_EXEC_INFO",
        support::exec_info_with_ca("v1", &c.server, &c.ca()),
    );
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `get --no-approve` in the background and lets the admin act on the
/// CSR it creates with `kubectl certificate <verb>`.
pub(super) fn someone_else(c: &Cluster, env: &TestEnv, user: &str, group: &str, verb: &str) -> Out {
    let child = spawn_no_approve(c, env, user, group);
    let mut name = None;
    assert!(
        eventually(Duration::from_secs(30), || {
            name = csrs_of(c, user).into_iter().next();
            name.is_some()
        }),
        "get --no-approve created no CSR"
    );
    let name = name.unwrap();
    c.admin(&["certificate", verb, &name]).ok();
    let out = Out::from(child.wait_with_output().unwrap());
    assert!(
        csrs_of(c, user).is_empty(),
        "the CSR is deleted whatever the outcome"
    );
    out
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn with_no_approve_someone_else_approves_and_a_denied_csr_is_a_clear_error() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-approve");
    let (user, group) = names(&ns);
    let env = c.admin_env();

    let approved = someone_else(&c, &env, &user, &group, "approve");
    approved.ok();
    let status = &approved.json()["status"];
    assert!(status["clientCertificateData"].is_string(), "{status}");

    let denied_user = format!("{user}-denied");
    let denied = someone_else(&c, &env, &denied_user, &group, "deny");
    assert_eq!(denied.code, 4, "an API refusal: {}", denied.stderr);
    assert!(denied.stdout.is_empty(), "{}", denied.stdout);
    // One line saying what to approve while it waits, one line of error.
    let lines: Vec<&str> = denied.stderr.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{}", denied.stderr);
    assert!(
        lines[0].contains("kubectl certificate approve kube-sa-token-"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("was denied (KubectlDeny); nothing was cached"),
        "{}",
        lines[1]
    );
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    let users: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["user"].as_str())
        .collect();
    assert_eq!(
        users,
        vec![user.as_str()],
        "nothing cached for the denied one"
    );
}

/// Issue 17, finding 19: a `get --user` ended by SIGTERM or Ctrl-C (SIGINT)
/// while it waits for an approval deletes its CSR on the way out, and says
/// so in one line; nothing is cached.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_get_ended_by_a_signal_while_waiting_deletes_its_csr() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-signal");
    let env = c.admin_env();
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let (user, group) = names(&format!("{ns}-{}", name.to_lowercase()));
        let child = spawn_no_approve(&c, &env, &user, &group);
        assert!(
            eventually(Duration::from_secs(30), || !csrs_of(&c, &user).is_empty()),
            "get --no-approve created no CSR"
        );
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let out = Out::from(child.wait_with_output().unwrap());
        assert_ne!(out.code, 0);
        assert!(
            out.stderr.contains(&format!("interrupted by {name}"))
                && out.stderr.contains("was deleted"),
            "{}",
            out.stderr
        );
        assert!(
            csrs_of(&c, &user).is_empty(),
            "{name}: the CSR is left pending on the server"
        );
    }
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
}
