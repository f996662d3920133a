//! Issue 18: an ordinary user's machine. With its 20,000-byte kernel key
//! quota (about 16 entries) and no Secret Service, `--cache auto` keeps
//! 100 ServiceAccounts' tokens cached, in memory-backed files with a kernel
//! copy in front where the quota has room; with keyctl blocked too (a
//! container's seccomp profile), in those files alone. Never a secret in a
//! file under $HOME.

use super::ordinary_user::admin_kubeconfig_for;
use super::*;
use crate::support::user::ordinary_user;

const COUNT: usize = 100;

/// `COUNT` ServiceAccounts `sa-0`... in `ns`, made in one request.
fn many_service_accounts(c: &Cluster, ns: &str, dir: &Path) {
    let list: String = (0..COUNT)
        .map(|i| format!("---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa-{i}, namespace: {ns}}}\n"))
        .collect();
    let file = dir.join("sas.yaml");
    std::fs::write(&file, list).unwrap();
    c.admin(&["apply", "-f", file.to_str().unwrap()]).ok();
}

/// One round of `get` for every ServiceAccount, as the user, through
/// `wrap` (empty, or the keyctl blocker); the failures' count is printed.
const ROUND: &str = r#"
fails=0
for i in $(seq 0 $((COUNT-1))); do
  $WRAP "$BIN" get --kubeconfig "$ADMIN" --admin-context admin --service-account "$NS/sa-$i" >/dev/null 2>>errors.log || fails=$((fails+1))
done
echo "fails=$fails"
"#;

fn hundred_entries_stay_cached(wrap: &str) {
    let c = Cluster::get();
    let ns = c.namespace("e2e-many");
    let user = ordinary_user();
    let dir = user.workdir(if wrap.is_empty() {
        "many"
    } else {
        "many-nokeyctl"
    });
    many_service_accounts(&c, &ns, &dir);
    let admin = admin_kubeconfig_for(&c, &user, &dir);
    let blocker = if wrap.is_empty() {
        String::new()
    } else {
        let copy = user.copy_in(Path::new(wrap), &dir);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o700)).unwrap();
        copy.display().to_string()
    };
    let bin = user.binary_in(&dir);
    let count = COUNT.to_string();
    let env = [
        ("BIN", bin.to_str().unwrap()),
        ("ADMIN", admin.to_str().unwrap()),
        ("NS", ns.as_str()),
        ("COUNT", count.as_str()),
        ("WRAP", blocker.as_str()),
    ];
    // A clean slate for this user: no kernel keys, no earlier entries.
    user.run(
        &dir,
        &env,
        "keyctl clear @u 2>/dev/null; $WRAP \"$BIN\" cache clear --all >/dev/null",
    )
    .ok();
    let before = c.token_requests_settled();
    let first = user.run(&dir, &env, ROUND);
    assert!(
        first.stdout.contains("fails=0"),
        "{}\n{}",
        first.stdout,
        std::fs::read_to_string(dir.join("errors.log")).unwrap_or_default()
    );
    assert_eq!(
        c.token_requests_settled() - before,
        COUNT as u64,
        "one mint each"
    );
    let second = user.run(&dir, &env, &format!("{ROUND}\n$WRAP \"$BIN\" cache list | tail -n +2 | wc -l\n$WRAP \"$BIN\" doctor 2>&1 | head -n 1\nkeyctl show @u 2>/dev/null | grep -c kube-sa-token-tier || true\n"));
    assert!(
        second.stdout.contains("fails=0"),
        "{}\n{}",
        second.stdout,
        second.stderr
    );
    assert_eq!(
        c.token_requests_settled() - before,
        COUNT as u64,
        "the second round of {COUNT} calls mints nothing: {}",
        second.stdout
    );
    let lines: Vec<&str> = second.stdout.lines().collect();
    assert_eq!(
        lines[1], count,
        "cache list shows {COUNT} rows: {}",
        second.stdout
    );
    assert!(
        lines[2].contains("--cache auto picks tmpfs") && lines[2].contains("memory-backed files"),
        "doctor says which store and why: {}",
        lines[2]
    );
    let kernel_copies: usize = lines[3].trim().parse().unwrap_or(0);
    if wrap.is_empty() {
        // The quota holds some copies, never all 100.
        assert!(
            kernel_copies > 0 && kernel_copies < COUNT,
            "{kernel_copies} kernel copies"
        );
        eprintln!(
            "ordinary user: {COUNT} entries cached, {kernel_copies} of them with a kernel copy"
        );
    } else {
        assert_eq!(kernel_copies, 0, "keyctl is blocked");
    }
    // No secret in a file under $HOME: its dot directories (where the
    // cache, config and data live) and this test's own directory; other
    // tests' directories hold tokens they wrote on purpose.
    let mut leaks = Vec::new();
    fn walk(d: &Path, leaks: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                walk(&p, leaks);
            } else if p.file_name().is_some_and(|n| n != "kube-sa-token")
                && std::fs::read(&p).is_ok_and(|b| b.windows(10).any(|w| w == b"eyJhbGciOi"))
            {
                leaks.push(p);
            }
        }
    }
    for d in [".cache", ".config", ".local", ".kube"] {
        walk(&user.home.join(d), &mut leaks);
    }
    walk(&dir, &mut leaks);
    assert!(leaks.is_empty(), "tokens in files under $HOME: {leaks:?}");
    user.run(
        &dir,
        &env,
        "$WRAP \"$BIN\" cache clear --all >/dev/null; keyctl clear @u 2>/dev/null; true",
    )
    .ok();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_ordinary_user_keeps_a_hundred_entries_cached_without_a_secret_service() {
    hundred_entries_stay_cached("");
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn with_keyctl_blocked_too_a_hundred_entries_stay_cached_off_the_disk() {
    hundred_entries_stay_cached(support::NO_KEYCTL);
}
