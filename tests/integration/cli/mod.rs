//! Fast integration tests: the real binary, run like kubectl runs it, against
//! a fake API server (plain HTTP on loopback). No cluster needed.

mod support;

use support::fake_api::FakeApi;
use support::{TestEnv, exec_info, jwt, now};

const SA: &[&str] = &[
    "--admin-context",
    "admin",
    "--service-account",
    "team/viewer",
    "--cache",
    "file",
];

/// `get` arguments for another SA through context "admin", file store.
fn for_sa(sa: &str) -> [&str; 6] {
    [
        "--admin-context",
        "admin",
        "--service-account",
        sa,
        "--cache",
        "file",
    ]
}

fn env_with(api: &FakeApi) -> TestEnv {
    TestEnv::builder().kubeconfig(api.kubeconfig()).build()
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn get_answers_in_the_callers_version_and_caches() {
    let api = FakeApi::start();
    let env = env_with(&api);
    for version in ["v1", "v1beta1"] {
        let out = env.get(Some(&exec_info(version, Some(&api.server))), SA);
        out.ok();
        let v = out.json();
        assert_eq!(
            v["apiVersion"],
            format!("client.authentication.k8s.io/{version}")
        );
        assert_eq!(v["kind"], "ExecCredential");
        let token = v["status"]["token"].as_str().unwrap();
        let claims = claims_of(token);
        assert_eq!(claims["sub"], "system:serviceaccount:team:viewer");
        // expirationTimestamp = exp - max(2m, 20% of 1h) = exp - 12m.
        let ts = time::OffsetDateTime::parse(
            v["status"]["expirationTimestamp"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(ts.unix_timestamp(), claims["exp"].as_i64().unwrap() - 720);
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "stdout carries only the ExecCredential"
        );
    }
    assert_eq!(
        api.token_requests(),
        1,
        "the second call is served from the cache"
    );
}

#[test]
fn absent_exec_info_means_v1beta1_and_uses_the_admin_server() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let out = env.get(None, SA);
    out.ok();
    assert_eq!(
        out.json()["apiVersion"],
        "client.authentication.k8s.io/v1beta1"
    );
    // Same entry as a call with cluster info for the same server.
    env.get(
        Some(&exec_info("v1", Some(&format!("{}/", api.server)))),
        SA,
    )
    .ok();
    assert_eq!(api.token_requests(), 1);
}

#[test]
fn duration_and_audiences_reach_the_token_request() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let mut args = SA.to_vec();
    args.extend([
        "--duration",
        "2h",
        "--audience",
        "vault",
        "--audience",
        "https://kubernetes.default.svc",
    ]);
    let out = env.get(Some(&exec_info("v1", Some(&api.server))), &args);
    out.ok();
    let claims = claims_of(out.json()["status"]["token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        7200
    );
    assert_eq!(
        claims["aud"],
        serde_json::json!(["vault", "https://kubernetes.default.svc"])
    );
    // Another audience set is another entry.
    env.get(Some(&exec_info("v1", Some(&api.server))), SA).ok();
    assert_eq!(api.token_requests(), 2);
}

#[test]
fn cache_file_is_private_and_holds_no_token_in_the_index() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let out = env.get(Some(&exec_info("v1", Some(&api.server))), SA);
    out.ok();
    let token = out.json()["status"]["token"].as_str().unwrap().to_string();
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tokens = env.cache_dir().join("tokens");
    assert_eq!(mode(&env.cache_dir()), 0o700);
    assert_eq!(mode(&tokens), 0o700);
    let files: Vec<_> = std::fs::read_dir(&tokens)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    let index = std::fs::read_to_string(env.cache_dir().join("index.json")).unwrap();
    assert!(!index.contains(&token), "index holds no token");
    assert_eq!(mode(&env.cache_dir().join("index.json")), 0o600);
}

