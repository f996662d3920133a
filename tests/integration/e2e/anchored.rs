//! Issue 33, item 1: the entries `setup` writes work from any shell. An
//! admin context found through KUBECONFIG is named in the entry
//! (`--kubeconfig FILE`), so kubectl run without the variable (an IDE, k9s
//! from a launcher, cron) still finds it; one in the default
//! `~/.kube/config` is not, so the entry stays portable. An older entry
//! that finds no admin kubeconfig says which context and what to do.

use super::*;

const WHOAMI: [&str; 4] = [
    "auth",
    "whoami",
    "-o",
    "jsonpath={.status.userInfo.username}",
];

/// kubectl in `env` with `KUBECONFIG` set to `file`, or unset.
fn kubectl(c: &Cluster, env: &TestEnv, kubeconfig: Option<&Path>, args: &[&str]) -> Out {
    let mut k = Command::new(c.kubectl_path());
    k.args(args);
    env.isolate(&mut k);
    match kubeconfig {
        Some(f) => k.env("KUBECONFIG", f),
        None => k.env_remove("KUBECONFIG"),
    };
    Out::from(k.output().unwrap())
}

/// An env whose admin kubeconfig is a file of its own (not
/// `~/.kube/config`), and setup run with KUBECONFIG naming it, as the
/// README's Quickstart does.
fn set_up_through_kubeconfig_variable(c: &Cluster, ns: &str) -> (TestEnv, PathBuf, String) {
    let env = TestEnv::builder().build();
    let admin = env.root().join("admin.kubeconfig");
    std::fs::write(&admin, c.admin_yaml()).unwrap();
    let mut setup = env.cmd(&["setup", "--admin-context", "admin", "-n", ns, "viewer"]);
    setup.env("KUBECONFIG", &admin);
    let out = Out::from(setup.output().unwrap());
    out.ok();
    (env, admin, format!("{ns}/viewer@test"))
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_entry_works_with_kubeconfig_named_by_the_flag() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-anchored-flag");
    let (env, admin, context) = set_up_through_kubeconfig_variable(&c, &ns);
    let admin_arg = admin.to_str().unwrap();
    let mut args = vec!["--kubeconfig", admin_arg, "--context", &context];
    args.extend(WHOAMI);
    let who = kubectl(&c, &env, None, &args);
    who.ok();
    assert_eq!(who.stdout, format!("system:serviceaccount:{ns}:viewer"));
    // The entry names the admin kubeconfig by its absolute path.
    let text = std::fs::read_to_string(&admin).unwrap();
    assert!(
        text.contains("--kubeconfig") && text.contains(admin_arg),
        "{text}"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_entry_works_with_kubeconfig_named_by_the_variable() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-anchored-var");
    let (env, admin, context) = set_up_through_kubeconfig_variable(&c, &ns);
    let mut args = vec!["--context", context.as_str()];
    args.extend(WHOAMI);
    let who = kubectl(&c, &env, Some(&admin), &args);
    who.ok();
    assert_eq!(who.stdout, format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_entry_in_the_default_kubeconfig_works_without_the_variable() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-anchored-default");
    let env = c.admin_env();
    env.run(&["setup", "--admin-context", "admin", "-n", &ns, "viewer"])
        .ok();
    let context = format!("{ns}/viewer@test");
    let mut args = vec!["--context", context.as_str()];
    args.extend(WHOAMI);
    let who = kubectl(&c, &env, None, &args);
    who.ok();
    assert_eq!(who.stdout, format!("system:serviceaccount:{ns}:viewer"));
    // Found in the default file: the entry does not pin its path.
    let text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(!text.contains("--kubeconfig"), "{text}");
}

/// An entry written before (no `--kubeconfig`, its admin context in
/// another file), run by kubectl without KUBECONFIG: one line naming the
/// context and the way out.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_older_entry_that_finds_no_admin_kubeconfig_says_what_to_do() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-anchored-old");
    let env = TestEnv::builder().build();
    let admin = env.root().join("admin.kubeconfig");
    let yaml = c.kubeconfig_with_exec(
        "sa",
        "v1",
        &["--admin-context", "admin", "--service-account", &sa(&ns)],
        &c.server,
    );
    // As an older setup wrote it: no --kubeconfig in the entry.
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    for user in doc["users"].as_sequence_mut().unwrap() {
        if user["name"] == "sa" {
            let args = user["user"]["exec"]["args"].as_sequence_mut().unwrap();
            let at = args.iter().position(|a| a == "--kubeconfig").unwrap();
            args.drain(at..at + 2);
        }
    }
    std::fs::write(&admin, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let admin_arg = admin.to_str().unwrap();
    let mut args = vec!["--kubeconfig", admin_arg, "--context", "sa"];
    args.extend(WHOAMI);
    let out = kubectl(&c, &env, None, &args);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("admin context \"admin\"")
            && out.stderr.contains("run `kube-sa-token setup` again"),
        "{}",
        out.stderr
    );
}

/// Item 5: the command `setup --kubeconfig FILE` prints runs as printed,
/// from a shell without KUBECONFIG.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_next_command_setup_prints_runs_as_printed() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-anchored-next");
    let env = TestEnv::builder().build();
    let admin = env.root().join("admin.kubeconfig");
    std::fs::write(&admin, c.admin_yaml()).unwrap();
    let admin_arg = admin.to_str().unwrap();
    let mut setup = env.cmd(&[
        "setup",
        "--kubeconfig",
        admin_arg,
        "--admin-context",
        "admin",
        "-n",
        &ns,
        "viewer",
    ]);
    setup.env_remove("KUBECONFIG");
    let out = Out::from(setup.output().unwrap());
    out.ok();
    let line = out.stdout.trim().to_string();
    assert!(
        line.starts_with(&format!("kubectl --kubeconfig {admin_arg} --context ")),
        "{line}"
    );
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&line);
    env.isolate(&mut sh);
    sh.env_remove("KUBECONFIG").env(
        "PATH",
        format!(
            "{}:/usr/bin:/bin",
            c.kubectl_path().parent().unwrap().display()
        ),
    );
    let ran = Out::from(sh.output().unwrap());
    ran.ok();
    assert!(
        ran.stdout
            .contains(&format!("system:serviceaccount:{ns}:viewer")),
        "{}",
        ran.stdout
    );
}
