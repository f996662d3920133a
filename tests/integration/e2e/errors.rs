//! Errors from a real server (404, 403, TLS, unreachable): the message, and a
//! cache left byte for byte as it was.

use super::*;

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
    // setup meets the same missing right before writing: the same exit code
    // (issue 24, item 10: it was 6 there, 4 here).
    let setup = env.run(&[
        "setup",
        "--kubeconfig",
        weak_kc.to_str().unwrap(),
        "--admin-context",
        "weak",
        "-n",
        &ns,
        "viewer",
        "--dry-run",
    ]);
    setup.fails_with("admin context \"weak\" may not");
    assert_eq!((forbidden.code, setup.code), (4, 4));
    // Every missing right in one line; `--print-rbac` prints the Role that
    // grants exactly them; applied, setup passes (issue 24, item 6).
    assert!(
        setup
            .stderr
            .contains("create serviceaccounts/token in namespace")
            && setup.stderr.contains("get serviceaccounts in namespace"),
        "{}",
        setup.stderr
    );
    assert!(setup.stderr.contains("--print-rbac"), "{}", setup.stderr);
    let rbac = env.run(&[
        "setup",
        "--kubeconfig",
        weak_kc.to_str().unwrap(),
        "--admin-context",
        "weak",
        "-n",
        &ns,
        "viewer",
        "--print-rbac",
    ]);
    rbac.ok();
    assert_eq!(rbac.stdout.matches("verbs:").count(), 2, "{}", rbac.stdout);
    let grant = env.root().join("grant.yaml");
    std::fs::write(&grant, &rbac.stdout).unwrap();
    c.admin(&["apply", "-f", grant.to_str().unwrap()]).ok();
    // The authorizer sees new bindings through an informer: bounded wait.
    let weak = weak_kc.to_str().unwrap();
    let granted = eventually(Duration::from_secs(20), || {
        let args = [
            "setup",
            "--kubeconfig",
            weak,
            "--admin-context",
            "weak",
            "-n",
            &ns,
            "viewer",
            "--dry-run",
        ];
        env.run(&args).code == 0
    });
    assert!(granted, "setup passes once the printed Role is applied");
    c.admin(&["delete", "-f", grant.to_str().unwrap()]).ok();
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
