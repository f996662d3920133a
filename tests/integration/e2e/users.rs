//! X.509 users through the CertificateSigningRequest API: kubectl (and the
//! Python and kube-rs clients) as user and groups, RBAC by group, one CSR per
//! certificate, approval by someone else, a denied request, the key kept out
//! of every message, the entry seen from outside by keyctl and secret-tool.

use super::clients::{kube_rs_client, python_client};
use super::*;

/// A user and a group unique to this run (the test cluster is reused across
/// runs: RBAC bindings to a name stay behind).
fn names(ns: &str) -> (String, String) {
    (format!("alice-{ns}"), format!("dev-{ns}"))
}

fn user_entry<'a>(user: &'a str, group: &'a str, cache: &'a str) -> Vec<&'a str> {
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
fn bind_group(c: &Cluster, ns: &str, group: &str) {
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
fn csrs_of(c: &Cluster, user: &str) -> Vec<String> {
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

fn whoami_json(c: &Cluster, env: &TestEnv) -> serde_json::Value {
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
    assert_eq!(json[0]["record"]["source"], "csr");
    assert_eq!(json[0]["record"]["user"], user.as_str());

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
fn spawn_no_approve(c: &Cluster, env: &TestEnv, user: &str, group: &str) -> std::process::Child {
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
fn someone_else(c: &Cluster, env: &TestEnv, user: &str, group: &str, verb: &str) -> Out {
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
        .filter_map(|e| e["record"]["user"].as_str())
        .collect();
    assert_eq!(
        users,
        vec![user.as_str()],
        "nothing cached for the denied one"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_private_key_never_appears_on_stderr_in_listings_or_files_beside_its_entry() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-key");
    let (user, group) = names(&ns);
    let env = c.admin_env();
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    let mut args = user_entry(&user, &group, "file");
    args.push("-vv");
    let out = env.get(Some(&info), &args);
    out.ok();
    let key = out.json()["status"]["clientKeyData"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS #8 PEM"
    );
    // The key's base64 body, line by line: none of it anywhere but stdout.
    let body: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .collect();
    assert!(!body.is_empty());
    let again = env.get(Some(&info), &args);
    again.ok();
    let mut seen = vec![
        ("stderr of the mint", out.stderr.clone()),
        ("stderr of the hit", again.stderr.clone()),
        (
            "cache list",
            env.run(&["cache", "list", "-o", "json"]).stdout,
        ),
        (
            "inspect",
            env.run(&[&["inspect"][..], &user_entry(&user, &group, "file")].concat())
                .stdout,
        ),
        (
            "index.json",
            std::fs::read_to_string(env.cache_dir().join("index.json")).unwrap(),
        ),
    ];
    let logout = env.run(&[&["logout"][..], &user_entry(&user, &group, "file")].concat());
    logout.ok();
    assert!(
        logout.stdout.contains("cannot revoke a client certificate"),
        "{}",
        logout.stdout
    );
    seen.push(("logout", logout.stdout.clone() + &logout.stderr));
    assert!(
        out.stderr.contains("CertificateSigningRequest") || out.stderr.contains("minting"),
        "-vv says what it does: {}",
        out.stderr
    );
    for (what, text) in seen {
        for line in &body {
            assert!(!text.contains(line), "the key shows in {what}");
        }
    }
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_kubeconfig_inspect_whoami_and_doctor_cover_users() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-cmds");
    let (user, group) = names(&ns);
    bind_group(&c, &ns, &group);
    let env = c.admin_env();

    // setup writes an exec entry kubectl runs.
    let setup = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "--user",
        &user,
        "--group",
        &group,
        "-n",
        &ns,
        "--cache",
        "file",
    ]);
    setup.ok();
    let context = format!("user:{user}@test");
    assert!(setup.stdout.contains(&context), "{}", setup.stdout);
    let who = c.kubectl(
        &env,
        &[
            "--context",
            &context,
            "auth",
            "whoami",
            "-ojsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(username(&who), user);
    // Its context's namespace is -n: the group's binding lets it list pods there.
    c.kubectl(&env, &["--context", &context, "get", "pods"])
        .ok();

    // whoami and inspect --verify ask the server with the cached certificate.
    let entry = user_entry(&user, &group, "file");
    let whoami = env.run(&[&["whoami", "-o", "json"][..], &entry].concat());
    whoami.ok();
    assert_eq!(whoami.json()["userInfo"]["username"], user.as_str());
    let inspect = env.run(&[&["inspect", "--verify", "-o", "json"][..], &entry].concat());
    inspect.ok();
    let j = inspect.json();
    assert_eq!(j["kind"], "certificate");
    assert_eq!(j["user"], user.as_str());
    assert_eq!(j["groups"][0], group.as_str());
    assert_eq!(j["verification"]["authenticated"], true);
    assert!(j["issuer"].as_str().unwrap().contains("CN="), "{j}");
    assert!(j["serial"].as_str().unwrap().contains(':'), "{j}");

    // An embedded export works without the plugin.
    let export = env.run(&[&["kubeconfig", "--embed-token"][..], &entry].concat());
    export.ok();
    assert!(
        export.stdout.contains("client-certificate-data"),
        "{}",
        export.stdout
    );
    assert!(
        export.stderr.contains("cannot be revoked"),
        "{}",
        export.stderr
    );
    let file = env.root().join("embedded.yaml");
    std::fs::write(&file, &export.stdout).unwrap();
    let mut k = Command::new(c.kubectl_path());
    k.arg("--kubeconfig").arg(&file).args([
        "auth",
        "whoami",
        "-ojsonpath={.status.userInfo.username}",
    ]);
    k.env_remove("KUBECONFIG");
    assert_eq!(username(&Out::from(k.output().unwrap())), user);

    // doctor names the rights users need, and finds setup's entry well-formed.
    let doctor = env.run(&["doctor", "--admin-context", "admin"]);
    assert!(
        doctor.stdout.contains(&format!(
            "ok    user {context:?} (contexts: {context}) has a well-formed exec entry"
        )),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("may approve signers \"kubernetes.io/kube-apiserver-client\""),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("may create certificatesigningrequests"),
        "{}",
        doctor.stdout
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_user_certificate_in_the_os_keyring_is_seen_by_secret_tool() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-keyring");
    let (user, group) = names(&ns);
    let env = c.env("v1", &user_entry(&user, &group, "keyring"));
    let script = r#"
set -e
"$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo
"$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo
echo "--- secret-tool"
secret-tool search --all service kube-sa-token 2>&1 | grep '^attribute\.' || true
"#;
    let before = c.csr_creates_settled();
    let mut cmd = support::secret_service(false);
    cmd.args(["sh", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path());
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    assert!(
        out.stdout.starts_with(&format!("{user}\n{user}\n")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let key = only_key(&env);
    assert!(
        out.stdout.contains(&format!("attribute.username = {key}")),
        "{}",
        out.stdout
    );
    assert_eq!(c.csr_creates_settled() - before, 1);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_certificate_past_half_its_window_is_signed_again_in_the_background() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-refresh");
    let (user, group) = names(&ns);
    let env = c.admin_env();
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    let args = user_entry(&user, &group, "file");
    let cert = |out: &Out| {
        out.ok();
        out.json()["status"]["clientCertificateData"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = c.csr_creates_settled();
    let first = cert(&env.get(Some(&info), &args));
    assert_eq!(c.csr_creates_settled() - before, 1);

    // 30 minutes later (libfaketime): past the middle of a one-hour
    // certificate's 52-minute serve window (its NotBefore is backdated 5
    // minutes by the signer). Answered with the cached one at once; one
    // background process has the successor signed.
    let later = env.get_at("+30m", &info, &args);
    assert_eq!(cert(&later), first, "answered from the cache");
    assert!(
        eventually(Duration::from_secs(30), || {
            let out = env.get_at("+30m", &info, &args);
            out.code == 0 && cert(&out) != first
        }),
        "the background refresh put a new certificate in the cache"
    );
    assert_eq!(
        c.csr_creates_settled() - before,
        2,
        "one more CSR, from the background"
    );
    assert!(csrs_of(&c, &user).is_empty());
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_documented_cluster_role_is_enough_and_without_approval_rights_it_says_so() {
    use super::admin_contexts::kubeconfig_of;
    let c = Cluster::get();
    let ns = c.namespace("e2e-user-rbac");
    let (user, group) = names(&ns);
    let env = TestEnv::builder().build();
    // The ClusterRole exactly as docs/users.md shows it, and its first rule
    // alone (create, get and delete CSRs; no approval).
    let doc = include_str!("../../../docs/users.md");
    let full = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in docs/users.md");
    let create_only = full
        .split("# Not needed with --no-approve")
        .next()
        .unwrap()
        .replace("kube-sa-token-user-signer", "kube-sa-token-e2e-csr-creator");
    for (name, yaml) in [("full", full.to_string()), ("create-only", create_only)] {
        let file = env.root().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        c.admin(&["apply", "-f", file.to_str().unwrap()]).ok();
    }
    let mut users = Vec::new();
    for (sa, role) in [
        ("signer", "kube-sa-token-user-signer"),
        ("creator", "kube-sa-token-e2e-csr-creator"),
    ] {
        c.admin(&["-n", &ns, "create", "serviceaccount", sa]).ok();
        c.admin(&[
            "create",
            "clusterrolebinding",
            &format!("{ns}-{sa}"),
            &format!("--clusterrole={role}"),
            &format!("--serviceaccount={ns}:{sa}"),
        ])
        .ok();
        let token = c.admin(&["-n", &ns, "create", "token", sa, "--duration", "1h"]);
        token.ok();
        users.push((sa, format!("{{token: \"{}\"}}", token.stdout.trim())));
    }
    let cluster = format!(
        "{{server: \"{}\", certificate-authority: \"{}\"}}",
        c.server,
        c.ca().display()
    );
    let users: Vec<(&str, &str)> = users.iter().map(|(n, b)| (*n, b.as_str())).collect();
    std::fs::write(
        &env.kubeconfig,
        kubeconfig_of(
            &[("test", &cluster)],
            &[("signer", "test", "signer"), ("creator", "test", "creator")],
            &users,
        ),
    )
    .unwrap();

    // With the documented role: setup's checks pass and kubectl is the user.
    env.run(&[
        "setup",
        "--admin-context",
        "signer",
        "--user",
        &user,
        "--group",
        &group,
        "--cache",
        "file",
    ])
    .ok();
    let who = c.kubectl(
        &env,
        &[
            "--context",
            &format!("user:{user}@test"),
            "auth",
            "whoami",
            "-ojsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(username(&who), user);

    // Without the approval rules: setup refuses before writing, get says
    // what is missing and what to do, and leaves no CSR behind.
    let other = format!("{user}-2");
    env.run(&["setup", "--admin-context", "creator", "--user", &other])
        .fails_with("may not update certificatesigningrequests/approval");
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    let out = env.get(
        Some(&info),
        &[
            "--admin-context",
            "creator",
            "--user",
            &other,
            "--cache",
            "file",
        ],
    );
    out.fails_with(
        "may not approve CertificateSigningRequests for kubernetes.io/kube-apiserver-client",
    );
    assert!(out.stderr.contains("--no-approve"), "{}", out.stderr);
    assert_eq!(out.code, 4);
    assert!(csrs_of(&c, &other).is_empty());
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
