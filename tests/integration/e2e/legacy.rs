//! The classic token Secret (`--source secret`): revalidation and dead tokens.

use super::*;

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
        env.run(&["cache", "list", "-o", "json"]).json()[0]["tokenSecret"]
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
