//! `get` failures and edge cases: each error is one line with a fix, and a
//! failing call leaves the cache as it was.

use super::*;

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
fn an_auth_provider_admin_context_names_the_plugin_that_replaced_it() {
    let api = FakeApi::start();
    for (provider, replacement) in [
        ("gcp", "gke-gcloud-auth-plugin"),
        ("azure", "kubelogin"),
        ("oidc", "kubelogin"),
    ] {
        let kc = api.kubeconfig().replace(
            &format!("    token: {}\n", crate::support::fake_api::ADMIN_TOKEN),
            &format!(
                "    auth-provider:\n      name: {provider}\n      config: {{id-token: SECRET-ID-TOKEN}}\n"
            ),
        );
        let env = TestEnv::builder().kubeconfig(kc).build();
        let out = env.get(Some(&exec_info("v1", Some(&api.server))), SA);
        out.fails_with(replacement);
        assert!(
            out.stderr.contains(&format!("{provider:?}")),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("SECRET"), "{}", out.stderr);
        assert_eq!(out.code, 3);
    }
    assert_eq!(api.token_requests(), 0);
}

#[cfg(unix)]
/// An admin kubeconfig whose user is an exec plugin running `script`.
fn exec_admin(api: &FakeApi, env: &TestEnv, script: &str) -> String {
    let path = env.root().join("plugin");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    api.kubeconfig().replace(
        &format!("    token: {}\n", crate::support::fake_api::ADMIN_TOKEN),
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n      installHint: install it with make-plugin\n",
            path.display()
        ),
    )
}

#[cfg(unix)]
#[test]
fn admin_exec_plugin_failures_never_quote_what_it_printed() {
    let api = FakeApi::start();
    let env = TestEnv::builder().build();
    let credential = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{}"}}}}"#,
        crate::support::fake_api::ADMIN_TOKEN
    );
    let cases = [
        (
            format!("echo 'Welcome! session SECRET-BANNER'; echo '{credential}'"),
            "did not print an ExecCredential on stdout (not valid JSON at line 1",
        ),
        (
            "echo '{\"token\": \"SECRET-IN-STDOUT\"}'; echo 'SECRET-ON-STDERR' >&2; exit 3".to_string(),
            "failed with exit status 3",
        ),
        (
            r#"echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"SECRET-WRONG-VERSION"}}'"#.to_string(),
            "answered in apiVersion",
        ),
    ];
    for (script, expected) in cases {
        std::fs::write(&env.kubeconfig, exec_admin(&api, &env, &script)).unwrap();
        let out = env.get(Some(&exec_info("v1", Some(&api.server))), SA);
        assert_ne!(out.code, 0);
        let ours: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("kube-sa-token:"))
            .collect();
        assert_eq!(ours.len(), 1, "{}", out.stderr);
        assert!(ours[0].contains(expected), "{}", out.stderr);
        assert!(!ours[0].contains("SECRET"), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // The plugin's own stderr reaches the user, as with kubectl.
    let out = env.get(Some(&exec_info("v1", Some(&api.server))), SA);
    assert!(out.stderr.contains("SECRET-ON-STDERR") || out.code != 0);

    // Not installed: the entry's install hint.
    let missing = api.kubeconfig().replace(
        &format!("    token: {}\n", crate::support::fake_api::ADMIN_TOKEN),
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: no-such-login-plugin\n      interactiveMode: Never\n      installHint: install it with make-plugin\n",
    );
    std::fs::write(&env.kubeconfig, missing).unwrap();
    env.get(Some(&exec_info("v1", Some(&api.server))), SA)
        .fails_with("\"no-such-login-plugin\" was not found (install it with make-plugin)");

    // And a plugin that works: one run, then hits.
    std::fs::write(
        &env.kubeconfig,
        exec_admin(&api, &env, &format!("echo '{credential}'")),
    )
    .unwrap();
    env.get(Some(&exec_info("v1", Some(&api.server))), SA).ok();
    assert_eq!(api.token_requests(), 1);
}

#[test]
fn user_flags_that_do_not_fit_are_usage_errors() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let user = |extra: &[&str]| {
        let mut a = vec![
            "--admin-context",
            "admin",
            "--user",
            "alice",
            "--cache",
            "file",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    with_intact_cache(&api, &env, || {
        for (extra, needle) in [
            (
                &["--audience", "vault"][..],
                "are for ServiceAccount tokens, not --user",
            ),
            (
                &["--bind-secret"][..],
                "are for ServiceAccount tokens, not --user",
            ),
            (
                &["--group", "system:masters"][..],
                "groups starting with \"system:\"",
            ),
            (&["--group", ""][..], "invalid group \"\""),
        ] {
            let args = user(extra);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = env.get(None, &args);
            out.fails_with(needle);
            assert_eq!(out.code, 2, "a usage error: {}", out.stderr);
        }
        env.get(
            None,
            &["--admin-context", "admin", "--user", "system:admin"],
        )
        .fails_with("reserved for Kubernetes components");
        env.get(None, &[SA, &["--no-approve"][..]].concat())
            .fails_with("--no-approve and --csr-timeout work with --user only");
        // clap's own: --group needs --user, --user excludes --service-account.
        let out = env.get(None, &[SA, &["--group", "dev"][..]].concat());
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
        let out = env.get(None, &["--admin-context", "admin", "--group", "dev"]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("--user <NAME>"), "{}", out.stderr);
        let out = env.get(None, &[SA, &["--user", "alice"][..]].concat());
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    });
}
