//! What `--version` reports besides the crate's version: the commit it was
//! built from, where the build knows it (`KUBE_SA_TOKEN_COMMIT`, which a
//! release build may set, else `git rev-parse` in a checkout of this
//! project); nothing in a packaged crate without one.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KUBE_SA_TOKEN_COMMIT");
    let commit = std::env::var("KUBE_SA_TOKEN_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(checkout_commit)
        .unwrap_or_default();
    println!("cargo:rustc-env=KUBE_SA_TOKEN_COMMIT={commit}");
}

/// The checked-out commit (12 hex digits), when this is a git checkout.
fn checkout_commit() -> Option<String> {
    if !Path::new(".git").exists() {
        return None;
    }
    // A new commit moves HEAD or a ref: the version follows it.
    for p in [".git/HEAD", ".git/refs", ".git/packed-refs"] {
        if Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && commit.bytes().all(|b| b.is_ascii_hexdigit()) && !commit.is_empty())
        .then_some(commit)
}
