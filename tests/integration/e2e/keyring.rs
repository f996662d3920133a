//! The real Secret Service (gnome-keyring on a private session bus).

use super::*;

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
fn a_locked_keyring_never_falls_back_to_plaintext_nor_fails_kubectl() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-locked");
    let env = c.env("v1", &entry(&sa(&ns), "keyring"));
    let before = c.token_requests_settled();
    // gnome-keyring owns the Secret Service name, but its login collection
    // is locked (and no prompt can appear: the test has no display). The
    // lookup finds nothing; the write after the mint fails.
    let mut cmd = support::secret_service(true);
    cmd.args([
        "sh",
        "-c",
        r#""$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo; "$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'"#,
    ]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path());
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    let expected = format!("system:serviceaccount:{ns}:viewer");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [&expected, &expected]
    );
    assert!(
        out.stderr.contains("could not be cached")
            && out
                .stderr
                .contains("the keyring is locked or not reachable"),
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
    assert_eq!(
        c.token_requests_settled() - before,
        2,
        "nothing cached: each call mints"
    );
}