#[test]
fn verbose_logs_never_show_the_token() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let mut args = SA.to_vec();
    args.push("-vv");
    let out = env.get(Some(&exec_info("v1", Some(&api.server))), &args);
    out.ok();
    let token = out.json()["status"]["token"].as_str().unwrap().to_string();
    assert!(
        out.stderr.contains("minting"),
        "debug logs are on: {}",
        out.stderr
    );
    assert!(!out.stderr.contains(&token));
    let sig = token.rsplit('.').next().unwrap();
    assert!(!out.stderr.contains(sig));
    let again = env.get(Some(&exec_info("v1", Some(&api.server))), &args);
    again.ok();
    assert!(again.stderr.contains("cache hit"));
    assert!(!again.stderr.contains(sig));
}

/// A cache entry for another SA, made before each error test, must be left
/// byte for byte as it was; nothing else may appear in the cache.
fn with_intact_cache(api: &FakeApi, env: &TestEnv, test: impl FnOnce()) {
    env.get(
        Some(&exec_info("v1", Some(&api.server))),
        &for_sa("team/other"),
    )
    .ok();
    let before = env.cache_snapshot();
    assert_eq!(before.len(), 2, "one token file and the index");
    test();
    assert_eq!(
        env.cache_snapshot(),
        before,
        "the cache was changed by a failing call"
    );
}

#[test]
fn malformed_exec_info_is_a_clear_error() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        env.get(Some("{nope"), SA)
            .fails_with("malformed KUBERNETES_EXEC_INFO");
        env.get(Some(&exec_info("v1alpha1", None)), SA)
            .fails_with("unsupported ExecCredential apiVersion");
        env.get(Some(r#"{"kind":"Pod"}"#), SA)
            .fails_with("expected \"ExecCredential\"");
    });
}

#[test]
fn unknown_admin_context_names_the_choices() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        let out = env.get(
            None,
            &[
                "--admin-context",
                "prod",
                "--service-account",
                "team/viewer",
                "--cache",
                "file",
            ],
        );
        out.fails_with("context \"prod\" not found");
        assert!(
            out.stderr.contains("available contexts: admin"),
            "{}",
            out.stderr
        );
        assert_eq!(out.code, 3);
    });
}

#[test]
fn missing_service_account_is_a_404_with_a_fix() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        let out = env.get(
            Some(&exec_info("v1", Some(&api.server))),
            &for_sa("team/missing"),
        );
        out.fails_with("serviceaccount team/missing not found");
        assert!(
            out.stderr
                .contains("kubectl create serviceaccount -n team missing"),
            "{}",
            out.stderr
        );
    });
}

#[test]
fn forbidden_names_verb_and_resource() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        let out = env.get(
            Some(&exec_info("v1", Some(&api.server))),
            &for_sa("team/forbidden"),
        );
        out.fails_with("forbidden: admin context \"admin\" may not create serviceaccounts/token");
        assert!(
            out.stderr.contains("in namespace \"team\""),
            "{}",
            out.stderr
        );
    });
}

#[test]
fn unreachable_server_says_so() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        // A port nothing listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let kc = env.root().join("dead.kubeconfig");
        std::fs::write(&kc, api.kubeconfig().replace(&api.server, &dead)).unwrap();
        let out = env.get(
            Some(&exec_info("v1", Some(&dead))),
            &[
                "--kubeconfig",
                kc.to_str().unwrap(),
                "--admin-context",
                "admin",
                "--service-account",
                "team/viewer",
                "--cache",
                "file",
            ],
        );
        out.fails_with("cannot reach the API server");
        assert!(out.stderr.contains(&dead), "{}", out.stderr);
    });
}

#[test]
fn cluster_binding_refuses_another_server() {
    let api = FakeApi::start();
    let env = env_with(&api);
    with_intact_cache(&api, &env, || {
        let other = "https://elsewhere.example:6443";
        let out = env.get(Some(&exec_info("v1", Some(other))), SA);
        out.fails_with("cluster binding");
        assert!(
            out.stderr.contains(other) && out.stderr.contains(&api.server),
            "names both servers: {}",
            out.stderr
        );
        assert_eq!(out.code, 6);
    });
    assert_eq!(
        api.token_requests(),
        1,
        "no token was minted for the other server"
    );
}

