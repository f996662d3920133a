//! kubectl as the ServiceAccount: RBAC, single flight, cluster binding, every kubectl binary, recursion.

use super::*;

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
    assert!(in_kernel_keyring(&key), "keyctl search finds the entry");
    env.run(&["cache", "clear", "--all"]).ok();
    assert!(
        !in_kernel_keyring(&key),
        "cache clear removes the kernel key"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn twenty_concurrent_kubectl_calls_on_a_cold_cache_mint_once() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-stampede");
    let env = c.env("v1", &entry(&sa(&ns), "file"));
    let before = c.token_requests_settled();
    let outs = c.kubectl_concurrently(&env, 20, &list_sas_args(&ns));
    for out in outs {
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
            let listed = c.kubectl_in(&env, &kubectl, &list_sas_args(&ns));
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
