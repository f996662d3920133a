//! End-to-end tests against the real control plane (tests/cluster/up.sh):
//! real kube-apiserver, kube-controller-manager and etcd, real kubectl
//! binaries, the real kernel keyring and a real Secret Service. Ignored in a
//! plain `cargo test`; tests/run.sh (the README's test command) runs them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::cluster::{Cluster, eventually};
use support::{Out, TestEnv};

fn sa(ns: &str) -> String {
    format!("{ns}/viewer")
}

/// `get` arguments for `ns_sa` through context "admin" with a store.
fn entry<'a>(ns_sa: &'a str, cache: &'a str) -> [&'a str; 6] {
    [
        "--admin-context",
        "admin",
        "--service-account",
        ns_sa,
        "--cache",
        cache,
    ]
}

fn username(out: &Out) -> String {
    out.ok();
    out.stdout.trim().to_string()
}

fn whoami_args() -> [&'static str; 5] {
    [
        "--context",
        "sa",
        "auth",
        "whoami",
        "-ojsonpath={.status.userInfo.username}",
    ]
}

/// The cache key of the only entry in the env's index.
fn only_key(env: &TestEnv) -> String {
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0]["key"].as_str().unwrap().to_string()
}

fn cached_token_file(env: &TestEnv) -> String {
    let key = only_key(env);
    let entry: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.cache_dir().join("tokens").join(format!("{key}.json"))).unwrap(),
    )
    .unwrap();
    entry["token"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn kubectl_acts_as_the_sa_with_rbac_and_caches_in_keyutils() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-basic");
    let env = c.env("v1", &entry(&sa(&ns), "keyutils"));
    let before = c.token_requests_settled();

    assert_eq!(
        username(&c.kubectl(&env, &whoami_args())),
        format!("system:serviceaccount:{ns}:viewer")
    );
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "the first call mints once"
    );

    // The real authorizer decides: view may list pods, not create configmaps.
    c.kubectl(&env, &["--context", "sa", "-n", &ns, "get", "pods"])
        .ok();
    let denied = c.kubectl(
        &env,
        &["--context", "sa", "-n", &ns, "create", "configmap", "x"],
    );
    assert_ne!(denied.code, 0);
    assert!(denied.stderr.contains("forbidden"), "{}", denied.stderr);
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "second and third calls add no TokenRequest"
    );

    // The entry lives in the kernel, visible to keyctl (which we never ask to print it).
    let key = only_key(&env);
    let found = Command::new("keyctl")
        .args(["search", "@u", "user", &format!("kube-sa-token:{key}")])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "keyctl search: {}",
        String::from_utf8_lossy(&found.stderr)
    );
    env.run(&["cache", "clear", "--all"]).ok();
    let gone = Command::new("keyctl")
        .args(["search", "@u", "user", &format!("kube-sa-token:{key}")])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "cache clear removes the kernel key");
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn twenty_concurrent_kubectl_calls_on_a_cold_cache_mint_once() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-stampede");
    let env = c.env("v1", &entry(&sa(&ns), "file"));
    let before = c.token_requests_settled();
    let children: Vec<_> = (0..20)
        .map(|_| {
            let mut k = Command::new(c.kubectl_path());
            k.args([
                "--context",
                "sa",
                "-n",
                &ns,
                "get",
                "serviceaccounts",
                "-o",
                "name",
            ]);
            env.isolate(&mut k);
            k.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = Out::from(child.wait_with_output().unwrap());
        out.ok();
        assert!(
            out.stdout.contains("serviceaccount/viewer"),
            "{}",
            out.stdout
        );
    }
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "exactly one TokenRequest for 20 cold calls"
    );

    // The file store: 0600 files in 0700 directories.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tokens = env.cache_dir().join("tokens");
    assert_eq!(mode(&env.cache_dir()), 0o700);
    assert_eq!(mode(&tokens), 0o700);
    for f in std::fs::read_dir(&tokens).unwrap().flatten() {
        assert_eq!(mode(&f.path()), 0o600);
    }
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn legacy_secret_source_is_revalidated_and_never_serves_a_dead_token() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-legacy");
    let args = [
        "--admin-context",
        "admin",
        "--service-account",
        &sa(&ns),
        "--cache",
        "file",
        "--source",
        "secret",
        "--create-secret",
        "--revalidate-interval",
        "1s",
    ];
    let env = c.env("v1beta1", &args);
    assert_eq!(
        username(&c.kubectl(&env, &whoami_args())),
        format!("system:serviceaccount:{ns}:viewer")
    );
    let first = cached_token_file(&env);

    // inspect: a legacy token, verified against the cluster.
    let inspect = env.run(&[
        "inspect",
        "--kubeconfig",
        c.admin_kubeconfig.to_str().unwrap(),
        "--admin-context",
        "admin",
        "--service-account",
        &sa(&ns),
        "--source",
        "secret",
        "--cache",
        "file",
        "--verify",
    ]);
    inspect.ok();
    assert!(
        inspect.stdout.contains("legacy Secret-based token"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("Expires:          never"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("Signature:        valid"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains(&format!(
            "authenticated as system:serviceaccount:{ns}:viewer"
        )),
        "{}",
        inspect.stdout
    );
    assert!(!inspect.stdout.contains(&first));

    // Delete the Secret: after the revalidation interval the dead token is
    // dropped and, with --create-secret, a new one is minted.
    let token_secret = |env: &TestEnv| {
        env.run(&["cache", "list", "-o", "json"]).json()[0]["record"]["token_secret"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let secret = token_secret(&env);
    assert!(secret.starts_with("viewer-token-"), "{secret}");
    c.admin(&["-n", &ns, "delete", "secret", &secret]).ok();
    // The API server caches authentication results for up to 10 s, so it
    // rejects the dead token a little later. A call between that moment and
    // our next revalidation may see one 401 (a plugin cannot see 401s); after
    // the revalidation a new token is minted and calls work again.
    assert!(
        eventually(Duration::from_secs(40), || {
            let out = c.kubectl(&env, &whoami_args());
            if out.code != 0 {
                assert!(out.stderr.contains("Unauthorized"), "{}", out.stderr);
                return false;
            }
            assert_eq!(
                out.stdout.trim(),
                format!("system:serviceaccount:{ns}:viewer")
            );
            cached_token_file(&env) != first
        }),
        "the dead token was never replaced"
    );
    assert_ne!(token_secret(&env), secret, "a new Secret was created");

    // Without --create-secret, a deleted Secret makes the call fail cleanly.
    let strict = c.env(
        "v1beta1",
        &args[..args.len() - 3]
            .iter()
            .copied()
            .chain(["--revalidate-interval", "1s"])
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        username(&c.kubectl(&strict, &whoami_args())),
        format!("system:serviceaccount:{ns}:viewer")
    );
    c.admin(&["-n", &ns, "delete", "secret", &token_secret(&strict)])
        .ok();
    let mut failed = None;
    assert!(
        eventually(Duration::from_secs(40), || {
            // One 401 may come first (see above); then our clear error.
            let out = c.kubectl(&strict, &whoami_args());
            let done = out.code != 0 && !out.stderr.contains("Unauthorized");
            failed = Some(out);
            done
        }),
        "the dead token kept working"
    );
    let failed = failed.unwrap();
    assert!(
        failed.stderr.contains("has no token Secret"),
        "{}",
        failed.stderr
    );
    assert!(
        std::fs::read_dir(strict.cache_dir().join("tokens"))
            .unwrap()
            .next()
            .is_none(),
        "the dead token was dropped from the cache"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_different_cluster_server_is_refused() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-binding");
    // Same API server under another name: still not the server the admin
    // context mints for, so no token may go there.
    let other = c.server.replace("127.0.0.1", "localhost");
    let kc = c.kubeconfig_with_exec("sa", "v1", &entry(&sa(&ns), "file"), &other);
    let env = TestEnv::builder().kubeconfig(kc).build();
    let before = c.token_requests_settled();
    let out = c.kubectl(&env, &whoami_args());
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("cluster binding"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&other) && out.stderr.contains(&c.server),
        "names both servers: {}",
        out.stderr
    );
    assert_eq!(c.token_requests_settled(), before, "nothing minted");
}

/// The client minor version a kubectl reports (`version --client`).
fn client_minor(kubectl: &Path) -> u32 {
    let out = Command::new(kubectl)
        .args(["version", "--client", "-o", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["clientVersion"]["minor"]
        .as_str()
        .unwrap_or("0")
        .trim_end_matches('+')
        .parse()
        .unwrap_or(0)
}

/// kubectl binaries: the one built for the cluster, the `kubectl` on PATH,
/// and the versioned ones next to it (google-cloud-cli ships kubectl.1.27 ...).
fn kubectls(c: &Cluster) -> Vec<(PathBuf, u32)> {
    let mut found = vec![c.kubectl_path()];
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    });
    if let Some(k) = on_path {
        found.push(k.clone());
        if let Some(dir) = k.canonicalize().ok().as_deref().and_then(Path::parent) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with("kubectl.1.") {
                    found.push(e.path());
                }
            }
        }
    }
    let mut out: Vec<(PathBuf, u32)> = found
        .into_iter()
        .map(|k| {
            let minor = client_minor(&k);
            (k, minor)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn every_kubectl_on_the_machine_authenticates_with_v1_and_v1beta1() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-kubectls");
    let mut ran = Vec::new();
    for version in ["v1", "v1beta1"] {
        let env = c.env(version, &entry(&sa(&ns), "file"));
        for (kubectl, minor) in kubectls(&c) {
            let listed = c.kubectl_in(
                &env,
                &kubectl,
                &[
                    "--context",
                    "sa",
                    "-n",
                    &ns,
                    "get",
                    "serviceaccounts",
                    "-o",
                    "name",
                ],
            );
            assert!(
                listed.code == 0 && listed.stdout.contains("viewer"),
                "{} ({version}): {}",
                kubectl.display(),
                listed.stderr
            );
            // SelfSubjectReview v1 is known to kubectl 1.28 and later.
            if minor >= 28 {
                let who = c.kubectl_in(&env, &kubectl, &whoami_args());
                assert_eq!(
                    username(&who),
                    format!("system:serviceaccount:{ns}:viewer"),
                    "{}",
                    kubectl.display()
                );
            }
            ran.push(format!("{} (1.{minor}) {version}", kubectl.display()));
        }
    }
    eprintln!("authenticated with: {}", ran.join(", "));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn keyring_store_with_a_real_secret_service() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-keyring");
    let env = c.env("v1", &entry(&sa(&ns), "keyring"));
    let before = c.token_requests_settled();
    // A private session bus where gnome-keyring owns the Secret Service name
    // and its login collection is unlocked before the first client call.
    let script = r#"
set -e
"$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo
"$KUBECTL" --context sa -n "$NS" get serviceaccounts -o name >/dev/null
echo "--- secret-tool"
# Only the attribute lines: the secret itself is never printed.
secret-tool search --all service kube-sa-token 2>&1 | grep '^attribute\.' || true
echo "--- auto"
"$BIN" doctor --cache auto | head -n 1
"#;
    let mut cmd = support::secret_service(false);
    cmd.args(["sh", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path())
        .env("NS", &ns)
        .env("BIN", &*support::BIN);
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    assert!(
        out.stdout
            .starts_with(&format!("system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let key = only_key(&env);
    assert!(
        out.stdout.contains("attribute.service = kube-sa-token"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("attribute.username = {key}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--cache auto picks keyring"),
        "{}",
        out.stdout
    );
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "one TokenRequest for two kubectl calls"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_locked_keyring_is_an_error_never_a_plaintext_fallback() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-locked");
    let env = c.env("v1", &entry(&sa(&ns), "keyring"));
    // gnome-keyring owns the Secret Service name, but its login collection
    // is locked (and no prompt can appear: the test has no display).
    let mut cmd = support::secret_service(true);
    cmd.args(["sh", "-c", r#""$KUBECTL" --context sa auth whoami"#]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path());
    let out = Out::from(cmd.output().unwrap());
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("the keyring is locked or not reachable"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("--cache keyutils|file"),
        "{}",
        out.stderr
    );
    assert!(
        !env.cache_dir().join("tokens").exists(),
        "no plaintext fallback"
    );
    assert!(
        env.run(&["cache", "list"])
            .stdout
            .contains("no cached entries")
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_writes_a_working_context_and_is_idempotent() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-setup");
    let env = c.admin_env();
    let dry = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
        "--dry-run",
    ]);
    dry.ok();
    assert!(
        dry.stdout.contains("provideClusterInfo: true"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&env.kubeconfig).unwrap(),
        c.admin_yaml(),
        "dry run writes nothing"
    );

    let out = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
    ]);
    out.ok();
    let context = format!("{ns}/viewer@test");
    assert_eq!(
        out.stdout.trim(),
        format!("kubectl --context {context} auth whoami")
    );
    let first = std::fs::read(&env.kubeconfig).unwrap();
    assert!(
        env.kubeconfig
            .with_file_name("config.kube-sa-token.bak")
            .exists(),
        "backup kept"
    );

    // The printed command, word for word.
    let who = c.kubectl(&env, &["--context", &context, "auth", "whoami"]);
    who.ok();
    assert!(
        who.stdout
            .contains(&format!("system:serviceaccount:{ns}:viewer")),
        "{}",
        who.stdout
    );
    env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
    ])
    .ok();
    assert_eq!(
        std::fs::read(&env.kubeconfig).unwrap(),
        first,
        "second setup leaves the file byte-identical"
    );

    // doctor on this healthy setup.
    let doc = env.run(&[
        "doctor",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "--cache",
        "file",
    ]);
    doc.ok();
    assert!(
        doc.stdout.contains(&format!("user \"{context}\"")) && doc.stdout.contains("well-formed"),
        "{}",
        doc.stdout
    );
    assert!(
        doc.stdout.contains("may create serviceaccounts/token"),
        "{}",
        doc.stdout
    );
    assert!(doc.stdout.contains("clock offset"), "{}", doc.stdout);
    assert!(!doc.stdout.contains("FAIL"), "{}", doc.stdout);

    // setup refuses an SA that does not exist, and says what to do.
    env.run(&["setup", "--admin-context", "admin", "-n", &ns, "ghost"])
        .fails_with("kubectl create serviceaccount");
    assert_eq!(std::fs::read(&env.kubeconfig).unwrap(), first);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn exported_kubeconfig_with_an_embedded_token_needs_no_plugin() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-export");
    let env = c.admin_env();
    let out = env.run(&[
        "kubeconfig",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--embed-token",
        "--cache",
        "file",
    ]);
    out.ok();
    assert!(out.stderr.contains("expires at"), "{}", out.stderr);
    let file = env.root().join("exported.kubeconfig");
    std::fs::write(&file, &out.stdout).unwrap();
    // kubectl alone: no plugin on PATH, no other kubeconfig.
    let empty = env.root().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let mut k = Command::new(c.kubectl_path());
    k.args([
        "--kubeconfig",
        file.to_str().unwrap(),
        "auth",
        "whoami",
        "-ojsonpath={.status.userInfo.username}",
    ]);
    env.isolate(&mut k);
    k.env("PATH", &empty);
    assert_eq!(
        username(&Out::from(k.output().unwrap())),
        format!("system:serviceaccount:{ns}:viewer")
    );

    // The classic way: a legacy token with the Secret's ca.crt, and a warning.
    let legacy = env.run(&[
        "kubeconfig",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--embed-token",
        "--source",
        "secret",
        "--create-secret",
        "--cache",
        "file",
    ]);
    legacy.ok();
    assert!(legacy.stderr.contains("never expires"), "{}", legacy.stderr);
    std::fs::write(&file, &legacy.stdout).unwrap();
    let who = Out::from(k.output().unwrap());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn whoami_and_inspect_of_a_bound_token() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-whoami");
    let env = c.admin_env();
    let who = env.run(&[
        "whoami",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
    ]);
    who.ok();
    assert!(
        who.stdout
            .contains(&format!("Username:  system:serviceaccount:{ns}:viewer")),
        "{}",
        who.stdout
    );
    assert!(who.stdout.contains("(Kubernetes v1."), "{}", who.stdout);
    let json = env
        .run(&[
            "whoami",
            "--admin-context",
            "admin",
            "-n",
            &ns,
            "viewer",
            "--cache",
            "file",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(
        json["userInfo"]["username"],
        format!("system:serviceaccount:{ns}:viewer")
    );

    let inspect = env.run(&[
        "inspect",
        "--admin-context",
        "admin",
        "--service-account",
        &sa(&ns),
        "--cache",
        "file",
        "--verify",
    ]);
    inspect.ok();
    assert!(
        inspect.stdout.contains("bound token (TokenRequest)"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect
            .stdout
            .contains(&format!("Issuer:           {}", c.server)),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("Signature:        valid"),
        "{}",
        inspect.stdout
    );
    assert!(
        inspect.stdout.contains("JWT ID:") && !inspect.stdout.contains("JWT ID:           -"),
        "{}",
        inspect.stdout
    );
    let j = env
        .run(&[
            "inspect",
            "--admin-context",
            "admin",
            "--service-account",
            &sa(&ns),
            "--cache",
            "file",
            "-o",
            "json",
        ])
        .json();
    assert_eq!(j["kind"], "bound");
    assert_eq!(j["serviceAccount"]["name"], "viewer");
    // A token from another cluster's key does not verify.
    let forged = support::jwt(
        serde_json::json!({"iss": c.server, "sub": format!("system:serviceaccount:{ns}:viewer"), "exp": support::now() + 600}),
    );
    let bad = env.run(&["inspect", &forged, "--admin-context", "admin", "--verify"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stdout.contains("Signature:        INVALID")
            && bad.stdout.contains("NOT authenticated"),
        "{}",
        bad.stdout
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn logout_with_bind_secret_revokes_the_token_on_the_server() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-logout");
    let env = c.admin_env();
    let entry = [
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--bind-secret",
        "--cache",
        "file",
    ];
    let mut export = vec!["kubeconfig", "--embed-token"];
    export.extend_from_slice(&entry);
    let out = env.run(&export);
    out.ok();
    let file = env.root().join("old-token.kubeconfig");
    std::fs::write(&file, &out.stdout).unwrap();
    let direct = || {
        let mut k = Command::new(c.kubectl_path());
        k.args([
            "--kubeconfig",
            file.to_str().unwrap(),
            "get",
            "--raw",
            "/version",
        ]);
        env.isolate(&mut k);
        Out::from(k.output().unwrap())
    };
    direct().ok();
    let bound = env.run(&[
        "inspect",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "--service-account",
        "viewer",
        "--bind-secret",
        "--cache",
        "file",
    ]);
    bound.ok();
    assert!(
        bound
            .stdout
            .contains("Bound to:         Secret kube-sa-token-viewer-"),
        "{}",
        bound.stdout
    );

    let mut logout = vec!["logout"];
    logout.extend_from_slice(&entry);
    let out = env.run(&logout);
    out.ok();
    assert!(
        out.stdout.contains("revoked: deleted Secret"),
        "{}",
        out.stdout
    );
    assert!(
        eventually(Duration::from_secs(90), || {
            let r = direct();
            r.code != 0 && r.stderr.contains("Unauthorized")
        }),
        "the old token still works on the server after logout"
    );
    assert!(
        env.run(&["cache", "list"])
            .stdout
            .contains("no cached entries")
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn errors_on_a_real_server_leave_the_cache_intact() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-errors");
    let env = c.env("v1", &entry(&sa(&ns), "file"));
    c.kubectl(&env, &["--context", "sa", "-n", &ns, "get", "sa"])
        .ok();
    let before = env.cache_snapshot();
    let admin_kc = c.admin_kubeconfig.to_str().unwrap().to_string();
    let get = |kc: &str, ctx: &str, sa: &str| {
        env.get(
            None,
            &[
                "--kubeconfig",
                kc,
                "--admin-context",
                ctx,
                "--service-account",
                sa,
                "--cache",
                "file",
            ],
        )
    };

    // 404: the ServiceAccount does not exist.
    get(&admin_kc, "admin", &format!("{ns}/ghost"))
        .fails_with(&format!("serviceaccount {ns}/ghost not found"));

    // 403: an admin context without the right to mint.
    c.admin(&["-n", &ns, "create", "serviceaccount", "weak"])
        .ok();
    let weak_token = c.admin(&["-n", &ns, "create", "token", "weak"]);
    weak_token.ok();
    let weak_kc = env.root().join("weak.kubeconfig");
    std::fs::write(
        &weak_kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\ncontexts:\n- name: weak\n  context: {{cluster: test, user: weak}}\nusers:\n- name: weak\n  user: {{token: \"{}\"}}\n",
            c.server,
            c.ca().display(),
            weak_token.stdout.trim()
        ),
    )
    .unwrap();
    let forbidden = get(weak_kc.to_str().unwrap(), "weak", &sa(&ns));
    forbidden.fails_with("forbidden: admin context \"weak\" may not create serviceaccounts/token");
    assert!(!forbidden.stderr.contains(weak_token.stdout.trim()));
    // doctor on that broken setup says what is missing.
    let doc = env.run(&[
        "doctor",
        "--kubeconfig",
        weak_kc.to_str().unwrap(),
        "--admin-context",
        "weak",
        "-n",
        &ns,
        "--cache",
        "file",
    ]);
    assert_ne!(doc.code, 0);
    assert!(
        doc.stdout
            .contains("FAIL  admin context \"weak\" may not create serviceaccounts/token"),
        "{}",
        doc.stdout
    );

    // TLS: the admin context trusts another CA.
    let wrong_ca = env.root().join("wrong-ca.crt");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(env.root().join("wrong-ca.key"))
        .arg("-out")
        .arg(&wrong_ca)
        .args(["-days", "1", "-subj", "/CN=wrong-ca"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let tls_kc = env.root().join("tls.kubeconfig");
    std::fs::write(
        &tls_kc,
        std::fs::read_to_string(&c.admin_kubeconfig)
            .unwrap()
            .replace(c.ca().to_str().unwrap(), wrong_ca.to_str().unwrap()),
    )
    .unwrap();
    // (Another SA: viewer's token is cached, and a cache hit makes no request.)
    get(tls_kc.to_str().unwrap(), "admin", &format!("{ns}/weak")).fails_with("TLS failure");

    // Unreachable: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead_kc = env.root().join("dead.kubeconfig");
    let dead_server = format!("https://127.0.0.1:{port}");
    std::fs::write(
        &dead_kc,
        std::fs::read_to_string(&c.admin_kubeconfig)
            .unwrap()
            .replace(&c.server, &dead_server),
    )
    .unwrap();
    get(dead_kc.to_str().unwrap(), "admin", &sa(&ns))
        .fails_with(&format!("cannot reach the API server {dead_server}"));

    assert_eq!(
        env.cache_snapshot(),
        before,
        "failed calls changed the cache"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_admin_context_that_runs_this_plugin_again_fails_fast() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-loop");
    // Context "sa" mints through admin context "sa": itself.
    let env = c.env(
        "v1",
        &[
            "--admin-context",
            "sa",
            "--service-account",
            &sa(&ns),
            "--cache",
            "file",
        ],
    );
    let mut kc = std::fs::read_to_string(&env.kubeconfig).unwrap();
    kc = kc.replace(
        &format!("--kubeconfig\n      - {}", c.admin_kubeconfig.display()),
        "--kubeconfig\n      - KC",
    );
    std::fs::write(
        &env.kubeconfig,
        kc.replace("- KC", &format!("- {}", env.kubeconfig.display())),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let out = c.kubectl(&env, &["--context", "sa", "get", "--raw", "/version"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("recursion"), "{}", out.stderr);
    assert!(
        out.stderr.contains("\"sa\""),
        "names the context: {}",
        out.stderr
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}