#[test]
fn recursion_is_refused_at_once() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let mut c = env.cmd(&[
        "get",
        "--admin-context",
        "admin",
        "--service-account",
        "team/viewer",
        "--cache",
        "none",
    ]);
    c.env("KUBE_SA_TOKEN_CHAIN", "team/viewer via context \"admin\"");
    let out = support::Out::from(c.output().unwrap());
    out.fails_with("recursion");
    assert!(out.stderr.contains("\"admin\""));
    assert_eq!(api.token_requests(), 0);
}

#[test]
fn cache_none_mints_every_time() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let args = [
        "--admin-context",
        "admin",
        "--service-account",
        "team/viewer",
        "--cache",
        "none",
    ];
    env.get(None, &args).ok();
    env.get(None, &args).ok();
    assert_eq!(api.token_requests(), 2);
    assert!(!env.cache_dir().join("tokens").exists());
}

#[test]
fn keyring_without_a_session_bus_is_an_error_not_a_fallback() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let out = env.get(
        None,
        &[
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
            "--cache",
            "keyring",
        ],
    );
    out.fails_with("OS keyring");
    assert!(
        out.stderr.contains("--cache keyutils|file"),
        "{}",
        out.stderr
    );
    assert_eq!(
        api.token_requests(),
        0,
        "nothing minted when the store is unusable"
    );
    assert!(
        !env.cache_dir().join("tokens").exists(),
        "never falls back to plaintext"
    );
}

