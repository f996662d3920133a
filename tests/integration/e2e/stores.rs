//! One entry in several stores: copies under one key listed and removed
//! together, entries that outlive a lost index, a kernel copy that logout
//! counts.

use super::keyring::script_in_secret_service;
use super::*;

/// Two kubeconfig entries for the same token with different `--cache` keep
/// a copy each under one key: both serve hits (no mint ping-pong), `cache
/// list` names every store, and `logout` removes every copy.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn copies_of_one_token_in_several_stores_are_listed_and_all_removed() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-stores");
    let sa = sa(&ns);
    let env = c.env(
        "v1",
        &["--admin-context", "admin", "--service-account", &sa],
    );
    let before = c.token_requests_settled();
    let script = r#"
set -e
get() { "$BIN" get --kubeconfig "$ADMIN" --admin-context admin --service-account "$SA" "$@" >/dev/null; }
get --cache keyring
get --cache file
get --cache keyutils
get --cache keyring
get --cache file
KEY=$("$BIN" cache list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
"$BIN" cache list | tail -n 1 | grep -o "keyutils, also file, also keyring" || "$BIN" cache list
echo "--- logout"
"$BIN" logout --kubeconfig "$ADMIN" --admin-context admin --service-account "$SA" | head -n 1
secret-tool search --all service kube-sa-token 2>&1 | grep -c "^attribute.username = $KEY" || true
keyctl search @u user "kube-sa-token:$KEY" >/dev/null 2>&1 || echo "no keyutils key"
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null 2>&1 || echo "no kernel copy"
ls "$XDG_CACHE_HOME/kube-sa-token/tokens" | wc -l
"$BIN" cache list
"#;
    let out = script_in_secret_service(&c, &env, script, ("SA", &sa));
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "keyutils, also file, also keyring",
        "{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(
        c.token_requests_settled() - before,
        3,
        "one mint per store, then hits in each"
    );
    let after: Vec<&str> =
        lines[lines.iter().position(|l| *l == "--- logout").unwrap() + 1..].to_vec();
    assert!(
        after[0].starts_with("removed the cached token"),
        "{after:?}"
    );
    assert_eq!(after[1], "0", "no keyring item: {after:?}");
    assert_eq!(after[2], "no keyutils key");
    assert_eq!(after[3], "no kernel copy");
    assert_eq!(after[4], "0", "no token file: {after:?}");
    assert!(after[5].contains("no cached entries"), "{after:?}");
}

/// Issue 17, finding 16: with `index.json` lost or damaged, `cache list`
/// still shows the entries the stores hold (found in the stores
/// themselves), and `cache clear --all` removes them from every store.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn entries_outlive_a_lost_index_and_are_still_listed_and_cleared() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-orphans");
    let env = c.env("v1", &["--admin-context", "admin"]);
    let script = r#"
set -e
get() { "$BIN" get --kubeconfig "$ADMIN" --admin-context admin --service-account "$1" --cache "$2" >/dev/null; }
get "$NS/viewer" keyring
get "$NS/viewer" keyutils
get "$NS/other" file
echo "--- lost"
rm "$XDG_CACHE_HOME/kube-sa-token/index.json"
mine() { python3 -c 'import json,os,sys; print(sorted((e["identity"], e["store"], e["alsoIn"], e["adminContext"]) for e in json.load(sys.stdin) if e["identity"].startswith(os.environ["NS"] + "/")))'; }
KEY=$("$BIN" cache list -o json | python3 -c 'import json,os,sys; print([e["key"] for e in json.load(sys.stdin) if e["identity"] == os.environ["NS"] + "/viewer"][0])')
"$BIN" cache list -o json | mine
echo "--- damaged"
echo '{"entries": {' > "$XDG_CACHE_HOME/kube-sa-token/index.json"
"$BIN" cache list -o json | mine
echo "--- clear"
"$BIN" cache clear --all >/dev/null
secret-tool search --all service kube-sa-token 2>&1 | grep -c "^attribute.username" || true
# The user keyring is root's, shared with other tests: this test's key only
# (searched: an invalidated key may still be listed until the kernel's
# garbage collector unlinks it).
keyctl search @u user "kube-sa-token:$KEY" >/dev/null 2>&1 && echo 1 || echo 0
ls "$XDG_CACHE_HOME/kube-sa-token/tokens" | wc -l
"$BIN" cache list
"#;
    c.admin(&["-n", &ns, "create", "serviceaccount", "other"])
        .ok();
    let out = script_in_secret_service(&c, &env, script, ("NS", &ns));
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = |marker: &str| lines[lines.iter().position(|l| *l == marker).unwrap() + 1];
    let unknown = "(unknown: not in the index)";
    let expected = format!(
        "[('{ns}/other', 'file', [], '{unknown}'), ('{ns}/viewer', 'keyutils', ['keyring'], '{unknown}')]"
    );
    assert_eq!(at("--- lost"), expected, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(at("--- damaged"), expected);
    let cleared: Vec<&str> =
        lines[lines.iter().position(|l| *l == "--- clear").unwrap() + 1..].to_vec();
    assert_eq!(
        cleared[..3],
        ["0", "0", "0"],
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(cleared[3].contains("no cached entries"), "{cleared:?}");
}

/// Issue 17, finding 20: `logout` counts a live kernel copy as something it
/// removed (it said "there was no ... cached token" when only the kernel
/// copy was left, the OS keyring's item gone).
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn logout_says_it_removed_a_kernel_copy() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-logout-copy");
    let sa = sa(&ns);
    let env = c.env("v1", &["--admin-context", "admin"]);
    let script = r#"
set -e
"$BIN" get --kubeconfig "$ADMIN" --admin-context admin --service-account "$SA" --cache keyring >/dev/null
KEY=$("$BIN" cache list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
secret-tool clear service kube-sa-token username "$KEY"
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null && echo "kernel copy left"
"$BIN" logout --kubeconfig "$ADMIN" --admin-context admin --service-account "$SA" --cache keyring | head -n 1
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null 2>&1 || echo "kernel copy gone"
"#;
    let out = script_in_secret_service(&c, &env, script, ("SA", &sa));
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "kernel copy left", "{}", out.stdout);
    assert!(
        lines[1].starts_with("removed the cached token of"),
        "{}",
        out.stdout
    );
    assert_eq!(lines[2], "kernel copy gone");
}
