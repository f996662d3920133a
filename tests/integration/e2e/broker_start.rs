//! Issue 33, items 6 and 18: `serve` starts right for whoever runs it. As
//! an ordinary account its defaults are that account's own (no /run, no
//! /var/log); it checks its admin context before any client asks (a
//! rejected credential stops it, missing rights are named); and it prints
//! the exact command its clients type.

use std::io::{BufRead, BufReader};

use super::broker::policy;
use super::*;
use crate::support::user::ordinary_user;

/// An admin kubeconfig (context "admin") that authenticates with `token`.
fn token_kubeconfig(c: &Cluster, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:{}\n    certificate-authority: {}\ncontexts:\n- name: admin\n  context: {{cluster: test, user: u}}\nusers:\n- name: u\n  user:\n    token: {token}\n",
        c.port(),
        c.ca().display()
    )
}

/// Runs `serve` as root with `kubeconfig` until it prints its client
/// command (or exits); returns its stderr so far and its exit status.
fn serve_until_ready(dir: &Path, kubeconfig: &str, policy: &str) -> (String, Option<i32>) {
    std::fs::write(dir.join("admin.kubeconfig"), kubeconfig).unwrap();
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
    let mut child = Command::new(&*support::BIN)
        .args(["serve", "--admin-context", "admin", "--kubeconfig"])
        .arg(dir.join("admin.kubeconfig"))
        .arg("--policy")
        .arg(dir.join("policy.yaml"))
        .arg("--socket")
        .arg(dir.join("sock/broker.sock"))
        .arg("--audit-log")
        .arg(dir.join("audit.jsonl"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // Ends at the client command (ready) or at the end of stderr (exited);
    // the admin check is bounded by serve itself (30 s).
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("clients: ") {
            let _ = child.kill();
            let _ = child.wait();
            return (text, None);
        }
    }
    (text, child.wait().unwrap().code())
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_admin_the_server_rejects_stops_serve_and_missing_rights_are_named() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-serve-start");
    let dir = tempfile::tempdir().unwrap();
    let text = policy(&ns, &ordinary_user());

    let (stderr, code) = serve_until_ready(dir.path(), &token_kubeconfig(&c, "bogus"), &text);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("unauthorized:") && stderr.contains("kubectl --context admin auth whoami"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("sock/broker.sock").exists(),
        "it never listened"
    );

    // An admin the server accepts but that may not mint there: serves,
    // and says so before any client asks.
    c.admin(&["-n", &ns, "create", "serviceaccount", "powerless"])
        .ok();
    let token = c.admin(&["-n", &ns, "create", "token", "powerless"]);
    token.ok();
    let kubeconfig = token_kubeconfig(&c, token.stdout.trim());
    let (stderr, code) = serve_until_ready(dir.path(), &kubeconfig, &text);
    assert_eq!(code, None, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "(system:serviceaccount:{ns}:powerless) may not create serviceaccounts/token in namespace \"{ns}\""
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("clients: kube-sa-token setup NAMESPACE/SERVICEACCOUNT --broker "),
        "{stderr}"
    );
    assert!(!stderr.contains("--broker-owner"), "root: {stderr}");
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn serve_as_an_ordinary_account_uses_its_own_paths_and_prints_the_client_command() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-serve-own");
    let user = ordinary_user();
    let dir = user.workdir("serve-own");
    for f in ["ca.crt", "admin.crt", "admin.key"] {
        user.copy_in(&c.pki().join(f), &dir);
    }
    let admin = dir.join("admin.kubeconfig");
    std::fs::write(
        &admin,
        c.admin_yaml()
            .replace(c.pki().to_str().unwrap(), dir.to_str().unwrap()),
    )
    .unwrap();
    user.give(&admin);
    let policy_file = dir.join("policy.yaml");
    std::fs::write(&policy_file, policy(&ns, &user)).unwrap();
    user.give(&policy_file);
    let bin = user.binary_in(&dir);
    let (run, state) = (dir.join("run"), dir.join("state"));
    let sock = run.join("kube-sa-token/broker.sock");
    // No flag but the admin context and policy; the printed client command
    // is then run word for word (the caller is this same account here: the
    // socket's directory is private to it).
    let out = user.run(
        &dir,
        &[
            ("BIN", bin.to_str().unwrap()),
            ("XDG_RUNTIME_DIR", run.to_str().unwrap()),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
            ("NS", &ns),
            ("SOCK", sock.to_str().unwrap()),
        ],
        r#"mkdir -m 700 "$XDG_RUNTIME_DIR"
"$BIN" serve --kubeconfig admin.kubeconfig --admin-context admin --policy policy.yaml 2>serve.err &
pid=$!
for _ in $(seq 300); do grep -q '^clients: ' serve.err && break; sleep 0.1; done
cmd=$(sed -n 's/^clients: //p' serve.err)
echo "cmd=$cmd"
cmd=${cmd/NAMESPACE\/SERVICEACCOUNT/$NS/viewer}
cmd=${cmd/setup/whoami}
${cmd/kube-sa-token/$BIN} -o json | grep -o '"username": *"[^"]*"'
kill $pid; wait $pid
cat serve.err >&2
"#,
    );
    assert!(
        out.stdout.contains(&format!(
            "cmd=kube-sa-token setup NAMESPACE/SERVICEACCOUNT --broker {} --broker-owner {}",
            sock.display(),
            user.name
        )),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout
            .contains(&format!("system:serviceaccount:{ns}:viewer")),
        "the printed command works: {}{}",
        out.stdout,
        out.stderr
    );
    let audit = state.join("kube-sa-token/audit.jsonl");
    assert!(
        out.stderr
            .contains(&format!("audit log {}", audit.display())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "only this account and root can reach the socket: {} is closed to others",
            run.display()
        )),
        "{}",
        out.stderr
    );
    let logged = std::fs::read_to_string(&audit).unwrap();
    assert!(logged.contains(&format!("{ns}/viewer")), "{logged}");
}
