//! Fast integration tests: the real binary, run like kubectl runs it, against
//! a fake API server (plain HTTP on loopback). No cluster needed.

pub(crate) use crate::support::fake_api::FakeApi;
pub(crate) use crate::support::{self, TestEnv, exec_info, jwt, now};

pub(crate) const SA: &[&str] = &[
    "--admin-context",
    "admin",
    "--service-account",
    "team/viewer",
    "--cache",
    "file",
];

/// `get` arguments for another SA through context "admin", file store.
pub(crate) fn for_sa(sa: &str) -> [&str; 6] {
    [
        "--admin-context",
        "admin",
        "--service-account",
        sa,
        "--cache",
        "file",
    ]
}

pub(crate) fn env_with(api: &FakeApi) -> TestEnv {
    TestEnv::builder().kubeconfig(api.kubeconfig()).build()
}

pub(crate) fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A cache entry for another SA, made before each error test, must be left
/// byte for byte as it was; nothing else may appear in the cache.
pub(crate) fn with_intact_cache(api: &FakeApi, env: &TestEnv, test: impl FnOnce()) {
    env.get(
        Some(&exec_info("v1", Some(&api.server))),
        &for_sa("team/other"),
    )
    .ok();
    let before = env.cache_snapshot();
    assert_eq!(
        before.len(),
        3,
        "one token file and the index (cache dir), the record of who was served (runtime dir)"
    );
    test();
    assert_eq!(
        env.cache_snapshot(),
        before,
        "the cache was changed by a failing call"
    );
}

#[cfg(target_os = "linux")]
mod broker;
mod cache_list;
mod commands;
#[cfg(unix)]
mod completions;
mod errors;
mod front;
mod get;
mod hostile;
#[cfg(unix)]
mod setup_owner;
mod version;
