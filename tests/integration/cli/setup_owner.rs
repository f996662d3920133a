//! Issue 33, item 3: root setting up another account's kubeconfig (an
//! agent's) keeps the file that account's, warns when that account could
//! not run the command the entry names, and never follows a link the
//! account could have planted.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// An account that exists only as numbers (root may chown to any).
const AGENT: u32 = 54_321;

/// The env's kubeconfig handed to AGENT in a directory of its own.
fn agents_kubeconfig(env: &TestEnv, api: &FakeApi) -> PathBuf {
    let home = env.root().join("agent-home");
    std::fs::create_dir_all(&home).unwrap();
    let file = home.join("config");
    std::fs::write(&file, api.kubeconfig()).unwrap();
    for p in [&home, &file] {
        std::os::unix::fs::chown(p, Some(AGENT), Some(AGENT)).unwrap();
    }
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    file
}

/// `setup` run by a copy of the binary in `dir`, into `kubeconfig`.
fn setup_with(env: &TestEnv, bin: &Path, kubeconfig: &Path) -> crate::support::Out {
    let mut cmd = Command::new(bin);
    cmd.args(["setup", "--admin-context", "admin", "-n", "team", "viewer"])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--cache", "file"]);
    env.isolate(&mut cmd);
    crate::support::Out::from(cmd.output().unwrap())
}

#[test]
fn an_agents_kubeconfig_stays_the_agents_and_an_unrunnable_command_is_named() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let file = agents_kubeconfig(&env, &api);
    // The binary where only root may enter: a 0700 directory (in root's
    // home, not under /tmp, where setup refuses any command).
    let home = PathBuf::from(std::env::var_os("HOME").unwrap());
    let private = home
        .join(".cache/kube-sa-token/tests")
        .join(format!("setup-owner-{}", std::process::id()));
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let bin = crate::support::copy_program(&crate::support::BIN, &private, "kube-sa-token");
    let out = setup_with(&env, &bin, &file);
    out.ok();
    assert!(
        out.stderr.contains(&format!(
            "uid {AGENT} owns {} but cannot run the entry's command {}: {} is closed to it (mode 700",
            file.display(),
            bin.display(),
            private.display()
        )) && out.stderr.contains("sudo ./install.sh --prefix /usr/local"),
        "{}",
        out.stderr
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (AGENT, AGENT),
        "still the agent's"
    );
    assert_eq!(meta.mode() & 0o777, 0o600);
    let backups: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        backups[0].metadata().unwrap().uid(),
        AGENT,
        "its backup too"
    );

    // (When the agent may run it, nothing is said: fsutil's unit test.)
    std::fs::remove_dir_all(&private).unwrap();
}

#[test]
fn a_link_in_another_accounts_directory_is_not_followed() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let file = agents_kubeconfig(&env, &api);
    // The agent points its "kubeconfig" at a file of root's.
    let victim = env.root().join("roots-file");
    std::fs::write(&victim, api.kubeconfig()).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&victim, &file).unwrap();
    std::os::unix::fs::lchown(&file, Some(AGENT), Some(AGENT)).unwrap();
    let out = setup_with(&env, Path::new(&*crate::support::BIN), &file);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is a link in a directory of another account's; not followed"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), api.kubeconfig());
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0);
}
