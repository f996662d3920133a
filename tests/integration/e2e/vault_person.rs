//! A person's Vault login run by kube-sa-token (`--vault-login userpass`),
//! on a real OpenBao and a real Secret Service: the password is asked on a
//! terminal only (script(1) gives one; kubectl hands it to the exec entry,
//! which says interactiveMode: IfAvailable), the Vault token is kept in the
//! OS keyring, used by the mints that follow without a prompt, renewed
//! once half its TTL is gone, logged in for again after it is revoked, and
//! revoked by `logout`. And the same for an OIDC login
//! (`--vault-login oidc`) through a browser and a stand-in identity
//! provider.

use std::process::{Command, Stdio};

use super::vault::{ROLE, vault_env};
use super::*;
use crate::support::vault::{Bao, ROOT};

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_persons_password_is_asked_on_a_terminal_and_the_login_kept_in_the_keyring() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, mut env) = vault_env(&c, &bao, "e2e-vault-person");
    env.env.retain(|(k, _)| k != "VAULT_TOKEN");
    // A 24 s token, renewable up to 10 minutes: half of it is gone soon.
    bao.userpass(
        ROLE,
        "alice",
        "correct horse",
        &["token_ttl=24s", "token_max_ttl=10m"],
    );
    let setup = format!(
        "'{}' setup --source vault --vault-role {ROLE} {} --context-name sa --vault-login userpass --vault-username alice",
        &*support::BIN,
        sa(&ns)
    );
    let script = r#"
set -u
ttl() { BAO_TOKEN=$ROOT "$BAO" token lookup -format=json -accessor "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["ttl"])'; }
kept() { secret-tool search --all service kube-sa-token-vault-login 2>&1 | grep -c '^attribute.username' || true; }
as_sa() { "$KUBECTL" --context sa auth whoami -ojsonpath='{.status.userInfo.username}'; }
on_tty() { printf 'correct horse\n' | script -qec "$1" /dev/null; }
echo "--- no terminal"
sh -c "$SETUP" </dev/null; echo "exit $?"
echo "--- terminal"
on_tty "$SETUP" 2>&1; echo "exit $?"
echo "kept $(kept)"
echo "--- kept"
"$BIN" cache clear --all >/dev/null
as_sa </dev/null; echo
echo "--- renewed"
acc=$(for a in $(BAO_TOKEN=$ROOT "$BAO" list -format=json auth/token/accessors | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'); do
  BAO_TOKEN=$ROOT "$BAO" token lookup -format=json -accessor "$a" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(sys.argv[1] if d["display_name"] == "userpass-alice" else "")' "$a"
done | grep . | head -n 1)
# Bounded wait for the condition itself: less than half of 24 s left.
i=0; while [ "$(ttl "$acc")" -ge 12 ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i+1)); done
"$BIN" cache clear --all >/dev/null
as_sa </dev/null; echo
echo "ttl after $(ttl "$acc")"
echo "--- revoked"
BAO_TOKEN=$ROOT "$BAO" token revoke -accessor "$acc" >/dev/null
"$BIN" cache clear --all >/dev/null
as_sa </dev/null 2>&1; echo "exit $?"
echo "kept $(kept)"
echo "--- again"
on_tty "'$KUBECTL' --context sa auth whoami -ojsonpath='{.status.userInfo.username}'" 2>&1; echo
echo "kept $(kept)"
echo "--- logout"
"$BIN" logout --context sa 2>&1
echo "kept $(kept)"
echo "--- end"
"#;
    let mut cmd = support::secret_service(false);
    cmd.args(["sh", "-c", script]);
    env.isolate(&mut cmd);
    cmd.env("KUBECTL", c.kubectl_path())
        .env("BIN", &*support::BIN)
        .env("BAO", std::env::var("KUBE_SA_TOKEN_TEST_BAO").unwrap())
        .env("ROOT", ROOT)
        .env("SETUP", &setup);
    let out = Out::from(cmd.output().unwrap());
    let all = format!("{}\n{}\n{:?}", out.stdout, out.stderr, bao.paths());
    let section = |name: &str| out.section(name);
    let me = format!("system:serviceaccount:{ns}:viewer");
    // No terminal: nothing asked, the way out said, nothing written.
    assert!(
        section("no terminal").contains("exit 3")
            && out
                .stderr
                .contains("the userpass login as alice (auth/userpass/) needs its password"),
        "{all}"
    );
    // A terminal: asked once, the Vault token kept in the Secret Service.
    let terminal = section("terminal");
    assert!(
        terminal.contains("Vault password for alice (userpass at auth/userpass/ on http")
            && terminal.contains("exit 0")
            && terminal.contains("kept 1"),
        "{all}"
    );
    let yaml = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(
        yaml.contains("interactiveMode: IfAvailable")
            && yaml.contains("--vault-username")
            && !yaml.contains("correct horse"),
        "{yaml}"
    );
    assert!(!env.home.join(".vault-token").exists());
    // kubectl without a terminal mints with the kept login: no prompt,
    // no second login.
    assert_eq!(section("kept").trim(), me, "{all}");
    // Half its TTL gone: renewed by the mint that used it.
    assert_eq!(section("renewed").lines().next().unwrap_or(""), me, "{all}");
    assert_eq!(bao.requests("auth/token/renew-self"), 1, "{all}");
    let after: i64 = section("renewed")
        .lines()
        .find_map(|l| l.strip_prefix("ttl after ")?.trim().parse().ok())
        .unwrap_or(0);
    assert!(after > 12, "renewed to its full 24 s: {all}");
    // One login until the token was revoked, the renewal between them.
    let paths = bao.paths();
    let at = |p: &str| -> Vec<usize> {
        paths
            .iter()
            .enumerate()
            .filter(|(_, q)| *q == p)
            .map(|(i, _)| i)
            .collect()
    };
    let (logins, renewals, revoked_at) = (
        at("auth/userpass/login/alice"),
        at("auth/token/renew-self"),
        at("auth/token/revoke-accessor"),
    );
    assert!(
        logins.len() == 2
            && logins[0] < renewals[0]
            && renewals[0] < revoked_at[0]
            && revoked_at[0] < logins[1],
        "{all}"
    );
    // Revoked behind our back: forgotten; without a terminal, said.
    let revoked = section("revoked");
    assert!(
        revoked.contains("needs its password") && revoked.contains("kept 0"),
        "{all}"
    );
    assert!(!revoked.contains("exit 0"), "{all}");
    // kubectl on a terminal: the plugin asks there, and it works.
    let again = section("again");
    assert!(
        again.contains("Vault password for alice") && again.contains(&me),
        "{all}"
    );
    assert!(again.contains("kept 1"), "{all}");
    // logout revokes the lease and the kept login.
    let logout = section("logout");
    assert!(
        logout.contains("revoked its Vault lease")
            && logout.contains(
                "logged out of Vault: revoked and removed the kept userpass login as alice (auth/userpass/)"
            )
            && logout.contains("kept 0"),
        "{all}"
    );
    assert!(out.stdout.contains("--- end"), "{all}");
}