#[test]
fn concurrent_cold_calls_mint_once() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = env.cmd(&[
                "get",
                "--admin-context",
                "admin",
                "--service-account",
                "team/viewer",
                "--cache",
                "file",
            ]);
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = support::Out::from(c.wait_with_output().unwrap());
            out.ok();
            out.json()["status"]["token"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(api.token_requests(), 1);
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn stale_cached_token_is_replaced() {
    let api = FakeApi::start();
    let env = env_with(&api);
    env.get(None, SA).ok();
    // Overwrite the cached token with one that expires within the margin.
    let tokens = env.cache_dir().join("tokens");
    let file = std::fs::read_dir(&tokens)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let t = now();
    entry["token"] = jwt(serde_json::json!({"sub": "system:serviceaccount:team:viewer", "iat": t - 3500, "exp": t + 100})).into();
    std::fs::write(&file, entry.to_string()).unwrap();
    let out = env.get(None, SA);
    out.ok();
    assert_eq!(api.token_requests(), 2);
    assert_ne!(out.json()["status"]["token"], entry["token"]);
}

#[test]
fn cache_list_and_clear() {
    let api = FakeApi::start();
    let env = env_with(&api);
    env.get(None, SA).ok();
    let list = env.run(&["cache", "list"]);
    list.ok();
    assert!(
        list.stdout.contains("team/viewer")
            && list.stdout.contains("file")
            && list.stdout.contains(&api.server),
        "{}",
        list.stdout
    );
    let json = env.run(&["cache", "list", "-o", "json"]);
    let key = json.json()[0]["key"].as_str().unwrap().to_string();
    env.run(&["cache", "clear", "nonsense"])
        .fails_with("not a cache key");
    env.run(&["cache", "clear", &key]).ok();
    assert!(
        env.run(&["cache", "list"])
            .stdout
            .contains("no cached entries")
    );
    assert_eq!(
        std::fs::read_dir(env.cache_dir().join("tokens"))
            .unwrap()
            .count(),
        0
    );
    env.get(None, SA).ok();
    env.run(&["cache", "clear", "--all"]).ok();
    assert_eq!(
        std::fs::read_dir(env.cache_dir().join("tokens"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn logout_forgets_one_entry_and_says_the_token_lives_on() {
    let api = FakeApi::start();
    let env = env_with(&api);
    env.get(None, SA).ok();
    env.get(None, &for_sa("team/other")).ok();
    let out = env.run(&[
        "logout",
        "--admin-context",
        "admin",
        "--service-account",
        "team/viewer",
        "--cache",
        "file",
    ]);
    out.ok();
    assert!(
        out.stdout
            .contains("removed the cached token of team/viewer"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("stays valid on the server until"),
        "{}",
        out.stdout
    );
    let list = env.run(&["cache", "list"]).stdout;
    assert!(
        list.contains("team/other") && !list.contains("team/viewer"),
        "other entries survive: {list}"
    );
}

#[test]
fn inspect_a_given_token_and_stdin() {
    let env = TestEnv::builder().build();
    let t = now();
    let token = jwt(
        serde_json::json!({"iss": "https://x", "sub": "system:serviceaccount:a:b", "aud": ["x"], "iat": t, "exp": t + 3600,
        "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b", "uid": "u"}, "secret": {"name": "s", "uid": "su"}}}),
    );
    let out = env.run(&["inspect", &token]);
    out.ok();
    assert!(
        out.stdout.contains("bound token") && out.stdout.contains("Secret s (uid su)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&token));
    let mut c = env.cmd(&["inspect", "-", "-o", "json"]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let out = support::Out::from(child.wait_with_output().unwrap());
    assert_eq!(out.json()["subject"], "system:serviceaccount:a:b");
    env.run(&["inspect", "not-a-jwt"])
        .fails_with("not a decodable JWT");
}

#[test]
fn setup_validation_failure_leaves_kubeconfig_alone() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let before = std::fs::read(&env.kubeconfig).unwrap();
    // The fake server does not serve SelfSubjectAccessReview: setup must stop.
    let out = env.run(&["setup", "--admin-context", "admin", "-n", "team", "viewer"]);
    assert_ne!(out.code, 0);
    assert_eq!(std::fs::read(&env.kubeconfig).unwrap(), before);
    env.run(&["setup", "--admin-context", "nope", "-n", "team", "viewer"])
        .fails_with("context \"nope\" not found");
}

#[test]
fn kubeconfig_export_has_an_exec_entry() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let out = env.run(&[
        "kubeconfig",
        "--admin-context",
        "admin",
        "-n",
        "team",
        "viewer",
        "--cache",
        "file",
    ]);
    out.ok();
    let v: serde_yaml::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let exec = &v["users"][0]["user"]["exec"];
    assert_eq!(
        exec["apiVersion"].as_str(),
        Some("client.authentication.k8s.io/v1")
    );
    assert_eq!(exec["provideClusterInfo"].as_bool(), Some(true));
    let args: Vec<&str> = exec["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "get",
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
            "--cache",
            "file"
        ]
    );
    assert_eq!(
        v["clusters"][0]["cluster"]["server"].as_str(),
        Some(api.server.as_str())
    );
    assert_eq!(api.token_requests(), 0, "the exec form needs no token");
}

#[test]
fn version_and_completions() {
    let env = TestEnv::builder().build();
    let v = env.run(&["--version"]);
    v.ok();
    assert!(v.stdout.starts_with("kube-sa-token "));
    let c = env.run(&["completions", "bash"]);
    c.ok();
    assert!(c.stdout.contains("kube-sa-token"));
}

#[test]
fn doctor_reports_a_broken_exec_entry() {
    let api = FakeApi::start();
    let kc = format!(
        "{}- name: broken\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: kube-sa-token\n      args: [get, --admin-context, gone, --service-account, a/b]\n",
        api.kubeconfig()
    );
    let env = TestEnv::builder().kubeconfig(kc).build();
    let out = env.run(&["doctor", "--cache", "file"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stdout
            .contains("ok    the file store can write, read and delete"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL  user \"broken\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("interactiveMode is missing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("admin context \"gone\" not found"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("doctor found"), "{}", out.stderr);
}
