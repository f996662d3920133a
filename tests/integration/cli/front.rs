//! The front binary (src/front.rs): `kube-sa-token` serves cache hits
//! itself and runs `kube-sa-token-full`, beside it, for everything else.

#[cfg(target_os = "linux")]
use std::path::Path;
#[cfg(target_os = "linux")]
use std::process::Command;

use super::*;
#[cfg(target_os = "linux")]
use crate::support::Out;

/// `kube-sa-token` alone in a directory of the env's, and with the full
/// program beside it in another.
#[cfg(target_os = "linux")]
fn alone_and_pair(env: &TestEnv) -> (std::path::PathBuf, std::path::PathBuf) {
    let alone = env.root().join("alone");
    std::fs::create_dir(&alone).unwrap();
    std::fs::copy(&*support::BIN, alone.join("kube-sa-token")).unwrap();
    let pair = env.root().join("pair");
    std::fs::create_dir(&pair).unwrap();
    support::copy_program(&support::BIN, &pair, "kube-sa-token");
    (alone, pair)
}

/// `program` in `dir`, run as kubectl runs it: each call from a parent of
/// its own (one caller twice in a row is taken for a client re-running the
/// plugin after a 401, and the token is checked with the server first).
#[cfg(target_os = "linux")]
fn run_in(dir: &Path, env: &TestEnv, info: &str, program: &str, args: &[&str]) -> Out {
    run_under(&[], &[], dir, env, info, program, args)
}

/// [`run_in`] under `prefix` (a command that runs its arguments), with the
/// variables `vars` besides the env's.
#[cfg(target_os = "linux")]
fn run_under(
    prefix: &[&str],
    vars: &[(&str, String)],
    dir: &Path,
    env: &TestEnv,
    info: &str,
    program: &str,
    args: &[&str],
) -> Out {
    let mut c = Command::new(prefix.first().copied().unwrap_or("sh"));
    if !prefix.is_empty() {
        c.args(&prefix[1..]).arg("sh");
    }
    c.args(["-c", "\"$0\" \"$@\"; exit $?"])
        .arg(dir.join(program))
        .args(args);
    env.isolate(&mut c);
    c.env("KUBERNETES_EXEC_INFO", info);
    c.envs(vars.iter().map(|(k, v)| (k, v)));
    Out::from(c.output().unwrap())
}

/// A hit needs nothing but the front binary, in every store `auto` and the
/// user may pick, and it answers byte for byte as the full program does;
/// anything else says which file is missing.
#[cfg(target_os = "linux")]
#[test]
fn a_hit_is_served_by_the_front_binary_alone_and_a_miss_names_the_full_program() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let info = exec_info("v1", Some(&api.server));
    let (alone, pair) = alone_and_pair(&env);
    for store in ["file", "tmpfs", "keyutils", "auto"] {
        let args = [
            "get",
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
            "--cache",
            store,
        ];
        let minted = run_in(&pair, &env, &info, "kube-sa-token", &args);
        minted.ok();
        let hit = run_in(&alone, &env, &info, "kube-sa-token", &args);
        hit.ok();
        assert_eq!(hit.stdout, minted.stdout, "--cache {store}");
        let full = run_in(&pair, &env, &info, "kube-sa-token-full", &args);
        full.ok();
        assert_eq!(
            full.stdout, hit.stdout,
            "--cache {store}: the full program's answer"
        );
    }
    // `auto` (no OS keyring here) found the memory-backed entry that
    // `--cache tmpfs` wrote, and put its kernel copy in front.
    assert_eq!(api.token_requests(), 3, "one mint per store");

    // A miss, a command, a flag only clap reads: the full program's.
    for args in [
        &[
            "get",
            "--admin-context",
            "admin",
            "team/other",
            "--cache",
            "file",
        ][..],
        &[
            "get",
            "-v",
            "--admin-context",
            "admin",
            "team/viewer",
            "--cache",
            "file",
        ][..],
        &["--version"][..],
    ] {
        let out = run_in(&alone, &env, &info, "kube-sa-token", args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!(
                "kube-sa-token: {} is missing: {} runs it for everything but a cached credential; install both (./install.sh, or every file of the release archive)\n",
                alone.join("kube-sa-token-full").display(),
                alone.join("kube-sa-token").display()
            ),
            "{args:?}"
        );
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert_eq!(api.token_requests(), 3);
}

/// Through the pair, what the front hands over keeps its arguments,
/// argv[0], stdin, exit code and stderr: the full program's answer.
#[test]
fn the_full_program_answers_what_the_front_binary_hands_over() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let info = exec_info("v1", Some(&api.server));
    let out = env.get(
        Some(&info),
        &["--admin-context", "admin", "-n", "team", "viewer", "-v"],
    );
    out.ok();
    assert!(
        out.stderr.contains("store:"),
        "-v reaches the full program: {}",
        out.stderr
    );
    let out = env.run(&["get", "--admin-context", "admin", "--bogus"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--bogus"), "{}", out.stderr);
    let out = env.run_with_stdin(&["inspect", "-"], b"not a token");
    assert_ne!(out.code, 0);
    assert!(out.stderr.starts_with("kube-sa-token: "), "{}", out.stderr);
}

/// In a container (keyctl blocked) without a session bus, `auto` keeps
/// its entries in memory-backed files: the front binary reads them itself.
/// Where a session bus might answer, it leaves `auto` to the full program,
/// which asks the Secret Service first.
#[cfg(target_os = "linux")]
#[test]
fn in_a_container_auto_hits_are_the_front_binarys_unless_a_session_bus_may_answer() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let info = exec_info("v1", Some(&api.server));
    let no_keyctl = ["python3", support::NO_KEYCTL];
    let (alone, pair) = alone_and_pair(&env);
    let args = ["get", "--admin-context", "admin", "team/viewer"];
    let minted = run_under(&no_keyctl, &[], &pair, &env, &info, "kube-sa-token", &args);
    minted.ok();
    let hit = run_under(&no_keyctl, &[], &alone, &env, &info, "kube-sa-token", &args);
    hit.ok();
    assert_eq!(hit.stdout, minted.stdout);
    assert!(
        env.runtime_dir().is_dir(),
        "the entry is in the memory-backed directory"
    );
    let bus = [(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", env.root().join("bus").display()),
    )];
    let handed = run_under(
        &no_keyctl,
        &bus,
        &alone,
        &env,
        &info,
        "kube-sa-token",
        &args,
    );
    assert_eq!(handed.code, 1, "{}", handed.stderr);
    assert!(
        handed.stderr.contains("kube-sa-token-full is missing"),
        "{}",
        handed.stderr
    );
    assert_eq!(api.token_requests(), 1);
}

/// A damaged entry is said once, by the full program, which mints anew:
/// the front binary hands it over without a word of its own.
#[test]
fn a_damaged_entry_is_reported_once() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let info = exec_info("v1", Some(&api.server));
    env.get(Some(&info), SA).ok();
    let tokens = env.home.join(".cache/kube-sa-token/tokens");
    let entries: Vec<_> = std::fs::read_dir(&tokens)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::write(&entries[0], "not an entry").unwrap();
    let out = env.get(Some(&info), SA);
    out.ok();
    assert_eq!(
        out.stderr.matches("ignoring a corrupt cache entry").count(),
        1,
        "{}",
        out.stderr
    );
    assert_eq!(api.token_requests(), 2);
}
