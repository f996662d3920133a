//! `logout` and `cache clear` against mints in flight (issue 17, finding 2):
//! they wait for the entry's lock, so a mint already running finishes first
//! and its credential goes with the rest; nothing that started before them
//! puts a credential back (nor, with `--bind-secret`, re-creates its Secret).

use super::admin_contexts::kubeconfig;
use super::*;

/// Whether process `pid` has a file open whose path ends with `suffix`.
fn has_open(pid: u32, suffix: &str) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten().any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|p| p.to_string_lossy().ends_with(suffix))
            })
        })
        .unwrap_or(false)
}

/// An admin exec plugin that announces itself (touches `started`) and then
/// waits, bounded, until the file `gate` exists before it prints `token`.
fn gated_login(env: &TestEnv, token: &str) -> (PathBuf, PathBuf, String) {
    let (started, gate) = (env.root().join("started"), env.root().join("gate"));
    let script = env.root().join("slow-login");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\ni=0\nwhile [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n",
            started.display(),
            gate.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let user = format!(
        "{{exec: {{apiVersion: client.authentication.k8s.io/v1, command: \"{}\", interactiveMode: Never}}}}",
        script.display()
    );
    (started, gate, user)
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn logout_waits_for_a_mint_in_flight_and_nothing_older_puts_it_back() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-logout-race");
    let sa = sa(&ns);
    let token = c.minter_token(&ns);
    let env = TestEnv::builder().build();
    let (started, gate, user) = gated_login(&env, &token);
    let cluster = format!(
        "{{server: \"{}\", certificate-authority: \"{}\"}}",
        c.server,
        c.ca().display()
    );
    let args = [&entry(&sa, "file")[..], &["--bind-secret"]].concat();
    std::fs::write(
        &env.kubeconfig,
        kubeconfig(&cluster, &user, &cluster, "v1", &args),
    )
    .unwrap();
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    let spawn = |cmd: &[&str]| {
        let mut p = env.cmd(&[cmd, &args[..]].concat());
        p.env("KUBERNETES_EXEC_INFO", &info)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        p.spawn().unwrap()
    };

    // A mints: its admin login waits at the gate, with the entry's lock held.
    let minting = spawn(&["get"]);
    assert!(eventually(Duration::from_secs(30), || started.exists()));
    // logout, and another kubectl's get, both waiting for that lock.
    let logout = spawn(&["logout"]);
    assert!(
        eventually(Duration::from_secs(30), || has_open(logout.id(), ".lock")),
        "logout never waited for the entry's lock"
    );
    let waiting = spawn(&["get"]);
    assert!(
        eventually(Duration::from_secs(30), || has_open(waiting.id(), ".lock")),
        "the second get never waited for the entry's lock"
    );
    std::fs::write(&gate, "").unwrap();

    let minting = Out::from(minting.wait_with_output().unwrap());
    minting.ok();
    let logout = Out::from(logout.wait_with_output().unwrap());
    logout.ok();
    assert!(
        logout.stdout.contains("removed the cached token")
            && logout.stdout.contains("revoked: deleted Secret"),
        "logout removed what the mint in flight kept: {}",
        logout.stdout
    );
    // The second get either got the lock before logout (and was served the
    // minted token, before logout returned) or after it, and then refused.
    let waiting = Out::from(waiting.wait_with_output().unwrap());
    assert!(
        waiting.code == 0 || waiting.stderr.contains("while this call waited"),
        "{}: {}",
        waiting.code,
        waiting.stderr
    );

    // After logout: nothing cached, no bound Secret left behind.
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let secrets = c.admin(&["-n", &ns, "get", "secrets", "-o", "name"]);
    secrets.ok();
    assert!(
        !secrets.stdout.contains("kube-sa-token-"),
        "a bound Secret survived logout: {}",
        secrets.stdout
    );

    // A get started after logout mints as usual.
    env.get(Some(&info), &args).ok();
}
