//! Issue 20 items 1 and 2: the admin side under failure. A failing admin
//! login, or an API server that does not answer, is tried a few times for
//! a storm of calls, not once per call; a login that needs a terminal is
//! refused at once, saying how to log in.

use std::path::PathBuf;

use super::admin_contexts::{admin_login, ca, cluster_body, kubeconfig, runs};
use super::*;

/// An admin login that fails (like an expired SSO session) while
/// `broken` exists; see [`admin_login`].
fn flaky_login(env: &TestEnv, token: &str, mode: &str) -> (PathBuf, PathBuf, String) {
    let broken = env.root().join("login-broken");
    let login = admin_login(
        env,
        token,
        mode,
        &format!(
            "if [ -e '{}' ]; then echo 'admin-login: the session expired' >&2; exit 1; fi",
            broken.display()
        ),
    );
    (login.runs, broken, login.user)
}

/// A failed call that says `needle`; the admin login's own stderr passes
/// through above our one line, as kubectl passes a plugin's.
fn fails(out: Out, needle: &str) {
    assert_ne!(out.code, 0);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_failing_admin_login_runs_a_few_times_for_a_hundred_kubectl_calls() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-backoff");
    let token = c.minter_token(&ns);
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = TestEnv::builder().build();
    let (count, broken, user) = flaky_login(&env, &token, "Never");
    let cluster = cluster_body(&c.server, &ca(&c));
    std::fs::write(
        &env.kubeconfig,
        kubeconfig(&cluster, &user, &cluster, "v1", &args),
    )
    .unwrap();
    std::fs::write(&broken, "").unwrap();

    // 100 kubectl calls in a tight loop, as an IDE or `watch` makes them.
    let mut backed_off = 0;
    for _ in 0..100 {
        let out = c.kubectl(&env, &whoami_args());
        assert_ne!(out.code, 0);
        assert!(
            out.stderr.contains("its exec plugin")
                && out.stderr.contains("failed with exit status 1"),
            "every call says why: {}",
            out.stderr
        );
        if out.stderr.contains("not tried again") {
            backed_off += 1;
        }
    }
    let logins = runs(&count);
    assert!(logins <= 10, "{logins} admin logins for 100 calls");
    assert!(
        backed_off >= 90,
        "{backed_off} calls answered without a login"
    );
    eprintln!("100 kubectl calls: {logins} admin logins, {backed_off} answered at once");

    // Fixed, and said so: the next call logs in and works.
    std::fs::remove_file(&broken).unwrap();
    let mut retry = env.get(None, &args);
    if retry.code != 0 {
        // Still inside the window: KUBE_SA_TOKEN_RETRY_NOW tries at once.
        assert!(retry.stderr.contains("not tried again"), "{}", retry.stderr);
        let mut cmd = env.cmd(&[&["get"][..], &args].concat());
        cmd.env("KUBE_SA_TOKEN_RETRY_NOW", "1");
        retry = Out::from(cmd.output().unwrap());
    }
    retry.ok();
    assert_eq!(runs(&count), logins + 1);

    // Broken again (the entry cleared, so the next call must mint): once
    // the window has passed, the first call after the fix works.
    env.run(&["cache", "clear", "--all"]).ok();
    std::fs::write(&broken, "").unwrap();
    fails(env.get(None, &args), "failed with exit status 1");
    fails(env.get(None, &args), "not tried again");
    std::fs::remove_file(&broken).unwrap();
    env.get_at("+2m", &support::exec_info("v1", None), &args)
        .ok();

    // A change to the admin kubeconfig is a fix too: tried at once.
    env.run(&["cache", "clear", "--all"]).ok();
    std::fs::write(&broken, "").unwrap();
    fails(env.get(None, &args), "failed with exit status 1");
    std::fs::remove_file(&broken).unwrap();
    let mut config = std::fs::read_to_string(&env.kubeconfig).unwrap();
    config.push_str("# edited\n");
    std::fs::write(&env.kubeconfig, config).unwrap();
    env.get(None, &args).ok();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_frozen_api_server_is_asked_a_few_times_for_a_hundred_calls() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-backoff-frozen");
    let sa = sa(&ns);
    let env = c.admin_env();
    let mut args = vec!["--kubeconfig", c.admin_kubeconfig.to_str().unwrap()];
    args.extend(entry(&sa, "file"));
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    let frozen = c.freeze();
    let mut attempts = 0;
    let mut longest = Duration::ZERO;
    for _ in 0..100 {
        let start = std::time::Instant::now();
        let out = env.get(Some(&info), &args);
        longest = longest.max(start.elapsed());
        assert_ne!(out.code, 0);
        assert!(out.stdout.is_empty());
        if !out.stderr.contains("not tried again") {
            attempts += 1;
        }
    }
    drop(frozen);
    assert!(attempts <= 10, "{attempts} attempts for 100 calls");
    // No call waits longer than the client's connect timeout (10 s), with
    // room for a loaded machine.
    assert!(longest < Duration::from_secs(25), "a call took {longest:?}");
    eprintln!("frozen server, 100 calls: {attempts} attempts, longest call {longest:?}");
    // Answering again: once the window passes, the next call mints.
    env.get_at("+2m", &info, &args).ok();
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_login_that_needs_a_terminal_is_refused_at_once_saying_how_to_log_in() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-always");
    let token = c.minter_token(&ns);
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = TestEnv::builder().build();
    let (count, _, user) = flaky_login(&env, &token, "Always");
    let cluster = cluster_body(&c.server, &ca(&c));
    std::fs::write(
        &env.kubeconfig,
        kubeconfig(&cluster, &user, &cluster, "v1", &args),
    )
    .unwrap();
    let out = env.get(None, &args);
    out.fails_with("needs a terminal (interactiveMode: Always) and there is none");
    assert!(
        out.stderr.contains("kubectl --context admin auth whoami"),
        "{}",
        out.stderr
    );
    assert_eq!(runs(&count), 0, "the login never ran unseen");
}

