//! How a kube-sa-token user gets a Vault token, on a real OpenBao: a
//! person's `bao login` (userpass here), whose `~/.vault-token` is read; a
//! CI job's JWT (`--vault-login jwt`) or an AppRole (`--vault-login
//! approle`), logged in with at each mint and revoked after it. No Vault
//! token ever lands in the kubeconfig, and a refused login says so in one
//! line.

use super::vault::{ROLE, vault_env};
use super::*;
use crate::support::vault::Bao;

/// The env without its Vault token: only a login gives one.
fn without_token(mut env: TestEnv) -> TestEnv {
    env.env.retain(|(k, _)| k != "VAULT_TOKEN");
    env
}

/// `setup --source vault` of `ns`'s viewer as context "sa", with `login`.
pub(super) fn setup_args(ns: &str, login: &[&str]) -> Vec<String> {
    [
        "setup",
        "--source",
        "vault",
        "--vault-role",
        ROLE,
        &sa(ns),
        "--context-name",
        "sa",
    ]
    .iter()
    .chain(login)
    .map(|a| a.to_string())
    .collect()
}

fn setup_with(env: &TestEnv, ns: &str, login: &[&str]) -> Out {
    let args = setup_args(ns, login);
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_persons_bao_login_is_read_from_vault_token() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-userpass");
    let env = without_token(env);
    bao.userpass(ROLE, "alice", "correct horse", &[]);
    setup_with(&env, &ns, &[]).fails_with("no Vault token");
    bao.login_as_person(
        &env.home,
        &[
            "-method=userpass",
            "username=alice",
            "password=correct horse",
        ],
    )
    .ok();
    assert!(env.home.join(".vault-token").exists());
    let out = setup_with(&env, &ns, &[]);
    out.ok();
    assert!(out.stderr.contains(".vault-token"), "{}", out.stderr);
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_ci_jobs_jwt_logs_in_at_each_mint_and_the_login_is_revoked() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-jwt");
    let env = without_token(env);
    bao.jwt_auth(&c, ROLE);
    // The CI job's OIDC token: here, one the cluster signs.
    c.admin(&["-n", &ns, "create", "serviceaccount", "ci"]).ok();
    let jwt = c.admin(&[
        "-n",
        &ns,
        "create",
        "token",
        "ci",
        "--audience",
        "vault-e2e",
    ]);
    let jwt_file = env.root().join("ci-jwt");
    std::fs::write(&jwt_file, jwt.ok().stdout.trim()).unwrap();
    let login = [
        "--vault-login",
        "jwt",
        "--vault-login-role",
        "ci",
        "--vault-jwt",
        jwt_file.to_str().unwrap(),
    ];
    // (The dev server revokes a token of its own as it starts.)
    let revoked_before = bao.requests("auth/token/revoke-self");
    setup_with(&env, &ns, &login).ok();
    let yaml = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(
        yaml.contains("--vault-jwt") && !yaml.contains(jwt.stdout.trim()),
        "{yaml}"
    );
    env.run(&["cache", "clear", "--all"]).ok();
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    // Every login's token was revoked when its mint was done.
    let logins = bao.requests("auth/jwt/login");
    assert!(logins >= 2, "{logins}");
    assert_eq!(
        bao.requests("auth/token/revoke-self") - revoked_before,
        logins,
        "{:?}",
        bao.paths()
    );
    // A JWT Vault refuses (another audience): one line, the login named.
    let other = c.admin(&[
        "-n",
        &ns,
        "create",
        "token",
        "ci",
        "--audience",
        "elsewhere",
    ]);
    std::fs::write(&jwt_file, other.ok().stdout.trim()).unwrap();
    env.run(&["cache", "clear", "--all"]).ok();
    let out = c.kubectl(&env, &whoami_args());
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("refused the jwt login at auth/jwt/"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_approle_logs_in_from_its_files() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-approle");
    let env = without_token(env);
    let (role_id, secret_id) = bao.approle(ROLE, env.root());
    let login = [
        "--vault-login",
        "approle",
        "--vault-role-id-file",
        role_id.to_str().unwrap(),
        "--vault-secret-id-file",
        secret_id.to_str().unwrap(),
    ];
    // (The dev server revokes a token of its own as it starts.)
    let revoked_before = bao.requests("auth/token/revoke-self");
    setup_with(&env, &ns, &login).ok();
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    assert_eq!(
        bao.requests("auth/token/revoke-self") - revoked_before,
        bao.requests("auth/approle/login"),
        "{:?}",
        bao.paths()
    );
    // A secret id Vault does not know: refused, said, nothing minted.
    std::fs::write(&secret_id, "00000000-0000-0000-0000-000000000000").unwrap();
    env.run(&["cache", "clear", "--all"]).ok();
    let out = c.kubectl(&env, &whoami_args());
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("refused the approle login"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("00000000-0000"), "{}", out.stderr);
}

/// The README's Vault section, as written: its five commands, with only
/// the names that differ here replaced (the server, the login a person
/// would make in a browser, the role and the ServiceAccount).
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_readmes_vault_section_works_as_written() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-readme");
    let env = without_token(env);
    bao.userpass(ROLE, "alice", "pw", &[]);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## Vault and OpenBao").unwrap()..];
    let block = &section[section.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    assert_eq!(block.lines().count(), 5, "five commands: {block}");
    let host = bao.address.trim_start_matches("http://");
    let script = block
        // install.sh put the binaries on PATH (this test's PATH has them).
        .replace("./install.sh\n", "")
        .replace("https://vault.example.com:8200", &bao.address)
        .replace("vault.example.com:8200", host)
        .replace(
            "-method=oidc",
            "-method=userpass username=alice password=pw",
        )
        .replace("--vault-role deployer", &format!("--vault-role {ROLE}"))
        .replace("team-a/deployer", &sa(&ns));
    // The programs as installed: ours, kubectl and bao on PATH.
    let bin = env.root().join("bin");
    std::fs::create_dir(&bin).unwrap();
    support::copy_program(&support::BIN, &bin, "kube-sa-token");
    std::os::unix::fs::symlink(c.kubectl_path(), bin.join("kubectl")).unwrap();
    std::os::unix::fs::symlink(
        std::env::var("KUBE_SA_TOKEN_TEST_BAO").unwrap(),
        bin.join("bao"),
    )
    .unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &script]);
    env.isolate(&mut cmd);
    cmd.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    assert!(
        out.stderr.contains("Vault issued a token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
}

/// A role in a Vault namespace (Vault Enterprise's, OpenBao's): every
/// request carries it (`X-Vault-Namespace`), the exec entry names it, and
/// the root namespace's engine is not asked.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_role_in_a_vault_namespace() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let ns = c.namespace("e2e-vault-namespace");
    bao.enter_namespace("team-a");
    bao.engine(&c, &c.server, &c.ca());
    bao.role(ROLE, &ns, "viewer");
    let mut env = c.admin_env();
    env.env.push(("VAULT_ADDR".into(), bao.address.clone()));
    env.env.push(("VAULT_TOKEN".into(), bao.user_token(ROLE)));
    // Outside its namespace the token is worth nothing.
    let out = setup_with(&env, &ns, &[]);
    assert!(
        out.code != 0 && out.stderr.contains("permission denied"),
        "{}",
        out.stderr
    );
    assert!(
        bao.namespaces_of(&format!("kubernetes/creds/{ROLE}"))
            .is_empty()
    );
    env.env.push(("VAULT_NAMESPACE".into(), "team-a/".into()));
    let out = setup_with(&env, &ns, &[]);
    out.ok();
    let yaml = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let host = bao.address.trim_start_matches("http://");
    assert!(
        yaml.contains("--vault-namespace")
            && yaml.contains(&format!("vault:{host}/kubernetes+team-a")),
        "{yaml}"
    );
    env.env.retain(|(k, _)| k != "VAULT_NAMESPACE");
    env.run(&["cache", "clear", "--all"]).ok();
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    assert_eq!(
        bao.namespaces_of(&format!("kubernetes/creds/{ROLE}")),
        ["team-a/", "team-a/"],
        "setup's and kubectl's mints, in the namespace: {:?}",
        bao.paths()
    );
}
