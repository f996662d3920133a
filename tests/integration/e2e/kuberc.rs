//! Issue 20 item 3: kubectl's credential plugin policy (kuberc, kubectl
//! 1.35+), with the real kubectl 1.37 of the test cluster. `setup` and
//! `doctor` say when kubectl would refuse our exec entry and print the
//! allowlist entry that lets it run; the admin context's exec plugin is
//! run only where kubectl would run it.

use super::admin_contexts::{AdminLogin, admin_login, ca, cluster_body, kubeconfig};
use super::*;

const HEAD: &str = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n";

/// The allowlist entry a warning printed (`name: PATH`, between backticks).
fn printed_entry(text: &str) -> String {
    let start = text
        .find("`name: ")
        .unwrap_or_else(|| panic!("no entry in: {text}"))
        + 7;
    text[start..].split('`').next().unwrap().to_string()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn kubectl_refuses_our_entry_until_the_printed_allowlist_entry_is_added() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-kuberc");
    let env = c.admin_env();
    let kuberc = env.home.join(".kube/kuberc");
    std::fs::write(&kuberc, format!("{HEAD}credentialPluginPolicy: DenyAll\n")).unwrap();
    let setup = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
    ]);
    setup.ok();
    assert!(
        setup
            .stderr
            .contains("warning: kubectl will not run this exec entry: plugin")
            && setup
                .stderr
                .contains("not allowed: policy set to \"DenyAll\""),
        "{}",
        setup.stderr
    );
    let path = printed_entry(&setup.stderr);
    let context = format!("{ns}/viewer@test");
    // kubectl 1.37 refuses it, in the words setup quoted.
    let refused = c.kubectl(&env, &["--context", &context, "auth", "whoami"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("not allowed: policy set to \"DenyAll\""),
        "{}",
        refused.stderr
    );
    let doctor = env.run(&["doctor", "--cache", "file"]);
    assert!(
        doctor.stdout.contains("kubectl will not run it: plugin") && doctor.stdout.contains(&path),
        "{}",
        doctor.stdout
    );
    assert_ne!(doctor.code, 0);

    // An allowlist without us: refused, and the entry to add is the same.
    std::fs::write(
        &kuberc,
        format!("{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/bin/true\n"),
    )
    .unwrap();
    let again = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
        "--dry-run",
    ]);
    again.ok();
    assert!(
        again
            .stderr
            .contains("is not permitted by the credential plugin allowlist"),
        "{}",
        again.stderr
    );
    assert_eq!(printed_entry(&again.stderr), path);
    assert_ne!(
        c.kubectl(&env, &["--context", &context, "auth", "whoami"])
            .code,
        0
    );

    // With the printed entry, kubectl runs it, and setup and doctor agree.
    std::fs::write(
        &kuberc,
        format!("{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr/bin/true\n- name: {path}\n"),
    )
    .unwrap();
    let who = c.kubectl(
        &env,
        &[
            "--context",
            &context,
            "auth",
            "whoami",
            "-ojsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    let quiet = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
        "--cache",
        "file",
        "--dry-run",
    ]);
    assert!(!quiet.stderr.contains("will not run"), "{}", quiet.stderr);
    let doctor = env.run(&["doctor", "--cache", "file"]);
    assert!(
        !doctor.stdout.contains("kubectl will not run it"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("kubectl's credential plugin policy in")
            && doctor.stdout.contains("Allowlist ("),
        "{}",
        doctor.stdout
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_admin_plugin_kubectl_would_refuse_is_refused_in_its_words() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-kuberc-admin");
    let token = c.minter_token(&ns);
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = TestEnv::builder().build();
    let AdminLogin { runs, script, user } = admin_login(&env, &token, "Never", "");
    let cluster = cluster_body(&c.server, &ca(&c));
    std::fs::write(
        &env.kubeconfig,
        kubeconfig(&cluster, &user, &cluster, "v1", &args),
    )
    .unwrap();
    // Only kube-sa-token itself is allowed; the admin's login is not.
    std::fs::write(
        env.home.join(".kube/kuberc"),
        format!(
            "{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {}\n",
            &*support::BIN
        ),
    )
    .unwrap();
    let expected = format!(
        "plugin path \"{}\" is not permitted by the credential plugin allowlist",
        script.display()
    );
    let kubectl = c.kubectl(&env, &["--context", "admin", "auth", "whoami"]);
    assert!(
        kubectl.stderr.contains(&expected),
        "kubectl's own words: {}",
        kubectl.stderr
    );
    let ours = env.get(None, &args);
    assert_ne!(ours.code, 0);
    assert!(ours.stderr.contains(&expected), "{}", ours.stderr);
    assert!(!runs.exists(), "the admin's login never ran");
    // Allowed too: it runs.
    std::fs::write(
        env.home.join(".kube/kuberc"),
        format!(
            "{HEAD}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {}\n- name: {}\n",
            &*support::BIN,
            script.display()
        ),
    )
    .unwrap();
    let mut retry = env.cmd(&[&["get"][..], &args].concat());
    retry.env("KUBE_SA_TOKEN_RETRY_NOW", "1");
    Out::from(retry.output().unwrap()).ok();
}
