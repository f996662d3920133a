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

/// Issue 33, item 25: an unknown subcommand gets a tip only when it is a
/// typo of a real one (`bogus` is not a misspelt `logout`), exit 2 either way.
#[test]
fn an_unknown_subcommand_is_suggested_only_a_near_one() {
    let env = TestEnv::builder().build();
    for (word, tip) in [
        ("bogus", None),
        ("status", None),
        ("logotu", Some("'logout'")),
        ("inspcet", Some("'inspect'")),
        ("stup", Some("'setup'")),
    ] {
        let out = env.run(&[word]);
        assert_eq!(out.code, 2, "{word}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("error: unrecognized subcommand '{word}'")),
            "{word}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("Usage: kube-sa-token"),
            "{}",
            out.stderr
        );
        match tip {
            Some(meant) => assert!(
                out.stderr
                    .contains(&format!("tip: a similar subcommand exists: {meant}")),
                "{word}: {}",
                out.stderr
            ),
            None => assert!(!out.stderr.contains("tip:"), "{word}: {}", out.stderr),
        }
    }
}
