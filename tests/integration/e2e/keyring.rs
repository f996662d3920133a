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
