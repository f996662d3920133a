//! `--source vault`: a real OpenBao server's Kubernetes secrets engine mints
//! the ServiceAccount tokens (tests/vault/openbao.sh fetches the server).
//! From `setup` to kubectl as the ServiceAccount, with a Vault token that
//! has only the policy docs/vault.md gives; hits never reach Vault, cold
//! calls at once ask it once, its refusals are said in one line and backed
//! off, a lease goes with `logout`, and the cluster binding and Vault's TLS
//! are held.

use super::self_heal::{recreate_viewer, three_commands_heal, until_rejected};
use super::*;
use crate::support::vault::Bao;

pub(super) const ROLE: &str = "viewer-role";

/// A namespace with ServiceAccount `viewer`, a role for it, and an env
/// (the admin kubeconfig) whose Vault variables name the server and a
/// token with the user's policy.
pub(super) fn vault_env(c: &Cluster, bao: &Bao, prefix: &str) -> (String, TestEnv) {
    let ns = c.namespace(prefix);
    bao.role(ROLE, &ns, "viewer");
    let mut env = c.admin_env();
    env.env.push(("VAULT_ADDR".into(), bao.address.clone()));
    env.env.push(("VAULT_TOKEN".into(), bao.user_token(ROLE)));
    if let Some(ca) = &bao.ca {
        env.env
            .push(("BAO_CACERT".into(), ca.display().to_string()));
    }
    (ns, env)
}

