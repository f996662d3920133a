//! The broker's loop without a cluster: `serve` minting through the fake
//! API server, `get --broker` asking it; the flags and files it refuses;
//! a broker of another protocol version. (The end-to-end tests run it
//! with two real users against the real control plane.)

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

struct Serve {
    child: Child,
    socket: PathBuf,
    audit: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn policy_for_me() -> String {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    format!(
        "version: 1\nrules:\n  - name: me\n    callers: {{uids: [{uid}]}}\n    serviceAccounts: [\"team/*\"]\n    maxDuration: 2h\n"
    )
}

/// `serve` in `env`, answering once its socket accepts (bounded).
fn serve(env: &TestEnv, policy: &str) -> Serve {
    let dir = env.root().join("broker");
    std::fs::create_dir_all(&dir).unwrap();
    let policy_file = dir.join("policy.yaml");
    std::fs::write(&policy_file, policy).unwrap();
    let socket = dir.join("run/broker.sock");
    let audit = dir.join("audit.jsonl");
    let child = env
        .cmd(&[
            "serve",
            "--admin-context",
            "admin",
            "--cache",
            "tmpfs",
            "--socket",
            socket.to_str().unwrap(),
            "--policy",
            policy_file.to_str().unwrap(),
            "--audit-log",
            audit.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("serve.err")).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not listen: {}",
            std::fs::read_to_string(dir.join("serve.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Serve {
        child,
        socket,
        audit,
    }
}

fn credential_lines(audit: &Path) -> usize {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("\"op\":\"credential\""))
        .count()
}

#[test]
fn get_asks_the_broker_on_a_miss_only() {
    let api = FakeApi::start();
    let broker_env = env_with(&api);
    let broker = serve(&broker_env, &policy_for_me());
    // The client: no kubeconfig at all.
    let client = TestEnv::builder().build();
    let info = exec_info("v1", Some(&api.server));
    let args = [
        "--broker",
        broker.socket.to_str().unwrap(),
        "--service-account",
        "team/viewer",
        "--cache",
        "tmpfs",
    ];
    let first = client.get(Some(&info), &args);
    first.ok();
    let token = first.json()["status"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        claims_of(&token)["sub"],
        "system:serviceaccount:team:viewer"
    );
    let second = client.get(Some(&info), &args);
    second.ok();
    assert_eq!(second.json()["status"]["token"], token.as_str());
    assert_eq!(api.token_requests(), 1);
    assert_eq!(
        credential_lines(&broker.audit),
        1,
        "the hit never touched the socket"
    );
    // Another client's miss: the broker's hit.
    let other = TestEnv::builder().build();
    other.get(Some(&info), &args).ok();
    assert_eq!(api.token_requests(), 1);
    assert_eq!(credential_lines(&broker.audit), 2);
    // Refused by the policy: its reason, exit 6.
    let out = client.get(
        Some(&info),
        &[
            "--broker",
            broker.socket.to_str().unwrap(),
            "--service-account",
            "ops/admin",
        ],
    );
    out.fails_with("allows ServiceAccount ops/admin (its rules: me)");
    assert_eq!(out.code, 6);
}

#[test]
fn broker_flags_and_files_are_checked() {
    let env = TestEnv::builder().build();
    let info = exec_info("v1", Some("https://127.0.0.1:6443"));
    env.get(
        Some(&info),
        &["--broker", "run/broker.sock", "--service-account", "a/b"],
    )
    .fails_with("--broker run/broker.sock: give the socket's absolute path");
    let both = env.get(
        Some(&info),
        &[
            "--broker",
            "/run/x.sock",
            "--admin-context",
            "admin",
            "--service-account",
            "a/b",
        ],
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    // Without the cluster from kubectl, nothing is asked.
    env.get(
        Some(&exec_info("v1", None)),
        &["--broker", "/run/x.sock", "--service-account", "a/b"],
    )
    .fails_with("needs the cluster from kubectl: set `provideClusterInfo: true`");
    env.get(
        Some(&info),
        &[
            "--broker",
            "/nonexistent/broker.sock",
            "--service-account",
            "a/b",
        ],
    )
    .fails_with("the broker at /nonexistent/broker.sock is not running (no socket there)");
    // serve: an invalid policy stops it, with the place.
    let policy = env.root().join("policy.yaml");
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - name: a\n    callers: {uid: [1]}\n",
    )
    .unwrap();
    let out = env.run(&[
        "serve",
        "--admin-context",
        "admin",
        "--policy",
        policy.to_str().unwrap(),
        "--socket",
        env.root().join("s.sock").to_str().unwrap(),
    ]);
    out.fails_with("is invalid: rules[0].callers: unknown field `uid`");
    assert_eq!(out.code, 3);
}

#[test]
fn a_broker_of_another_protocol_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("broker.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        (&conn)
            .write_all(b"{\"v\":2,\"broker\":\"9.9.9\",\"somethingNew\":{}}\n")
            .unwrap();
        line
    });
    let env = TestEnv::builder().build();
    let out = env.get(
        Some(&exec_info("v1", Some("https://127.0.0.1:6443"))),
        &[
            "--broker",
            socket.to_str().unwrap(),
            "--service-account",
            "a/b",
        ],
    );
    out.fails_with("speaks another protocol: it answers in protocol 2 (kube-sa-token 9.9.9), this client speaks 1");
    assert_eq!(out.code, 3);
    let sent = server.join().unwrap();
    assert!(sent.starts_with("{\"v\":1,\"op\":\"credential\""), "{sent}");
}

/// Issue 33, item 22: `--broker` without a path is $KUBE_SA_TOKEN_BROKER,
/// else root's socket; a word after it is its path, said so when it is not
/// one.
#[test]
fn broker_without_a_path_is_the_usual_broker() {
    let env = TestEnv::builder().build();
    let info = exec_info("v1", Some("https://127.0.0.1:6443"));
    let sa = ["--service-account", "a/b"];
    env.get(Some(&info), &[&sa[..], &["--broker"]].concat())
        .fails_with("the broker at /run/kube-sa-token/broker.sock is not running");
    let mut cmd = env.cmd(&[
        "get",
        "--service-account",
        "a/b",
        "--broker",
        "--cache",
        "file",
    ]);
    cmd.env("KUBE_SA_TOKEN_BROKER", "/nonexistent/env.sock")
        .env("KUBERNETES_EXEC_INFO", &info);
    crate::support::Out::from(cmd.output().unwrap())
        .fails_with("the broker at /nonexistent/env.sock is not running");
    env.run(&["whoami", "--broker", "team/viewer"])
        .fails_with("--broker team/viewer: give the socket's absolute path (for the default socket, $KUBE_SA_TOKEN_BROKER else /run/kube-sa-token/broker.sock, put --broker last or before another flag)");
}
