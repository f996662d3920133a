//! `get`: the ExecCredential, caching, single flight, logs.

use super::*;

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

#[cfg(unix)]
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

/// Issue 24 item 10: `-v` says which kubeconfig files the admin context
/// came from, which server, and which store was used.
#[test]
fn verbose_names_the_kubeconfig_files_and_the_store() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let mut args = SA.to_vec();
    args.push("-v");
    let out = env.get(Some(&exec_info("v1", Some(&api.server))), &args);
    out.ok();
    let files = &env.kubeconfig;
    for needle in [
        format!("admin context \"admin\" from {}", files.display()),
        format!("server {}", api.server),
        "store: file, as --cache says".to_string(),
    ] {
        assert!(out.stderr.contains(&needle), "{needle}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("cache lookup"), "-v is not -vv");
}

#[test]
fn legacy_tokens_are_revalidated_with_v1beta1_on_an_old_server() {
    let api = FakeApi::start_old();
    let env = env_with(&api);
    let mut args = SA.to_vec();
    args.extend(["--source", "secret", "--revalidate-interval", "1m"]);
    let info = exec_info("v1", Some(&api.server));
    let first = env.get(Some(&info), &args);
    first.ok();
    assert_eq!(api.reviews(), 0, "a fresh legacy token is not re-checked");
    // Two minutes later it is due: SelfSubjectReview v1 is not served, v1beta1 is.
    let later = env.get_at("+2m", &info, &args);
    later.ok();
    assert_eq!(api.reviews(), 1);
    assert_eq!(
        later.json()["status"]["token"],
        first.json()["status"]["token"],
        "confirmed, not replaced"
    );
}