/// `setup --source vault` as context "sa".
fn setup(env: &TestEnv, ns: &str) -> Out {
    env.run(&[
        "setup",
        "--source",
        "vault",
        "--vault-role",
        ROLE,
        &sa(ns),
        "--context-name",
        "sa",
    ])
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_then_kubectl_acts_as_the_service_account_and_hits_never_ask_vault() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault");
    let out = setup(&env, &ns);
    out.ok();
    assert!(
        out.stderr.contains("Vault issued a token"),
        "{}",
        out.stderr
    );
    assert_eq!(bao.requests(&format!("kubernetes/creds/{ROLE}")), 1);
    // The exec entry names Vault and the role, never a token.
    let yaml = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(yaml.contains("--vault-role") && yaml.contains(&bao.address));
    let token = &env.env.iter().find(|(k, _)| k == "VAULT_TOKEN").unwrap().1;
    assert!(!yaml.contains(token.as_str()));
    let before = bao.all_requests();
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    c.kubectl(&env, &list_sas_args(&ns)).ok();
    c.kubectl(
        &env,
        &["--context", "sa", "-n", &ns, "create", "configmap", "x"],
    )
    .fails_with("forbidden");
    assert_eq!(bao.all_requests(), before, "cache hits asked Vault");
    // What the cache says of it: the role, the lease.
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list[0]["source"], format!("vault:{ROLE}"), "{list}");
    let lease = list[0]["vaultLease"].as_str().unwrap().to_string();
    assert!(
        lease.starts_with(&format!("kubernetes/creds/{ROLE}/")),
        "{lease}"
    );
    let wide = env.run(&["cache", "list", "-o", "wide"]);
    assert!(
        wide.ok().stdout.contains(&format!("lease={lease}")),
        "{}",
        wide.stdout
    );
    let inspect = env.run(&["inspect", "--context", "sa"]);
    assert!(inspect.ok().stdout.contains(&lease), "{}", inspect.stdout);
    // doctor: the token, its rights on the role's paths, the binding.
    let doctor = env.run(&["doctor"]);
    doctor.ok();
    for line in [
        format!("update on kubernetes/creds/{ROLE} (mint (POST creds)): yes"),
        "read on kubernetes/config (check the engine's cluster before a mint): yes".into(),
        "update on sys/leases/revoke (revoke a lease at logout): yes".into(),
        format!("context \"sa\": Vault role kubernetes/{ROLE} mints for its cluster"),
    ] {
        assert!(doctor.stdout.contains(&line), "{line}\n{}", doctor.stdout);
    }
    // With Vault gone, hits still work: it is asked on a miss only.
    drop(bao);
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn fifty_cold_kubectl_calls_at_once_make_one_creds_request() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-flight");
    setup(&env, &ns).ok();
    env.run(&["cache", "clear", "--all"]).ok();
    let before = bao.requests(&format!("kubernetes/creds/{ROLE}"));
    let outs = c.kubectl_concurrently(&env, 50, &whoami_args());
    for o in &outs {
        assert_eq!(username(o), format!("system:serviceaccount:{ns}:viewer"));
    }
    assert_eq!(
        bao.requests(&format!("kubernetes/creds/{ROLE}")) - before,
        1
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_revoked_vault_token_is_said_once_and_backed_off() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-revoked");
    setup(&env, &ns).ok();
    let token = env
        .env
        .iter()
        .find(|(k, _)| k == "VAULT_TOKEN")
        .unwrap()
        .1
        .clone();
    bao.cli(&["token", "revoke"]).arg_ok(&token);
    env.run(&["cache", "clear", "--all"]).ok();
    let before = bao.all_requests();
    let outs: Vec<Out> = (0..5).map(|_| c.kubectl(&env, &whoami_args())).collect();
    for o in &outs {
        assert_ne!(o.code, 0);
    }
    assert!(
        outs[0].stderr.contains("permission denied") && outs[0].stderr.contains("log in again"),
        "{}",
        outs[0].stderr
    );
    assert!(
        outs[1].stderr.contains("not tried again"),
        "{}",
        outs[1].stderr
    );
    // The first call asked Vault (one request: its config, refused); the
    // four after it, inside the backoff window, nothing.
    assert_eq!(bao.all_requests() - before, 1);
    // A new login (another token) is a new chance at once.
    let mut env = env;
    let fresh = bao.user_token(ROLE);
    env.env.retain(|(k, _)| k != "VAULT_TOKEN");
    env.env.push(("VAULT_TOKEN".into(), fresh));
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn logout_revokes_the_lease() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-logout");
    setup(&env, &ns).ok();
    let lease = env.run(&["cache", "list", "-o", "json"]).json()[0]["vaultLease"]
        .as_str()
        .unwrap()
        .to_string();
    bao.cli(&["lease", "lookup"]).arg_ok(&lease);
    let out = env.run(&["logout", "--context", "sa"]);
    out.ok();
    assert!(
        out.stdout
            .contains(&format!("revoked its Vault lease {lease}")),
        "{}",
        out.stdout
    );
    assert_eq!(bao.requests("sys/leases/revoke"), 1);
    assert_ne!(
        bao.cli(&["lease", "lookup", &lease]).run().code,
        0,
        "the lease is gone"
    );
    // The next kubectl call mints anew through Vault.
    let who = c.kubectl(&env, &whoami_args());
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    assert_eq!(bao.requests(&format!("kubernetes/creds/{ROLE}")), 2);
    // Without a Vault token (expired, never there), logout still forgets
    // the cached token, and says the lease stays.
    let mut env = env;
    env.env.retain(|(k, _)| k != "VAULT_TOKEN");
    let out = env.run(&["logout", "--context", "sa"]);
    out.ok();
    assert!(out.stderr.contains("no Vault token"), "{}", out.stderr);
    assert!(
        out.stdout.contains("could not be revoked"),
        "{}",
        out.stdout
    );
    let list = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_role_that_generates_service_accounts_and_logout_cuts_its_token_off() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-gen");
    bao.generated_role(ROLE, &ns);
    // No ServiceAccount named: whichever the role makes.
    let out = env.run(&[
        "setup",
        "--source",
        "vault",
        "--vault-role",
        ROLE,
        "-n",
        &ns,
        "--context-name",
        "sa",
    ]);
    out.ok();
    let who = username(&c.kubectl(&env, &whoami_args()));
    assert!(
        who.starts_with(&format!("system:serviceaccount:{ns}:")),
        "{who}"
    );
    c.kubectl(&env, &list_sas_args(&ns)).ok();
    let token = env.run(&["token", "--context", "sa"]);
    let token = token.ok().stdout.trim().to_string();
    let out = env.run(&["logout", "--context", "sa"]);
    out.ok();
    assert!(
        out.stdout.contains("the engine deleted the ServiceAccount"),
        "{}",
        out.stdout
    );
    // The API server refuses the token it had handed out.
    until_rejected(&c, &token);
    // The next call mints through Vault again, as a new ServiceAccount.
    let again = username(&c.kubectl(&env, &whoami_args()));
    assert!(
        again.starts_with(&format!("system:serviceaccount:{ns}:")) && again != who,
        "{again}"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn refresh_ahead_mints_the_successor_through_vault_before_expiry() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-ahead");
    setup(&env, &ns).ok();
    let first = env.run(&["cache", "list", "-o", "json"]).json()[0]["vaultLease"].clone();
    let args = [
        "--service-account",
        &sa(&ns),
        "--source",
        "vault",
        "--vault-role",
        ROLE,
        "--vault-addr",
        &bao.address,
    ];
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    // 35 minutes on: past the middle of the one-hour token's serve window.
    // The hit answers at once, with the token it has.
    let out = env.get_at("+35m", &info, &args);
    out.ok();
    assert!(out.stdout.contains("\"token\""), "{}", out.stdout);
    // A background refresh mints its successor through Vault.
    let creds = format!("kubernetes/creds/{ROLE}");
    assert!(
        eventually(Duration::from_secs(30), || bao.requests(&creds) == 2),
        "no successor was minted"
    );
    assert!(
        eventually(Duration::from_secs(10), || {
            env.run(&["cache", "list", "-o", "json"]).json()[0]["vaultLease"] != first
        }),
        "the successor was not kept"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_recreated_service_account_heals_through_vault() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-heal");
    setup(&env, &ns).ok();
    let old = env.run(&["token", "--context", "sa"]);
    recreate_viewer(&c, &ns, old.ok().stdout.trim());
    // As for an admin context's entry: at most one command fails, one new
    // TokenRequest (the engine's), the reason said; through Vault, once.
    three_commands_heal(&c, &env, &ns, "the API server no longer accepts it");
    assert_eq!(bao.requests(&format!("kubernetes/creds/{ROLE}")), 2);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn tls_with_bao_cacert_and_an_impostor_ca_refused() {
    let c = Cluster::get();
    let bao = Bao::start(&c, true);
    assert!(bao.address.starts_with("https://"));
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-tls");
    let out = setup(&env, &ns);
    out.ok();
    // The exec entry names the CA it was set up with.
    let yaml = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(yaml.contains("--vault-ca"), "{yaml}");
    // Another CA (the cluster's) for the same address: refused at TLS,
    // nothing asked, nothing minted.
    env.run(&["cache", "clear", "--all"]).ok();
    let before = bao.all_requests();
    let mut impostor = env;
    impostor.env.retain(|(k, _)| k != "BAO_CACERT");
    impostor
        .env
        .push(("BAO_CACERT".into(), c.ca().display().to_string()));
    let out = impostor.run(&[
        "whoami",
        "--source",
        "vault",
        "--vault-role",
        ROLE,
        &sa(&ns),
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("TLS failure talking to Vault"),
        "{}",
        out.stderr
    );
    assert_eq!(bao.all_requests(), before);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_engine_for_another_cluster_is_refused_before_anything_is_asked() {
    let c = Cluster::get();
    let bao = Bao::start(&c, false);
    let (ns, env) = vault_env(&c, &bao, "e2e-vault-bound");
    setup(&env, &ns).ok();
    env.run(&["cache", "clear", "--all"]).ok();
    // The engine now mints on another server (the same CA, another port).
    bao.cli(&[
        "write",
        "kubernetes/config",
        "kubernetes_host=https://127.0.0.2:6443",
        &format!("kubernetes_ca_cert=@{}", c.ca().display()),
    ])
    .ok();
    let out = c.kubectl(&env, &whoami_args());
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("cluster binding"), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was asked of it"),
        "{}",
        out.stderr
    );
    assert_eq!(
        bao.requests(&format!("kubernetes/creds/{ROLE}")),
        1,
        "only setup's"
    );
}
