//! The real Secret Service (gnome-keyring on a private session bus).

use super::*;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn keyring_store_with_a_real_secret_service() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-keyring");
    let env = c.env("v1", &entry(&sa(&ns), "keyring"));
    let before = c.token_requests_settled();
    // A private session bus where gnome-keyring owns the Secret Service name
    // and its login collection is unlocked before the first client call.
    let script = r#"
set -e
"$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo
"$KUBECTL" --context sa -n "$NS" get serviceaccounts -o name >/dev/null
echo "--- secret-tool"
# Only the label and attribute lines: the secret itself is never printed.
secret-tool search --all service kube-sa-token 2>&1 | grep '^label = \|^schema = \|^attribute\.' || true
echo "--- auto"
"$BIN" doctor --cache auto | head -n 1
# An item as the previous release wrote it (the store's default label, no
# attributes of ours): read on a hit without a kernel copy, relabelled by
# the next write (a mint for a shorter --duration replaces it).
KEY=$("$BIN" cache list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
secret-tool lookup service kube-sa-token username "$KEY" > "$HOME/old-item"
secret-tool clear service kube-sa-token username "$KEY"
secret-tool store --label="keyring:$KEY@kube-sa-token" service kube-sa-token username "$KEY" < "$HOME/old-item"
rm "$HOME/old-item"
keyctl invalidate "$(keyctl search @u user "kube-sa-token-tier:$KEY")"
echo "--- old"
"$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo
secret-tool search --all service kube-sa-token username "$KEY" 2>&1 | grep '^label = '
"$BIN" get --kubeconfig "$ADMIN" --admin-context admin --service-account "$NS/viewer" --cache keyring --duration 20m >/dev/null
echo "--- relabelled"
secret-tool search --all service kube-sa-token username "$KEY" 2>&1 | grep '^label = \|^attribute\.kind'
secret-tool lookup service kube-sa-token username "$KEY" >/dev/null && echo "found by its key"
echo "--- user"
"$BIN" get --kubeconfig "$ADMIN" --admin-context admin --user "kr-$NS" --group kr-dev --cache keyring >/dev/null
secret-tool search --all service kube-sa-token principal "user:kr-$NS [kr-dev]" 2>&1 | grep '^label = \|^attribute\.kind'
"#;
    let mut cmd = support::secret_service(false);
    cmd.args(["sh", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path())
        .env("NS", &ns)
        .env("ADMIN", &c.admin_kubeconfig)
        .env("BIN", &*support::BIN);
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    // Issue 21: items a person recognises, found by what they are for.
    let server = &c.server;
    let section = |name: &str| out.section(name);
    let first = section("secret-tool");
    for line in [
        format!("label = kube-sa-token: {ns}/viewer @ {server}"),
        format!("attribute.principal = {ns}/viewer"),
        format!("attribute.server = {server}"),
        "attribute.kind = token".to_string(),
        // secret-tool shows xdg:schema as the item's schema.
        "schema = io.github.kube_sa_token.Credential".to_string(),
    ] {
        assert!(
            first.contains(&line),
            "{line}: {}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let old = section("old");
    assert!(
        old.starts_with(&format!("system:serviceaccount:{ns}:viewer"))
            && old.contains("label = keyring:"),
        "an old item is read, and a hit writes nothing: {old}"
    );
    let relabelled = section("relabelled");
    assert!(
        relabelled.contains(&format!("label = kube-sa-token: {ns}/viewer @ {server}"))
            && relabelled.contains("attribute.kind = token")
            && relabelled.contains("found by its key"),
        "{relabelled}"
    );
    let user = section("user");
    assert!(
        user.contains(&format!(
            "label = kube-sa-token: user:kr-{ns} [kr-dev] @ {server}"
        )) && user.contains("attribute.kind = certificate"),
        "{user}\n{}",
        out.stderr
    );
    assert!(
        out.stdout
            .starts_with(&format!("system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    let key = list
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["identity"] == format!("{ns}/viewer").as_str())
        .unwrap_or_else(|| panic!("{list}"))["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        out.stdout.contains("attribute.service = kube-sa-token"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("attribute.username = {key}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--cache auto picks keyring"),
        "{}",
        out.stdout
    );
    assert_eq!(
        c.token_requests_settled() - before,
        2,
        "one TokenRequest for the kubectl calls, one for the shorter --duration"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_locked_keyring_never_falls_back_to_plaintext_nor_fails_kubectl() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-locked");
    let env = c.env("v1", &entry(&sa(&ns), "keyring"));
    let before = c.token_requests_settled();
    // gnome-keyring owns the Secret Service name, but its login collection
    // is locked (and no prompt can appear: the test has no display). The
    // lookup finds nothing; the write after the mint fails.
    let mut cmd = support::secret_service(true);
    cmd.args([
        "sh",
        "-c",
        r#""$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo; "$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'"#,
    ]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path());
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    let expected = format!("system:serviceaccount:{ns}:viewer");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [&expected, &expected]
    );
    assert!(
        out.stderr.contains("could not be cached")
            && out
                .stderr
                .contains("the keyring is locked or not reachable"),
        "{}",
        out.stderr
    );
    assert!(
        !env.cache_dir().join("tokens").exists(),
        "no plaintext fallback"
    );
    assert!(
        env.run(&["cache", "list"])
            .stdout
            .contains("no cached entries")
    );
    assert_eq!(
        c.token_requests_settled() - before,
        2,
        "nothing cached: each call mints"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_default_store_serves_hits_from_a_kernel_copy_of_the_keyring() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-tier");
    // The default store: no --cache.
    let env = c.env(
        "v1",
        &["--admin-context", "admin", "--service-account", &sa(&ns)],
    );
    let before = c.token_requests_settled();
    let script = r#"
set -e
whoami() { "$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo; }
whoami
KEY=$("$BIN" cache list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
echo "--- copies"
secret-tool search --all service kube-sa-token 2>&1 | grep -c "^attribute.username = $KEY" || true
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null && echo "kernel copy"
grep "kube-sa-token-tier:$KEY" /proc/keys | awk '{print "timeout", $4}'
"$BIN" cache list | tail -n 1 | grep -o "keyring + kernel copy"
echo "--- kernel copy gone: read through from the keyring and refilled"
keyctl invalidate "$(keyctl search @u user "kube-sa-token-tier:$KEY")"
whoami
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null && echo "kernel copy again"
echo "--- clear"
keyctl search @u user "kube-sa-token:$KEY" >&2 || true
"$BIN" -vv cache clear --all >&2
keyctl search @u user "kube-sa-token:$KEY" >&2 || true
keyctl show @u | grep "$KEY" >&2 || true
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null 2>&1 || echo "kernel copy cleared"
secret-tool search --all service kube-sa-token 2>&1 | grep -c "^attribute.username = $KEY" || true
echo "--- locked keyring, hits from the kernel"
whoami
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
whoami
whoami
"#;
    let mut cmd = support::secret_service(false);
    cmd.args(["bash", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path())
        .env("BIN", &*support::BIN);
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    let me = format!("system:serviceaccount:{ns}:viewer");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let expect = |line: &str| {
        assert!(
            lines.contains(&line),
            "missing {line:?} in:\n{}\n{}",
            out.stdout,
            out.stderr
        )
    };
    assert_eq!(
        lines.iter().filter(|l| **l == me).count(),
        5,
        "{}",
        out.stdout
    );
    expect("kernel copy");
    expect("keyring + kernel copy");
    expect("kernel copy again");
    expect("kernel copy cleared");
    // In the keyring once, then gone after clear.
    assert_eq!(lines[2], "1", "{}", out.stdout);
    let cleared = lines
        .iter()
        .position(|l| *l == "kernel copy cleared")
        .unwrap();
    assert_eq!(lines[cleared + 1], "0", "{}", out.stdout);
    // The kernel drops the copy at the end of the serve window: exp minus
    // 20% of one hour, 48 minutes.
    let timeout = lines
        .iter()
        .find_map(|l| l.strip_prefix("timeout "))
        .expect("timeout line");
    let minutes: u32 = timeout.trim_end_matches('m').parse().unwrap_or(0);
    assert!((45..=48).contains(&minutes), "kernel timeout {timeout}");
    assert_eq!(
        c.token_requests_settled() - before,
        2,
        "a mint before and after the clear; hits, the read-through and hits on a locked keyring made none"
    );
}

/// Where a container's seccomp profile blocks keyctl (here the kernel's own
/// seccomp, with the errno Docker's default profile answers): the default
/// store runs on the OS keyring alone, without an error; the kernel store
/// says what to use instead; and with no OS keyring either, nothing falls
/// back to a plaintext file.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn where_keyctl_is_blocked_the_keyring_serves_alone() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-nokeyctl");
    let sa = sa(&ns);
    let env = c.env(
        "v1",
        &["--admin-context", "admin", "--service-account", &sa],
    );
    let before = c.token_requests_settled();
    let script = r#"
set -e
whoami() { "$NOKEYCTL" "$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; echo; }
whoami
whoami
KEY=$("$NOKEYCTL" "$BIN" cache list -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["key"])')
echo "--- keyring entries"
secret-tool search --all service kube-sa-token 2>&1 | grep -c "^attribute.username = $KEY" || true
# Checked from outside the filter: no kernel copy was made.
keyctl search @u user "kube-sa-token-tier:$KEY" >/dev/null 2>&1 || echo "no kernel copy"
"$NOKEYCTL" "$BIN" doctor 2>&1 | grep -o "keyctl is not available here" || true
echo "--- keyutils"
"$NOKEYCTL" "$BIN" get --cache keyutils --admin-context admin --service-account "$SA" 2>&1 >/dev/null | head -n 3 || true
"#;
    let mut cmd = support::secret_service(false);
    cmd.args(["bash", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path())
        .env("BIN", &*support::BIN)
        .env("SA", &sa)
        .env("NOKEYCTL", support::NO_KEYCTL)
        .env(
            "KUBERNETES_EXEC_INFO",
            support::exec_info_with_ca("v1", &c.server, &c.ca()),
        );
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    let me = format!("system:serviceaccount:{ns}:viewer");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(&lines[..2], [&*me, &*me], "{}\n{}", out.stdout, out.stderr);
    assert_eq!(lines[3], "1", "one keyring entry: {}", out.stdout);
    assert!(lines.contains(&"no kernel copy"), "{}", out.stdout);
    assert!(
        lines.contains(&"keyctl is not available here"),
        "doctor says hits go to the keyring: {}",
        out.stdout
    );
    let keyutils = lines[lines.iter().position(|l| *l == "--- keyutils").unwrap() + 1..].to_vec();
    assert_eq!(keyutils.len(), 1, "one line: {keyutils:?}");
    assert!(
        keyutils[0].contains("keyctl may be blocked") && keyutils[0].contains("--cache file"),
        "{keyutils:?}"
    );
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "the second call was a hit from the keyring"
    );

    // No OS keyring (no session bus) and no kernel keyring (issue 18): the
    // token is cached in memory-backed files, never in the cache directory
    // on the disk.
    let get = |wrap: &[&str]| {
        let mut get = Command::new(wrap[0]);
        get.args(&wrap[1..]).args([
            support::NO_KEYCTL,
            &*support::BIN,
            "get",
            "--admin-context",
            "admin",
            "--service-account",
            &sa,
        ]);
        env.isolate(&mut get);
        get.env(
            "KUBERNETES_EXEC_INFO",
            support::exec_info_with_ca("v1", &c.server, &c.ca()),
        );
        Out::from(get.output().unwrap())
    };
    let before = c.token_requests_settled();
    for _ in 0..2 {
        get(&["env"]).ok();
    }
    assert_eq!(c.token_requests_settled() - before, 1, "cached: one mint");
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|e| e["store"] == "tmpfs"),
        "{list}"
    );
    let tokens = env.cache_dir().join("tokens");
    assert!(
        std::fs::read_dir(&tokens).map_or(true, |mut d| d.next().is_none()),
        "nothing written to {}",
        tokens.display()
    );
    // And without a memory-backed directory either (/dev/shm covered by a
    // disk directory, in a private mount namespace): an error naming the
    // choices, never a plaintext file.
    let disk = env.root().join("not-shm");
    std::fs::create_dir(&disk).unwrap();
    let cover = format!("mount --bind '{}' /dev/shm && exec \"$@\"", disk.display());
    let out = get(&["unshare", "-m", "sh", "-c", &cover, "sh"]);
    out.fails_with("no secure token store is available");
    assert!(
        out.stderr.contains("--cache file") && out.stderr.contains("/dev/shm is not a tmpfs"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        std::fs::read_dir(&tokens).map_or(true, |mut d| d.next().is_none()),
        "nothing written to {}",
        tokens.display()
    );
}

/// Runs a bash `script` in a session with a real Secret Service, isolated
/// by `env`, with `BIN` (the binary under test), `ADMIN` (the admin
/// kubeconfig), the exec info of the cluster and one more variable.
pub(super) fn script_in_secret_service(
    c: &Cluster,
    env: &TestEnv,
    script: &str,
    var: (&str, &str),
) -> Out {
    let mut cmd = support::secret_service(false);
    cmd.args(["bash", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("BIN", &*support::BIN)
        .env(var.0, var.1)
        .env("ADMIN", &c.admin_kubeconfig)
        .env(
            "KUBERNETES_EXEC_INFO",
            support::exec_info_with_ca("v1", &c.server, &c.ca()),
        );
    Out::from(cmd.output().unwrap())
}
