//! Issue 24, the day after setup: credentials taken elsewhere, an exported
//! kubeconfig that stands alone and the raw token for curl.

use super::*;

/// Item 4: an exported exec kubeconfig works on its own (`KUBECONFIG=FILE
/// kubectl`, from a directory with no other kubeconfig), and `--output-file`
/// writes it (and the embedded variant, which holds a key or token) 0600.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_exported_kubeconfig_stands_alone_and_is_written_private() {
    use std::os::unix::fs::PermissionsExt;
    let c = Cluster::get();
    let ns = c.namespace("e2e-export");
    let env = c.admin_env();
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let kubectl_with = |file: &std::path::Path, args: &[&str]| {
        let mut k = std::process::Command::new(c.kubectl_path());
        k.args(args);
        env.isolate(&mut k);
        k.env("KUBECONFIG", file).current_dir(&elsewhere);
        Out::from(k.output().unwrap())
    };
    // Issue 33, item 11: `-o json` is the same kubeconfig in JSON, which
    // kubectl reads as well.
    for (variant, extra) in [
        ("exec", &[][..]),
        ("embedded", &["--embed-token"][..]),
        ("json", &["-o", "json"][..]),
    ] {
        let file = env.root().join(format!("{variant}.kubeconfig"));
        let file_arg = file.to_str().unwrap();
        let mut args = vec![
            "kubeconfig",
            "--admin-context",
            "admin",
            "-n",
            &ns,
            "viewer",
            "--output-file",
            file_arg,
        ];
        args.extend(extra);
        let out = env.run(&args);
        out.ok();
        assert!(out.stdout.is_empty(), "{variant}: {}", out.stdout);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.starts_with('{'), variant == "json", "{text}");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{variant}");
        let who = kubectl_with(
            &file,
            &[
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        );
        who.ok();
        assert_eq!(
            who.stdout,
            format!("system:serviceaccount:{ns}:viewer"),
            "{variant}"
        );
    }
}

/// Item 9: the classic workflow in one command: `token --ca-file` gives curl
/// what `kubectl get secret ... | base64 -d` gave it, from the cache.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn token_and_ca_file_are_what_curl_needs() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-token");
    let env = c.admin_env();
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
    let ca = env.root().join("ca.crt");
    let context = format!("{ns}/viewer@test");
    let token = env.run(&[
        "token",
        "--context",
        &context,
        "--ca-file",
        ca.to_str().unwrap(),
    ]);
    token.ok();
    let token = token.stdout.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(std::fs::read(&ca).unwrap(), std::fs::read(c.ca()).unwrap());
    let curl = |auth: Option<&str>| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca)
            .arg(format!("{}/api/v1/namespaces/{ns}/pods", c.server));
        if let Some(t) = auth {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    assert_eq!(
        curl(Some(&token)),
        "200",
        "the SA may list pods in its namespace"
    );
    assert_ne!(curl(None), "200");
    // Served from the cache: the same token again.
    let again = env.run(&["token", "--context", &context]);
    again.ok();
    assert_eq!(again.stdout.trim(), token);
}
