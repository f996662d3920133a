//! End-to-end tests against the real control plane (tests/cluster/up.sh):
//! real kube-apiserver, kube-controller-manager and etcd, real kubectl
//! binaries, the real kernel keyring and a real Secret Service. Ignored in a
//! plain `cargo test`; tests/run.sh (the README's test command) runs them.

pub(crate) use crate::support::cluster::{Cluster, eventually};
pub(crate) use crate::support::{self, Out, TestEnv};
pub(crate) use std::path::{Path, PathBuf};
pub(crate) use std::process::{Command, Stdio};
pub(crate) use std::time::Duration;

pub(crate) fn sa(ns: &str) -> String {
    format!("{ns}/viewer")
}

/// `get` arguments for `ns_sa` through context "admin" with a store.
pub(crate) fn entry<'a>(ns_sa: &'a str, cache: &'a str) -> [&'a str; 6] {
    [
        "--admin-context",
        "admin",
        "--service-account",
        ns_sa,
        "--cache",
        cache,
    ]
}

pub(crate) fn username(out: &Out) -> String {
    out.ok();
    out.stdout.trim().to_string()
}

pub(crate) fn whoami_args() -> [&'static str; 5] {
    [
        "--context",
        "sa",
        "auth",
        "whoami",
        "-ojsonpath={.status.userInfo.username}",
    ]
}

/// kubectl arguments that list the ServiceAccounts of `ns` as context "sa".
pub(crate) fn list_sas_args(ns: &str) -> [&str; 8] {
    [
        "--context",
        "sa",
        "-n",
        ns,
        "get",
        "serviceaccounts",
        "-o",
        "name",
    ]
}

/// The cache key of the only entry in the env's index.
pub(crate) fn only_key(env: &TestEnv) -> String {
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0]["key"].as_str().unwrap().to_string()
}

/// Whether the kernel's user keyring holds our key for the cache entry
/// `key` (asked with `keyctl`, which is never asked to print it).
pub(crate) fn in_kernel_keyring(key: &str) -> bool {
    Command::new("keyctl")
        .args(["search", "@u", "user", &format!("kube-sa-token:{key}")])
        .output()
        .unwrap()
        .status
        .success()
}

pub(crate) fn cached_token_file(env: &TestEnv) -> String {
    let key = only_key(env);
    let entry: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.cache_dir().join("tokens").join(format!("{key}.json"))).unwrap(),
    )
    .unwrap();
    entry["token"].as_str().unwrap().to_string()
}

mod admin_contexts;
mod anchored;
mod audit;
mod backoff;
mod broker;
mod broker_commands;
mod broker_faults;
mod broker_hostile;
mod broker_hostile_admin;
mod broker_lifecycle;
mod broker_start;
mod build;
mod clearing;
mod clients;
mod commands;
mod day_after;
mod day_after_defaults;
mod day_after_export;
mod errors;
mod exec;
mod keyring;
mod kubectl;
mod kuberc;
mod legacy;
mod many_entries;
mod newcomer;
mod ordinary_user;
mod refresh_ahead;
mod self_heal;
mod setup_checks;
mod stores;
mod trust;
mod trust_impostor;
mod users;
mod users_commands;
mod vault;
mod vault_broker;
mod vault_login;
mod vault_person;
mod walk_docs;
