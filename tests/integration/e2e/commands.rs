//! The commands besides `get`: setup, kubeconfig export, whoami, inspect, logout, and errors from a real server.

use super::*;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_writes_a_working_context_and_is_idempotent() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-setup");
    let env = c.admin_env();
    // ~/.kube/config is a link into a dotfiles checkout, as many have it.
    let real = env.root().join("dotfiles-kubeconfig");
    std::fs::rename(&env.kubeconfig, &real).unwrap();
    std::os::unix::fs::symlink(&real, &env.kubeconfig).unwrap();
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
    let backups: Vec<_> = std::fs::read_dir(env.kubeconfig.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("config.kube-sa-token-") && n.ends_with(".bak")
        })
        .collect();
    assert_eq!(backups.len(), 1, "a timestamped backup is kept");
    assert!(
        std::fs::symlink_metadata(&env.kubeconfig)
            .unwrap()
            .file_type()
            .is_symlink(),
        "written through the link, which stays"
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
    // It is never sent to this cluster for a TokenReview: a token another
    // cluster issued is not this one's to see.
    let reviews = c.requests("tokenreviews", None, "POST");
    let bad = env.run(&[
        "inspect",
        "--allow-argv-token",
        &forged,
        "--admin-context",
        "admin",
        "--verify",
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stdout.contains("Signature:        INVALID")
            && bad
                .stdout
                .contains("TokenReview:      not available: not sent"),
        "{}",
        bad.stdout
    );
    assert_eq!(c.requests("tokenreviews", None, "POST"), reviews);
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

/// Issue 17, finding 4: `setup` re-renders the whole file; strings kubectl
/// (a YAML 1.1 reader) would take for bools, numbers or dates in entries of
/// others must stay strings, or kubectl refuses every context in the file.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_leaves_every_string_a_string_for_kubectl() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-yaml11");
    let env = c.admin_env();
    let kubectl = |args: &[&str]| c.kubectl(&env, args);
    kubectl(&[
        "config",
        "set-credentials",
        "other",
        "--exec-command=login",
        "--exec-api-version=client.authentication.k8s.io/v1",
        "--exec-interactive-mode=Never",
        "--exec-env=A=on",
        "--exec-env=B=yes",
        "--exec-env=C=2001-12-14",
        "--exec-env=D=1_000",
        "--exec-env=E=n",
    ])
    .ok();
    kubectl(&[
        "config",
        "set-context",
        "other",
        "--cluster=test",
        "--user=other",
        "--namespace=yes",
    ])
    .ok();
    env.run(&["setup", "--admin-context", "admin", "-n", &ns, "viewer"])
        .ok();
    let view = kubectl(&[
        "config",
        "view",
        "-o",
        "jsonpath={.users[?(@.name==\"other\")].user.exec.env[*].value} {.contexts[?(@.name==\"other\")].context.namespace}",
    ]);
    view.ok();
    let mut values: Vec<&str> = view.stdout.split_whitespace().collect();
    values.sort();
    assert_eq!(values, ["1_000", "2001-12-14", "n", "on", "yes", "yes"]);
    let contexts = kubectl(&["config", "get-contexts", "-o", "name"]);
    let ctx = contexts
        .stdout
        .lines()
        .find(|l| l.contains("/viewer@"))
        .expect("setup's context")
        .to_string();
    assert_eq!(
        username(&kubectl(&[
            "--context",
            &ctx,
            "auth",
            "whoami",
            "-ojsonpath={.status.userInfo.username}",
        ])),
        format!("system:serviceaccount:{ns}:viewer")
    );
}