/// The stand-in identity provider (support/oidc-idp.py), stopped on drop.
struct Idp {
    child: std::process::Child,
    url: String,
}

impl Idp {
    fn start(dir: &std::path::Path) -> Idp {
        let child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/integration/support/oidc-idp.py"
            ))
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("idp.log")).unwrap())
            .spawn()
            .unwrap();
        let url_file = dir.join("url");
        assert!(
            support::cluster::eventually(std::time::Duration::from_secs(30), || url_file.exists()),
            "the identity provider did not start"
        );
        Idp {
            child,
            url: std::fs::read_to_string(url_file).unwrap(),
        }
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--vault-login oidc`: on a terminal, Vault's URL goes to the browser
/// ($BROWSER: a script that follows the identity provider's redirect as a
/// browser would), the browser comes back to the loopback listener, Vault
/// takes its code, and the Vault token is kept for the mints that follow.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_oidc_login_goes_through_the_browser_and_is_kept() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, mut env) = vault_env(&c, &bao, "e2e-vault-oidc");
    env.env.retain(|(k, _)| k != "VAULT_TOKEN");
    let idp = Idp::start(env.root());
    bao.oidc(ROLE, &idp.url);
    let browser = env.root().join("browser");
    std::fs::write(
        &browser,
        "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/opened\"\nexec curl -sSL --noproxy '*' -o \"$(dirname \"$0\")/page\" \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    env.env
        .push(("BROWSER".into(), browser.display().to_string()));
    let login = ["--vault-login", "oidc", "--vault-login-role", "person"];
    // No terminal: no browser is opened, and the way out is said.
    setup_as(&env, &ns, &login, false)
        .fails_with("the oidc login for role person (auth/oidc/) needs a browser");
    assert!(!env.root().join("opened").exists());
    let out = setup_as(&env, &ns, &login, true);
    assert!(
        out.stdout
            .contains("Complete the Vault login in your browser"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    out.ok();
    let page = std::fs::read_to_string(env.root().join("page")).unwrap();
    assert!(page.contains("Signed in to Vault"), "{page}");
    let opened = std::fs::read_to_string(env.root().join("opened")).unwrap();
    assert!(opened.starts_with(&idp.url), "{opened}");
    // kubectl without a terminal: the kept login mints, no browser.
    env.run(&["cache", "clear", "--all"]).ok();
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    assert_eq!(
        bao.requests("auth/oidc/oidc/auth_url"),
        1,
        "{:?}",
        bao.paths()
    );
    assert_eq!(
        bao.requests("auth/oidc/oidc/callback"),
        1,
        "{:?}",
        bao.paths()
    );
    assert_eq!(bao.requests(&format!("kubernetes/creds/{ROLE}")), 2);
}

/// `setup --source vault` of `ns`'s viewer as context "sa" with `login`,
/// on a terminal (script(1): its output is all on stdout) or not.
fn setup_as(env: &TestEnv, ns: &str, login: &[&str], terminal: bool) -> Out {
    let args = super::vault_login::setup_args(ns, login);
    if !terminal {
        return env.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let line: Vec<String> = std::iter::once(support::BIN.as_str())
        .chain(args.iter().map(String::as_str))
        .map(|a| format!("'{a}'"))
        .collect();
    let mut tty = Command::new("script");
    tty.args(["-qec", &line.join(" "), "/dev/null"]);
    env.isolate(&mut tty);
    Out::from(tty.output().unwrap())
}
