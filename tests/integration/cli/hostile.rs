//! Issue 32: what comes from outside the user's control — an API server
//! (or what answers at its address) that sends too much or the wrong
//! thing, and a binary path another user could take over — run through
//! the real binary.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::*;

/// A server that answers every request with 200 and `body` (its length
/// announced, sent in 64 KiB pieces).
fn hostile_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for piece in body.chunks(64 * 1024) {
                    if stream.write_all(piece).is_err() {
                        return;
                    }
                }
            });
        }
    });
    server
}

fn kubeconfig_for(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: fake\n  cluster:\n    server: {server}\ncontexts:\n- name: admin\n  context: {{cluster: fake, user: admin}}\nusers:\n- name: admin\n  user:\n    token: {}\n",
        support::fake_api::ADMIN_TOKEN
    )
}

/// `get` (which mints) against a server answering `body`; it must fail.
fn get_from(body: Vec<u8>) -> support::Out {
    let server = hostile_server(body);
    let env = TestEnv::builder()
        .kubeconfig(kubeconfig_for(&server))
        .build();
    let out = env.get(Some(&exec_info("v1", Some(&server))), SA);
    assert_ne!(out.code, 0, "{}", out.stdout);
    out
}

/// Finding 11: an answer of 64 MiB is cut off at 8 MiB, with an error
/// that says so (not "cannot reach"), and nothing is cached.
#[test]
fn an_oversized_answer_is_cut_off() {
    let out = get_from(vec![b' '; 64 * 1024 * 1024]);
    assert!(
        out.stderr.contains("its answer was larger than 8 MiB")
            && !out.stderr.contains("cannot reach"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

/// Finding 13: a success answer that is not the object asked for is
/// described by kind and place, never quoted.
#[test]
fn an_undecodable_answer_is_never_quoted() {
    let out = get_from(br#""SECRET-ECHO-from-a-pod-proxy""#.to_vec());
    assert!(
        out.stderr.contains("not the JSON expected")
            && out.stderr.contains("create serviceaccounts/token")
            && !out.stderr.contains("SECRET-ECHO")
            && !out.stderr.contains("cannot reach"),
        "{}",
        out.stderr
    );
}

/// Finding 10: run from a directory every user may write (the shape of
/// /tmp), `setup` and `kubeconfig` refuse to write an exec entry that runs
/// it, before asking anything, and `doctor` fails an entry that does.
#[cfg(unix)]
#[test]
fn a_binary_others_could_replace_is_never_written_into_an_exec_entry() {
    use std::os::unix::fs::PermissionsExt;
    let api = FakeApi::start();
    let env = env_with(&api);
    let shared = env.root().join("shared");
    std::fs::create_dir_all(shared.join("mine")).unwrap();
    let bin = support::copy_program(&support::BIN, &shared.join("mine"), "kube-sa-token");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let before = std::fs::read_to_string(&env.kubeconfig).unwrap();
    for args in [
        &["setup", "--admin-context", "admin", "team/viewer"][..],
        &["kubeconfig", "--admin-context", "admin", "team/viewer"][..],
    ] {
        let mut c = std::process::Command::new(&bin);
        env.isolate(&mut c);
        let out = support::Out::from(c.args(args).output().unwrap());
        assert_eq!(out.code, 6, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("not writing an exec entry that runs")
                && out.stderr.contains("every user may write")
                && out
                    .stderr
                    .contains("install kube-sa-token where only you or root can write"),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
    assert_eq!(std::fs::read_to_string(&env.kubeconfig).unwrap(), before);
    assert_eq!(api.token_requests(), 0, "refused before asking anything");
    // In a private directory (not under /tmp, which is refused as above),
    // with the full program beside it writable by every user: the front
    // binary would run whatever is put there.
    let private = std::path::PathBuf::from(std::env::var_os("HOME").unwrap())
        .join(".cache/kube-sa-token/tests")
        .join(format!("hostile-{}", std::process::id()));
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let front = support::copy_program(&support::BIN, &private, "kube-sa-token");
    let full = private.join("kube-sa-token-full");
    std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut c = std::process::Command::new(&front);
    env.isolate(&mut c);
    let out = support::Out::from(
        c.args(["setup", "--admin-context", "admin", "team/viewer"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "{} is writable by every user (mode 777)",
            full.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&env.kubeconfig).unwrap(), before);
    std::fs::remove_dir_all(&private).unwrap();
    // An entry that runs it: doctor fails it.
    let entry = format!(
        "{before}- name: planted\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [get, --admin-context, admin, --service-account, team/viewer]\n      interactiveMode: Never\n      provideClusterInfo: true\n",
        bin.display()
    );
    std::fs::write(&env.kubeconfig, entry).unwrap();
    let out = env.run(&["doctor"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("could be replaced by another local user"),
        "{}",
        out.stdout
    );
}
