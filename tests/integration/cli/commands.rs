//! The commands besides `get`, against the fake API server.

use super::*;

#[test]
fn cache_list_and_clear() {
    let api = FakeApi::start();
    let env = env_with(&api);
    env.get(None, SA).ok();
    let list = env.run(&["cache", "list"]);
    list.ok();
    assert!(
        list.stdout.contains("team/viewer")
            && list.stdout.contains("file")
            && list.stdout.contains(&api.server),
        "{}",
        list.stdout
    );
    let json = env.run(&["cache", "list", "-o", "json"]);
    let key = json.json()[0]["key"].as_str().unwrap().to_string();
    env.run(&["cache", "clear", "nonsense"])
        .fails_with("no cache entry matches \"nonsense\"");
    // Issue 24, item 2: without a target, what to give (and --all).
    env.run(&["cache", "clear"])
        .fails_with("or --all for every entry");
    // A key's first characters name it, like git's short hashes.
    let short = env.run(&["cache", "clear", &key[..8]]);
    short.ok();
    assert!(
        short.stdout.contains("removed 1 cache entry"),
        "{}",
        short.stdout
    );
    env.get(None, SA).ok();
    // And who it is for, as `cache list` shows it.
    env.run(&["cache", "clear", "team/viewer"]).ok();
    assert!(
        env.run(&["cache", "list"])
            .stdout
            .contains("no cached entries")
    );
    assert_eq!(
        std::fs::read_dir(env.cache_dir().join("tokens"))
            .unwrap()
            .count(),
        0
    );
    env.get(None, SA).ok();
    env.run(&["cache", "clear", "--all"]).ok();
    assert_eq!(
        std::fs::read_dir(env.cache_dir().join("tokens"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn logout_forgets_one_entry_and_says_the_token_lives_on() {
    let api = FakeApi::start();
    let env = env_with(&api);
    env.get(None, SA).ok();
    env.get(None, &for_sa("team/other")).ok();
    let out = env.run(&[
        "logout",
        "--admin-context",
        "admin",
        "--service-account",
        "team/viewer",
        "--cache",
        "file",
    ]);
    out.ok();
    assert!(
        out.stdout
            .contains("removed the cached token of team/viewer"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("stays valid on the server until"),
        "{}",
        out.stdout
    );
    let list = env.run(&["cache", "list"]).stdout;
    assert!(
        list.contains("team/other") && !list.contains("team/viewer"),
        "other entries survive: {list}"
    );
}

#[test]
fn inspect_a_given_token_and_stdin() {
    let env = TestEnv::builder().build();
    let t = now();
    let token = jwt(
        serde_json::json!({"iss": "https://x", "sub": "system:serviceaccount:a:b", "aud": ["x"], "iat": t, "exp": t + 3600,
        "kubernetes.io": {"namespace": "a", "serviceaccount": {"name": "b", "uid": "u"}, "secret": {"name": "s", "uid": "su"}}}),
    );
    // Issue 32: a token on argv is refused (exit 2, nothing printed of
    // it) unless asked for in so many words.
    let refused = env.run(&["inspect", &token]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stdout.is_empty());
    assert!(
        refused
            .stderr
            .contains("not taking a token from the command line")
            && refused.stderr.contains("--allow-argv-token")
            && !refused.stderr.contains(&token),
        "{}",
        refused.stderr
    );
    let out = env.run(&["inspect", "--allow-argv-token", &token]);
    out.ok();
    assert!(
        out.stdout.contains("bound token") && out.stdout.contains("Secret s (uid su)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&token));
    // Issue 17, finding 21: argv, when allowed, says where a token belongs.
    assert!(
        out.stderr.contains("visible to other users") && out.stderr.contains("--file"),
        "{}",
        out.stderr
    );
    let file = env.root().join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let out = env.run(&["inspect", "--file", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.json()["subject"], "system:serviceaccount:a:b");
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let out = env.run_with_stdin(&["inspect", "-", "-o", "json"], token.as_bytes());
    assert_eq!(out.json()["subject"], "system:serviceaccount:a:b");
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    std::fs::write(&file, "not-a-jwt").unwrap();
    env.run(&["inspect", "--file", file.to_str().unwrap()])
        .fails_with("not a decodable JWT");
}

/// Issue 24, item 10: `--help` lists the exit codes, as troubleshooting.md
/// does; a too-short duration is said in the units it was given in.
#[test]
fn help_lists_the_exit_codes_and_durations_read_back() {
    let env = TestEnv::builder().build();
    let help = env.run(&["--help"]);
    help.ok();
    // Both wrap their lines: compare the words.
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/troubleshooting.md"
    ))
    .unwrap();
    let (help, docs) = (words(&help.stdout), words(&docs));
    assert!(
        help.contains("Exit codes: 0 ok, 1 other failure, 2 usage"),
        "{help}"
    );
    for code in [
        "2 usage or bad",
        "3 kubeconfig or admin context",
        "5 token store",
        "6 refused for safety (cluster binding, recursion)",
    ] {
        assert!(docs.contains(code) && help.contains(code), "{code}");
    }
    env.run(&[
        "get",
        "--admin-context",
        "a",
        "--service-account",
        "s",
        "--duration",
        "5m",
    ])
    .fails_with("--duration 5m is too short: the API server's minimum is 10m");
}

#[cfg(unix)]
/// Issue 24, item 10: run as kubectl's plugin, the usage line says how it
/// was called.
#[test]
fn as_the_kubectl_plugin_the_usage_says_kubectl_sa_token() {
    let env = TestEnv::builder().build();
    let plugin = env.root().join("kubectl-sa_token");
    std::os::unix::fs::symlink(&*crate::support::BIN, &plugin).unwrap();
    let mut cmd = std::process::Command::new(&plugin);
    cmd.arg("whoami").arg("--help");
    env.isolate(&mut cmd);
    let out = crate::support::Out::from(cmd.output().unwrap());
    out.ok();
    assert!(
        out.stdout.contains("Usage: kubectl sa-token whoami"),
        "{}",
        out.stdout
    );
    let help = env.run(&["whoami", "--help"]);
    assert!(
        help.stdout.contains("Usage: kube-sa-token whoami"),
        "{}",
        help.stdout
    );
}

#[test]
fn setup_validation_failure_leaves_kubeconfig_alone() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let before = std::fs::read(&env.kubeconfig).unwrap();
    // The fake admin may do nothing in namespace "locked": setup must stop.
    let out = env.run(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        "locked",
        "viewer",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("SelfSubjectAccessReview said no"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&env.kubeconfig).unwrap(), before);
    env.run(&["setup", "--admin-context", "nope", "-n", "team", "viewer"])
        .fails_with("context \"nope\" not found");
}

#[test]
fn kubeconfig_export_has_an_exec_entry() {
    let api = FakeApi::start();
    let env = env_with(&api);
    let out = env.run(&[
        "kubeconfig",
        "--admin-context",
        "admin",
        "-n",
        "team",
        "viewer",
        "--cache",
        "file",
    ]);
    out.ok();
    let v: serde_yaml::Value = serde_yaml::from_str(&out.stdout).unwrap();
    let exec = &v["users"][0]["user"]["exec"];
    assert_eq!(
        exec["apiVersion"].as_str(),
        Some("client.authentication.k8s.io/v1")
    );
    assert_eq!(exec["provideClusterInfo"].as_bool(), Some(true));
    let args: Vec<&str> = exec["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The admin kubeconfig by absolute path (issue 24, item 4): the file
    // works as KUBECONFIG on its own.
    assert_eq!(
        args,
        [
            "get",
            "--kubeconfig",
            env.kubeconfig.to_str().unwrap(),
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
            "--cache",
            "file"
        ]
    );
    assert_eq!(
        v["clusters"][0]["cluster"]["server"].as_str(),
        Some(api.server.as_str())
    );
    assert_eq!(api.token_requests(), 0, "the exec form needs no token");
}

#[test]
fn version_and_completions() {
    let env = TestEnv::builder().build();
    let v = env.run(&["--version"]);
    v.ok();
    assert!(v.stdout.starts_with("kube-sa-token "));
    let c = env.run(&["completions", "bash"]);
    c.ok();
    assert!(c.stdout.contains("kube-sa-token"));
}

#[test]
fn doctor_reports_a_broken_exec_entry() {
    let api = FakeApi::start();
    let kc = format!(
        "{}- name: broken\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: kube-sa-token\n      args: [get, --admin-context, gone, --service-account, a/b]\n",
        api.kubeconfig()
    );
    let env = TestEnv::builder().kubeconfig(kc).build();
    let out = env.run(&["doctor", "--cache", "file"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stdout
            .contains("ok    the file store can write, read and delete"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL  user \"broken\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("interactiveMode is missing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("admin context \"gone\" not found"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("doctor found"), "{}", out.stderr);
}

/// Issue 22, defect 3: doctor reads exec entries with the real parser: the
/// attached form `--admin-context=NAME` is understood (it reported it
/// missing), and args `get` cannot parse are named with clap's reason.
#[test]
fn doctor_reads_exec_args_as_get_parses_them() {
    let api = FakeApi::start();
    let kc = format!(
        "{}- name: attached\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: kube-sa-token\n      interactiveMode: Never\n      provideClusterInfo: true\n      args: [get, --admin-context=gone, --service-account=a/b, --cache=file]\n- name: typo\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: kube-sa-token\n      interactiveMode: Never\n      provideClusterInfo: true\n      args: [get, --admin-context, admin, --service-acount, a/b]\n",
        api.kubeconfig()
    );
    let env = TestEnv::builder().kubeconfig(kc).build();
    let out = env.run(&["doctor", "--cache", "file"]);
    let line = |user: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("FAIL  user \"{user}\"")))
            .unwrap_or_else(|| panic!("no line for {user}: {}", out.stdout))
            .to_string()
    };
    let attached = line("attached");
    assert!(
        attached.contains("admin context \"gone\" not found"),
        "{attached}"
    );
    assert!(!attached.contains("is missing"), "{attached}");
    let typo = line("typo");
    assert!(
        typo.contains("its args do not parse as `get`: unexpected argument '--service-acount'"),
        "{typo}"
    );
}

/// Issue 24 item 10: doctor's lines say why the OS keyring is out in words
/// a user acts on; the libraries' error chains (zbus, socket addresses)
/// stay out of them.
#[test]
fn doctor_names_a_missing_session_bus_without_the_library_chain() {
    let env = TestEnv::builder().build();
    let mut c = env.cmd(&["doctor"]);
    let bus = env.root().join("no-bus");
    c.env(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", bus.display()),
    );
    let out = support::Out::from(c.output().unwrap());
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("--cache auto") && first.contains("no D-Bus session bus"),
        "{}",
        out.stdout
    );
    for chain in ["zbus", "Failed to connect", "os error", "no-bus"] {
        assert!(!out.stdout.contains(chain), "{chain}: {}", out.stdout);
    }
}

/// Issue 33, item 25: a reader that left (`inspect | head -1`) is no error
/// to report: no "Broken pipe" on stderr, exit 0.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let env = TestEnv::builder().build();
    let t = now();
    let token = jwt(
        serde_json::json!({"iss": "https://x", "sub": "system:serviceaccount:a:b", "iat": t, "exp": t + 3600}),
    );
    let file = env.root().join("token");
    std::fs::write(&file, &token).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = env
        .cmd(&["inspect", "--file", file.to_str().unwrap()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

/// Issue 33, item 7: `--context` naming no context points at `--context`,
/// with the context meant when the name is its identity part.
#[test]
fn a_context_typo_suggests_the_context_meant() {
    let api = FakeApi::start();
    let kubeconfig = api.kubeconfig().replace(
        "contexts:\n- name: admin\n",
        "contexts:\n- name: team/viewer@fake\n  context: {cluster: fake, user: admin}\n- name: admin\n",
    );
    assert!(kubeconfig.contains("team/viewer@fake"), "{kubeconfig}");
    let env = TestEnv::builder().kubeconfig(kubeconfig).build();
    let out = env.run(&["whoami", "--context", "team/viewer"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("did you mean --context team/viewer@fake?")
            && !out.stderr.contains("--admin-context"),
        "{}",
        out.stderr
    );
}
