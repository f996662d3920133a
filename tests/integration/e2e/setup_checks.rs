//! Issue 24 item 6: everything an entry needs is checked before kubectl
//! meets it. `setup` refuses a store that does not work here and a
//! `--source secret` ServiceAccount without a token Secret, writing
//! nothing; `doctor` checks each exec entry's admin context (its rights for
//! that entry's options, in its namespace) and its store.

use super::*;

/// `args` with the value after `flag` set to `value`.
fn set_arg(args: &mut serde_yaml::Value, flag: &str, value: &str) {
    let args = args.as_sequence_mut().unwrap();
    let at = args.iter().position(|a| a.as_str() == Some(flag)).unwrap();
    args[at + 1] = value.into();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_and_doctor_check_what_an_entry_needs_before_kubectl_meets_it() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-checks");
    let env = c.admin_env();
    let no_bus = format!("unix:path={}", env.root().join("no-bus").display());
    let without_bus = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &no_bus);
        Out::from(cmd.output().unwrap())
    };
    let config = || std::fs::read(&env.kubeconfig).unwrap();
    let before = config();
    let setup = ["setup", "--admin-context", "admin", "-n", &ns, "viewer"];

    // A store that does not work here: exit 5, nothing written.
    let out = without_bus(&[&setup[..], &["--cache", "keyring"]].concat());
    out.fails_with("the store --cache keyring names does not work here");
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("no D-Bus session bus"),
        "{}",
        out.stderr
    );
    assert_eq!(config(), before);

    // --source secret for a ServiceAccount without a token Secret (none
    // since Kubernetes 1.24): exit 4, nothing written; with
    // --create-secret, get may make one, so setup passes.
    let secret = [&setup[..], &["--source", "secret", "--cache", "file"]].concat();
    let out = env.run(&secret);
    out.fails_with(&format!(
        "ServiceAccount {ns}/viewer has no token Secret; add --create-secret"
    ));
    assert_eq!(out.code, 4);
    assert_eq!(config(), before);
    env.run(&[&secret[..], &["--create-secret", "--dry-run"]].concat())
        .ok();

    // Two entries setup wrote, then changed behind its back: one to a store
    // that does not work here, one to an admin context without rights.
    for name in ["via-keyring", "via-weak"] {
        env.run(&[&setup[..], &["--cache", "file", "--context-name", name]].concat())
            .ok();
    }
    c.admin(&["-n", &ns, "create", "serviceaccount", "weak"])
        .ok();
    let weak_token = c.admin(&["-n", &ns, "create", "token", "weak"]);
    weak_token.ok();
    let weak_token = weak_token.stdout.trim();
    c.kubectl(
        &env,
        &["config", "set-credentials", "weak", "--token", weak_token],
    )
    .ok();
    c.kubectl(
        &env,
        &[
            "config",
            "set-context",
            "weak",
            "--cluster",
            "test",
            "--user",
            "weak",
        ],
    )
    .ok();
    let mut doc: serde_yaml::Value = serde_yaml::from_slice(&config()).unwrap();
    for u in doc["users"].as_sequence_mut().unwrap() {
        // (Indexing a YAML mapping mutably adds what is missing: only ours.)
        let (flag, value) = match u["name"].as_str() {
            Some("via-keyring") => ("--cache", "keyring"),
            Some("via-weak") => ("--admin-context", "weak"),
            _ => continue,
        };
        set_arg(&mut u["user"]["exec"]["args"], flag, value);
    }
    std::fs::write(&env.kubeconfig, serde_yaml::to_string(&doc).unwrap()).unwrap();

    let doctor = without_bus(&["doctor", "--cache", "file"]);
    assert_ne!(doctor.code, 0, "{}", doctor.stdout);
    for line in [
        "FAIL  user \"via-keyring\" (contexts: via-keyring) uses --cache keyring, which does not work here (".to_string(),
        format!(
            "FAIL  admin context \"weak\" may not get serviceaccounts in namespace \"{ns}\", create serviceaccounts/token in namespace \"{ns}\", so kubectl with user \"via-weak\" (contexts: via-weak) gets no new credential"
        ),
        "ok    admin context \"admin\" may mint for user \"via-keyring\" (contexts: via-keyring)".to_string(),
    ] {
        assert!(doctor.stdout.contains(&line), "{line}\n{}", doctor.stdout);
    }
    assert!(
        doctor.stdout.contains("no D-Bus session bus"),
        "{}",
        doctor.stdout
    );
    assert!(!doctor.stdout.contains(weak_token), "the token never shows");
    // And kubectl meets what doctor said.
    let kubectl = c.kubectl(&env, &["--context", "via-weak", "-n", &ns, "get", "pods"]);
    assert_ne!(kubectl.code, 0);
    assert!(
        kubectl
            .stderr
            .contains("may not create serviceaccounts/token"),
        "{}",
        kubectl.stderr
    );
}

