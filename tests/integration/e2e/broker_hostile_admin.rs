//! Issue 32, the broker's own side against hostile users: a policy file
//! others could change (finding 8), a CA bundle holding a key (9), and an
//! admin login that hangs (12), on the real control plane.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use serde_json::{Value, json};

use super::broker_hostile::sa_request;
use super::*;
use crate::support::broker::Broker;
use crate::support::user::allowed_user;

fn status(broker: &Broker) -> Value {
    broker.raw(b"{\"v\":1,\"op\":\"status\"}\n")
}

fn mode(path: &Path, m: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap();
}

/// The admin kubeconfig with its CA given as a file the test chooses, and
/// its user `user` (YAML, indented as a `user:` body).
fn admin_yaml(c: &Cluster, ca: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {ca}\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user:\n{user}",
        c.server
    )
}

fn cert_user(c: &Cluster) -> String {
    format!(
        "    client-certificate: {}\n    client-key: {}\n",
        c.pki().join("admin.crt").display(),
        c.pki().join("admin.key").display()
    )
}

/// Findings 8 and 9: `serve` refuses a policy others could change, at the
/// start and at a reload (the last safe one stays, and the status says
/// why); its status hands out the CA's certificates, never a key that
/// shares their file.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_unsafe_policy_is_refused_and_a_key_never_leaves_the_ca_file() {
    let c = Cluster::get();
    let allowed = allowed_user();
    let policy = format!(
        "version: 1\nrules:\n  - name: allowed\n    callers: {{users: [{}]}}\n    serviceAccounts: [\"x/viewer\"]\n",
        allowed.name
    );
    // The CA bundle with the admin's private key in it.
    let bundle = format!(
        "{}{}",
        std::fs::read_to_string(c.ca()).unwrap(),
        std::fs::read_to_string(c.pki().join("admin.key")).unwrap()
    );
    let broker = Broker::start_with_admin(
        "hostile-policy",
        &policy,
        &admin_yaml(&c, "$DIR/ca-bundle.pem", &cert_user(&c)),
        &[("ca-bundle.pem", &bundle)],
    );
    let s = status(&broker);
    let ca = s["status"]["caPem"].as_str().unwrap();
    assert!(
        ca.contains("BEGIN CERTIFICATE") && !ca.contains("PRIVATE KEY"),
        "{s}"
    );
    assert!(
        broker.log().contains("besides certificates"),
        "{}",
        broker.log()
    );

    // Made writable by others after the start: the reload refuses it, the
    // policy in force stays, and the status says why.
    mode(&broker.policy, 0o666);
    let s = status(&broker);
    let error = s["status"]["policyError"].as_str().unwrap_or_default();
    assert!(error.contains("writable by every user"), "{s}");
    assert_eq!(s["status"]["policyRules"], 1, "{s}");
    let a = broker.ask_as(&allowed, &json!({"v": 1, "op": "status"}));
    assert_eq!(a["status"]["yourRules"][0], "allowed", "{a}");

    // At the start: refused, with the way out.
    let out = Command::new(&*support::BIN)
        .args(["serve", "--admin-context", "admin"])
        .arg("--kubeconfig")
        .arg(&broker.admin)
        .arg("--policy")
        .arg(&broker.policy)
        .arg("--socket")
        .arg(broker.dir.join("second.sock"))
        .arg("--audit-log")
        .arg(broker.dir.join("second.jsonl"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("writable by every user") && err.contains("chmod go-w"),
        "{err}"
    );
    mode(&broker.policy, 0o600);
}

/// Finding 12: an admin login that hangs holds neither the caller nor a
/// place beyond the mint deadline (30 s); the plugin and what it started
/// are ended with their process group, and others are served meanwhile.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_hung_admin_login_is_ended_at_the_deadline() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-hung");
    let allowed = allowed_user();
    let policy = format!(
        "version: 1\nrules:\n  - name: allowed\n    callers: {{users: [{}]}}\n    serviceAccounts: [\"{ns}/viewer\"]\n",
        allowed.name
    );
    // A login that works once (`serve`'s start-up check), then never ends,
    // with a child of its own.
    let token = c.minter_token(&ns);
    let hang = format!(
        "#!/bin/sh\nif [ ! -e $DIR/logged-in ]; then\n  touch $DIR/logged-in\n  echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n  exit 0\nfi\necho $$ > $DIR/plugin.pid\nsleep 300 &\necho $! > $DIR/child.pid\nwait\n"
    );
    let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: $DIR/hang.sh\n      interactiveMode: Never\n";
    let broker = Broker::start_with_admin(
        "hostile-hung",
        &policy,
        &admin_yaml(&c, c.ca().to_str().unwrap(), user),
        &[("hang.sh", &hang)],
    );
    let asked = Instant::now();
    let mut mint = broker.hostile_spawn(&allowed, &["ask"]);
    let request = sa_request(&c, &ns, "viewer", json!({"durationSecs": 3600}));
    // Written whole and closed: the caller sends its request at once.
    let mut stdin = mint.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, format!("{request}\n").as_bytes()).unwrap();
    drop(stdin);
    // Served meanwhile.
    let pid_file = broker.dir.join("plugin.pid");
    assert!(
        eventually(Duration::from_secs(10), || pid_file.exists()),
        "the plugin did not start: {}",
        broker.log()
    );
    let a = broker.ask_as(&allowed, &json!({"v": 1, "op": "status"}));
    assert!(a["status"].is_object(), "{a}");
    let out = mint.wait_with_output().unwrap();
    let took = asked.elapsed();
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["error"]["code"], "failed", "{a}");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("could not mint within 30s"),
        "{a}"
    );
    assert!(
        took >= Duration::from_secs(25) && took < Duration::from_secs(50),
        "{took:?}"
    );
    // Alive: in /proc and not a zombie (an orphan's reaper may be slow).
    let alive = |file: &str| {
        let pid = std::fs::read_to_string(broker.dir.join(file)).unwrap();
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|s| !s.trim_start().starts_with('Z'))
        })
    };
    assert!(
        eventually(Duration::from_secs(10), || !alive("plugin.pid")
            && !alive("child.pid")),
        "the plugin or its child outlived the deadline"
    );
    let audit = broker.audit_lines();
    assert!(
        audit.iter().any(|l| l["decision"] == "error"
            && l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("could not mint within"))),
        "{audit:?}"
    );
}
