//! `--version` (issue 19): the version people cite, and the commit the
//! build came from where it knows it.

use super::*;

#[test]
fn version_names_the_release_and_the_commit() {
    let env = TestEnv::builder().build();
    let out = env.run(&["--version"]);
    out.ok();
    let line = out.stdout.trim();
    assert!(
        line.starts_with(&format!("kube-sa-token {}", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    // In a git checkout (CI's clone, a developer's tree), the commit too.
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(git) = git.ok().filter(|g| g.status.success()) {
        let head = String::from_utf8_lossy(&git.stdout).trim().to_string();
        assert_eq!(
            line,
            format!(
                "kube-sa-token {} (commit {head})",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}

/// Issue 33, item 15: `version`, as kubectl, tsh and gcloud answer it.
#[test]
fn the_version_subcommand_says_what_version_flag_says() {
    let env = TestEnv::builder().build();
    let flag = env.run(&["--version"]);
    let word = env.run(&["version"]);
    word.ok();
    assert_eq!(word.stdout, flag.stdout);
}
