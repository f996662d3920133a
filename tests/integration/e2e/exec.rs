//! Issue 36: `exec IDENTITY -- COMMAND` and `shell`. Any program runs as
//! the ServiceAccount with a kubeconfig of its own (memory-backed, 0600,
//! gone when it ends, also on signals), the user's kubeconfig untouched;
//! a refusal shows before COMMAND runs; COMMAND's status is exec's; an
//! exec inside another of another identity is refused.

use super::clients::python;
use super::*;

/// `exec --admin-context admin NS/viewer -- ARGS` in `env`.
fn exec_cmd(env: &TestEnv, ns: &str, args: &[&str]) -> Command {
    let sa = sa(ns);
    let mut all = vec!["exec", "--admin-context", "admin", sa.as_str(), "--"];
    all.extend_from_slice(args);
    env.cmd(&all)
}

fn exec(env: &TestEnv, ns: &str, args: &[&str]) -> Out {
    Out::from(exec_cmd(env, ns, args).output().unwrap())
}

/// What exec left in the env's runtime directory: its kubeconfigs' dirs.
fn leftovers(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(env.runtime_dir().join("kube-sa-token"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("exec-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_command_runs_as_the_service_account_and_the_users_kubeconfig_is_untouched() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec");
    let env = c.admin_env();
    let before = std::fs::read(&env.kubeconfig).unwrap();
    let minted_before = c.token_requests_settled();
    let kubectl = c.kubectl_path();
    let kubectl = kubectl.to_str().unwrap();
    let who = exec(
        &env,
        &ns,
        &[
            kubectl,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
    );
    assert_eq!(username(&who), format!("system:serviceaccount:{ns}:viewer"));
    // The namespace is the context's default; RBAC as the ServiceAccount.
    exec(
        &env,
        &ns,
        &[kubectl, "get", "serviceaccounts", "-o", "name"],
    )
    .ok();
    let create = exec(&env, &ns, &[kubectl, "create", "configmap", "x"]);
    assert_eq!(create.code, 1, "{}", create.stderr);
    assert!(create.stderr.contains("forbidden"), "{}", create.stderr);
    // What COMMAND sees.
    let seen = exec(
        &env,
        &ns,
        &[
            "sh",
            "-c",
            &format!(
                "echo \"$KUBECONFIG\"; echo \"$KUBE_SA_TOKEN_IDENTITY\"; stat -c %a \"$KUBECONFIG\" \"$(dirname \"$KUBECONFIG\")\"; {kubectl} config view --minify -o 'jsonpath={{..namespace}}'"
            ),
        ],
    );
    seen.ok();
    let lines: Vec<&str> = seen.stdout.lines().collect();
    assert!(
        lines[0].starts_with(env.runtime_dir().to_str().unwrap()),
        "{}",
        seen.stdout
    );
    assert_eq!(lines[1], format!("{ns}/viewer@test"));
    assert_eq!(
        &lines[2..5],
        &["600", "700", ns.as_str()],
        "{}",
        seen.stdout
    );
    assert!(!Path::new(lines[0]).exists(), "removed after the command");
    assert_eq!(
        std::fs::read(&env.kubeconfig).unwrap(),
        before,
        "the user's kubeconfig changed"
    );
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
    // exec's own mint is the one the command's kubectl finds cached: one
    // TokenRequest for all of the above.
    assert_eq!(c.token_requests_settled() - minted_before, 1);
    // COMMAND's status is exec's.
    assert_eq!(exec(&env, &ns, &["sh", "-c", "exit 7"]).code, 7);
    // The Python client, inside exec, acts as the ServiceAccount.
    let py = exec(
        &env,
        &ns,
        &[
            python().to_str().unwrap(),
            "-c",
            "from kubernetes import client, config\nconfig.load_kube_config()\nr = client.AuthenticationV1Api().create_self_subject_review(client.V1SelfSubjectReview())\nprint(r.status.user_info.username)",
        ],
    );
    assert_eq!(username(&py), format!("system:serviceaccount:{ns}:viewer"));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_refusal_shows_before_the_command_runs() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec-refused");
    let env = c.admin_env();
    let marker = env.root().join("ran");
    let sa = format!("{ns}/nobody");
    let out = Out::from(
        env.cmd(&[
            "exec",
            "--admin-context",
            "admin",
            &sa,
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .output()
        .unwrap(),
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(!marker.exists(), "the command ran");
    let missing = exec(&env, &ns, &["/nonexistent/program"]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("cannot run /nonexistent/program"),
        "{}",
        missing.stderr
    );
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

/// Starts exec with `script` as COMMAND; waits (bounded) until it wrote
/// its kubeconfig's path to `env.root()/kubeconfig-path`.
fn started(env: &TestEnv, ns: &str, script: &str) -> (std::process::Child, PathBuf) {
    let path_file = env.root().join("kubeconfig-path");
    let _ = std::fs::remove_file(&path_file);
    let child = exec_cmd(
        env,
        ns,
        &[
            "sh",
            "-c",
            &format!(
                "echo \"$KUBECONFIG\" > {}.tmp; mv {0}.tmp {0}; {script}",
                path_file.display()
            ),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || path_file.exists()),
        "the command did not start"
    );
    let kubeconfig = PathBuf::from(std::fs::read_to_string(&path_file).unwrap().trim());
    (child, kubeconfig)
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn signals_reach_the_command_and_the_kubeconfig_goes_with_it() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec-signals");
    let env = c.admin_env();
    // SIGTERM to exec: passed on; the command ends its own way (exit 3).
    let got = env.root().join("got-term");
    let (child, kubeconfig) = started(
        &env,
        &ns,
        &format!(
            "trap 'touch {}; exit 3' TERM; while :; do sleep 0.1; done",
            got.display()
        ),
    );
    assert!(kubeconfig.exists());
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(got.exists(), "the command did not get SIGTERM");
    assert!(!kubeconfig.exists(), "the kubeconfig outlived the command");
    // The command killed: exec says so as a shell would (128 + 9).
    let pid_file = env.root().join("command-pid");
    let (child, kubeconfig) = started(
        &env,
        &ns,
        &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
    );
    assert!(eventually(Duration::from_secs(10), || pid_file.exists()));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(
        Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    assert!(!kubeconfig.exists(), "the kubeconfig outlived the command");
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_exec_inside_another_identitys_is_refused() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec-nested");
    c.admin(&["-n", &ns, "create", "serviceaccount", "other"])
        .ok();
    let env = c.admin_env();
    let bin = &*support::BIN;
    let other = format!("{ns}/other");
    // Inside, KUBECONFIG is the command's own: the admin's is named.
    let admin = env.kubeconfig.display();
    let inner = |extra: &str, sa: &str| {
        format!("{bin} exec --kubeconfig {admin} --admin-context admin {extra} {sa} -- true")
    };
    let nested = exec(&env, &ns, &["sh", "-c", &inner("", &other)]);
    assert_eq!(nested.code, 6, "{}", nested.stderr);
    assert!(
        nested.stderr.contains(&format!(
            "already inside `kube-sa-token exec` as {ns}/viewer@test: running {ns}/other"
        )),
        "{}",
        nested.stderr
    );
    exec(&env, &ns, &["sh", "-c", &inner("--allow-nested", &other)]).ok();
    exec(&env, &ns, &["sh", "-c", &inner("", &sa(&ns))]).ok();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_shell_under_a_terminal_runs_a_command_as_the_service_account() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-shell");
    let env = c.admin_env();
    let kubectl = c.kubectl_path();
    let session = format!("{} shell --admin-context admin {}", &*support::BIN, sa(&ns));
    let mut script = Command::new("script");
    script.args(["-qec", &session, "/dev/null"]);
    env.isolate(&mut script);
    script
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = script.spawn().unwrap();
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            "echo \"who=$({} auth whoami -o jsonpath={{.status.userInfo.username}})\"; echo \"id=$KUBE_SA_TOKEN_IDENTITY\"; exit",
            kubectl.display()
        )
        .unwrap();
    }
    let out = Out::from(child.wait_with_output().unwrap());
    assert!(
        out.stdout
            .contains(&format!("who=system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!("id={ns}/viewer@test")),
        "{}",
        out.stdout
    );
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_x509_user_and_group_through_exec() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec-user");
    c.admin(&[
        "-n",
        &ns,
        "create",
        "rolebinding",
        "devs-view",
        "--clusterrole=view",
        "--group=exec-devs",
    ])
    .ok();
    let env = c.admin_env();
    let kubectl = c.kubectl_path();
    let kubectl = kubectl.to_str().unwrap();
    // exec as exec-alice in group exec-devs.
    let as_alice = |command: &[&str]| {
        let who = [
            "exec",
            "--admin-context",
            "admin",
            "--user",
            "exec-alice",
            "--group",
            "exec-devs",
            "-n",
            &ns,
            "--",
        ];
        env.run(&[&who[..], command].concat())
    };
    let out = as_alice(&[kubectl, "get", "serviceaccounts", "-o", "name"]);
    out.ok();
    assert!(
        out.stdout.contains("serviceaccount/viewer"),
        "{}",
        out.stdout
    );
    let who = as_alice(&[
        kubectl,
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(username(&who), "exec-alice");
    // The same user inside its own exec: not another identity.
    let admin = env.kubeconfig.display();
    let bin = &*support::BIN;
    as_alice(&[
        "sh",
        "-c",
        &format!("{bin} exec --kubeconfig {admin} --admin-context admin --user exec-alice --group exec-devs -n {ns} -- true"),
    ])
    .ok();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn print_env_points_a_shell_at_the_identity_until_clean() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-exec-env");
    let env = c.admin_env();
    let before = std::fs::read(&env.kubeconfig).unwrap();
    let bin = &*support::BIN;
    let kubectl = c.kubectl_path();
    let kubectl = kubectl.display();
    let sa = sa(&ns);
    let whoami = format!("{kubectl} auth whoami -o jsonpath={{.status.userInfo.username}}");
    // sh: eval, then kubectl as the identity.
    let mut sh = Command::new("sh");
    sh.args([
        "-c",
        &format!(
            "eval \"$({bin} exec --print-env --admin-context admin {sa})\"; echo \"$({whoami})\"; echo \"$KUBE_SA_TOKEN_IDENTITY\"; echo \"$KUBECONFIG\""
        ),
    ]);
    env.isolate(&mut sh);
    sh.env("SHELL", "/bin/sh");
    let out = Out::from(sh.output().unwrap());
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("system:serviceaccount:{ns}:viewer"),
        "{}",
        out.stderr
    );
    assert_eq!(lines[1], format!("{sa}@test"));
    let kept = PathBuf::from(lines[2]);
    assert!(kept.starts_with(env.runtime_dir()), "{}", kept.display());
    // fish: its own syntax.
    let mut fish = Command::new("fish");
    fish.args([
        "-c",
        &format!("eval ({bin} exec --print-env --admin-context admin {sa}); {whoami}"),
    ]);
    env.isolate(&mut fish);
    fish.env("SHELL", "/usr/bin/fish");
    let out = Out::from(fish.output().unwrap());
    assert_eq!(username(&out), format!("system:serviceaccount:{ns}:viewer"));
    assert!(kept.exists(), "kept until clean");
    assert_eq!(std::fs::read(&env.kubeconfig).unwrap(), before);
    let out = env.run(&["exec", "--clean"]);
    out.ok();
    assert!(
        out.stdout.contains("removed 1 kubeconfig"),
        "{}",
        out.stdout
    );
    assert!(!kept.exists());
}