/// Issue 33, item 8: after kubectl re-wrote the file (`use-context` there
/// and back adds `env: null` and reorders keys), the same `setup` changes
/// nothing, says so and keeps no second backup.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_again_after_kubectl_rewrote_the_file_changes_nothing() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-setup-again");
    let env = c.admin_env();
    let setup = ["setup", "--admin-context", "admin", "-n", &ns, "viewer"];
    env.run(&setup).ok();
    let context = format!("{ns}/viewer@test");
    for to in [context.as_str(), "admin"] {
        c.kubectl(&env, &["config", "use-context", to]).ok();
    }
    let rewritten = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(
        rewritten.contains("env: null"),
        "kubectl re-wrote it: {rewritten}"
    );
    let backups = || {
        std::fs::read_dir(env.kubeconfig.parent().unwrap())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".bak"))
            .count()
    };
    let before = backups();
    let again = env.run(&setup);
    again.ok();
    assert!(again.stderr.contains("nothing changed"), "{}", again.stderr);
    assert!(!again.stderr.contains("replaced"), "{}", again.stderr);
    assert_eq!(std::fs::read_to_string(&env.kubeconfig).unwrap(), rewritten);
    assert_eq!(backups(), before, "no second backup");
    let dry = env.run(&[&setup[..], &["--dry-run"]].concat());
    dry.ok();
    assert!(dry.stdout.contains("stays as it is in"), "{}", dry.stdout);
    assert!(!dry.stdout.contains("would be replaced"), "{}", dry.stdout);
}

/// Issue 33: `setup --remove` undoes setup: its user and context go (the
/// current context with them), kubectl no longer finds the context, a user
/// of that name that setup did not write stays, and the cached credential
/// stays for `logout`, which it names.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn setup_remove_undoes_setup_and_nothing_else() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-setup-remove");
    let env = c.admin_env();
    let setup = ["setup", "--admin-context", "admin", "-n", &ns, "viewer"];
    let before = std::fs::read_to_string(&env.kubeconfig).unwrap();
    env.run(&[&setup[..], &["--use"]].concat()).ok();
    let context = format!("{ns}/viewer@test");
    c.kubectl(&env, &["auth", "whoami"]).ok();
    let out = env.run(&[&setup[..], &["--remove"]].concat());
    out.ok();
    assert!(
        out.stdout.contains(&format!(
            "removed user \"{context}\", context \"{context}\" from"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "to forget it now: kube-sa-token logout --admin-context admin {ns}/viewer"
        )),
        "{}",
        out.stdout
    );
    let after = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(!after.contains(&context), "{after}");
    assert!(
        after.contains("current-context: ''") || after.contains("current-context: \"\""),
        "{after}"
    );
    let gone = c.kubectl(&env, &["--context", &context, "auth", "whoami"]);
    assert_ne!(gone.code, 0);
    // The rest of the file as it was (less the current context).
    let without = |t: &str| {
        let mut v: serde_yaml::Value = serde_yaml::from_str(t).unwrap();
        v.as_mapping_mut().unwrap().remove("current-context");
        v
    };
    assert_eq!(without(&after), without(&before));
    assert!(!only_key(&env).is_empty(), "the cached credential stays");

    // A user of that name setup did not write is left as it is.
    c.kubectl(
        &env,
        &[
            "config",
            "set-credentials",
            &context,
            "--token=someone-elses",
        ],
    )
    .ok();
    let again = env.run(&[&setup[..], &["--remove"]].concat());
    again.ok();
    assert!(
        again.stderr.contains("is not an exec entry setup wrote"),
        "{}",
        again.stderr
    );
    assert!(
        std::fs::read_to_string(&env.kubeconfig)
            .unwrap()
            .contains("someone-elses")
    );
}