/// `interactiveMode: IfAvailable`: the admin login is told
/// `spec.interactive: true`, and gets our stdin, only when a terminal is
/// really there (a pseudo-terminal from `script`); under kubectl, none.
/// Its stderr (a device-code prompt) is the user's either way.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_if_available_login_is_interactive_only_on_a_terminal() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-ifavailable");
    let token = c.minter_token(&ns);
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = TestEnv::builder().build();
    let info_file = env.root().join("exec-info");
    let user = admin_login(
        &env,
        &token,
        "IfAvailable",
        &format!(
            "printf '%s' \"$KUBERNETES_EXEC_INFO\" > '{info}'\nif [ -t 0 ]; then echo stdin-tty >> '{info}.stdin'; else echo stdin-none >> '{info}.stdin'; fi\necho 'To sign in, open https://login.example/device and enter CODE-1234' >&2",
            info = info_file.display()
        ),
    )
    .user;
    let cluster = cluster_body(&c.server, &ca(&c));
    std::fs::write(
        &env.kubeconfig,
        kubeconfig(&cluster, &user, &cluster, "v1", &args),
    )
    .unwrap();
    let interactive = || -> serde_json::Value {
        let text = std::fs::read_to_string(&info_file).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["spec"]["interactive"].clone()
    };

    // Under kubectl: no terminal, so not interactive; the prompt is seen.
    let out = c.kubectl(&env, &whoami_args());
    out.ok();
    assert!(
        out.stderr.contains("CODE-1234"),
        "the prompt passes through: {}",
        out.stderr
    );
    assert_eq!(interactive(), false);

    // On a terminal (a pseudo-terminal from script(1)): interactive.
    env.run(&["cache", "clear", "--all"]).ok();
    let get: Vec<String> = std::iter::once(support::BIN.to_string())
        .chain(["get".to_string()])
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{a}'"))
        .collect();
    let mut tty = Command::new("script");
    tty.args(["-qec", &get.join(" "), "/dev/null"]);
    env.isolate(&mut tty);
    let out = Out::from(tty.output().unwrap());
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(interactive(), true);
    let stdin = std::fs::read_to_string(format!("{}.stdin", info_file.display())).unwrap();
    assert_eq!(
        stdin, "stdin-none\nstdin-tty\n",
        "our stdin, only on a terminal"
    );
}
