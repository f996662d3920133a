//! Refresh-ahead on the real cluster, with libfaketime: past the middle of
//! its token's serve window, a hit answers at once and one background process
//! mints the successor; kubectl never waits for it.

use super::admin_contexts::{get_user, get_user_at, kubeconfig_of};
use super::*;

/// An admin login that takes as long as the test wants: it waits for the
/// file `go` before printing its credential, and logs `start`/`end`.
fn gated_login(env: &TestEnv, token: &str) -> (PathBuf, PathBuf, String) {
    let runs = env.root().join("login-runs");
    let go = env.root().join("go");
    let script = env.root().join("login");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho start >> '{runs}'\ni=0\nwhile [ ! -e '{go}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\necho end >> '{runs}'\nprintf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n",
            runs = runs.display(),
            go = go.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    let user = format!(
        "{{exec: {{apiVersion: client.authentication.k8s.io/v1, command: \"{}\", interactiveMode: Never}}}}",
        script.display()
    );
    (runs, go, user)
}

/// The pid of the running `get --refresh-in-background` for `sa`.
fn background_refresh(sa: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|d| {
        let pid: u32 = d.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(d.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        (args.contains(&&b"--refresh-in-background"[..]) && args.contains(&sa.as_bytes()))
            .then_some(pid)
    })
}

fn count(runs: &Path, what: &str) -> usize {
    std::fs::read_to_string(runs)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == what)
        .count()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_token_past_half_its_window_is_refreshed_in_the_background() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-refresh");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = TestEnv::builder().build();
    let (runs, go, admin) = gated_login(&env, &c.minter_token(&ns));
    let cluster = format!(
        "{{server: \"{}\", certificate-authority: \"{}\"}}",
        c.server,
        c.ca().display()
    );
    // Context "later" runs the plugin 25 minutes later: past the middle (24
    // minutes) of a one-hour token's 48-minute serve window.
    std::fs::write(
        &env.kubeconfig,
        kubeconfig_of(
            &[("test", &cluster)],
            &[
                ("admin", "test", "admin"),
                ("sa", "test", "sa"),
                ("later", "test", "later"),
            ],
            &[
                ("admin", &admin),
                ("sa", &get_user("v1", &args)),
                ("later", &get_user_at("+25m", &args)),
            ],
        ),
    )
    .unwrap();
    let whoami = |context: &str| {
        username(&c.kubectl(
            &env,
            &[
                "--context",
                context,
                "auth",
                "whoami",
                "-ojsonpath={.status.userInfo.username}",
            ],
        ))
    };
    let me = format!("system:serviceaccount:{ns}:viewer");

    std::fs::write(&go, "").unwrap();
    let before = c.token_requests_settled();
    assert_eq!(whoami("sa"), me);
    let first = cached_token_file(&env);
    std::fs::remove_file(&go).unwrap();

    // Past the middle: answered with the cached token while the background
    // refresh waits for its login, which cannot end before `go` exists.
    assert_eq!(whoami("later"), me);
    assert_eq!(cached_token_file(&env), first);
    assert_eq!(
        count(&runs, "end"),
        1,
        "kubectl did not wait for the background mint"
    );
    assert!(
        eventually(Duration::from_secs(30), || count(&runs, "start") == 2),
        "no background refresh started"
    );
    // Detached: a session of its own (no terminal, no Ctrl-C meant for
    // kubectl), below kubectl's priority, holding none of its pipes.
    let pid = background_refresh(&sa).expect("the background refresh process");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(fields[3], pid.to_string(), "session id: {stat}");
    assert_eq!(fields[16], "10", "nice value: {stat}");
    for fd in 0..3 {
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap(),
            Path::new("/dev/null")
        );
    }

    // A second refresher while the first holds the lock: it does nothing.
    let mut racer = env.cmd_at(
        "+25m",
        &[&["get"][..], &args, &["--refresh-in-background"]].concat(),
    );
    racer.env(
        "KUBERNETES_EXEC_INFO",
        support::exec_info_with_ca("v1", &c.server, &c.ca()),
    );
    let raced = racer.status().unwrap();
    assert!(raced.success());
    assert_eq!(count(&runs, "start"), 2, "the racer found the lock held");

    // Let the login finish: the successor is cached, minted once.
    std::fs::write(&go, "").unwrap();
    assert!(
        eventually(Duration::from_secs(30), || cached_token_file(&env) != first),
        "the background refresh did not replace the token"
    );
    assert_eq!(
        c.token_requests_settled() - before,
        2,
        "the first mint and one refresh"
    );
    // The next call gets it from the cache, and it is not due again.
    assert_eq!(whoami("later"), me);
    assert_eq!(count(&runs, "start"), 2);
    assert_eq!(c.token_requests_settled() - before, 2);
}

/// An env whose admin context logs in through [`gated_login`], with a token
/// for `args` minted once (the gate open); the gate is left open. Returns
/// the env, the login's run log, the gate file and the exec info.
fn minted_through_gated_login(
    c: &Cluster,
    ns: &str,
    args: &[&str],
) -> (TestEnv, PathBuf, PathBuf, String) {
    let env = TestEnv::builder().build();
    let (runs, go, admin) = gated_login(&env, &c.minter_token(ns));
    let cluster = format!(
        "{{server: \"{}\", certificate-authority: \"{}\"}}",
        c.server,
        c.ca().display()
    );
    std::fs::write(
        &env.kubeconfig,
        kubeconfig_of(
            &[("test", &cluster)],
            &[("admin", "test", "admin"), ("sa", "test", "sa")],
            &[("admin", &admin), ("sa", &get_user("v1", args))],
        ),
    )
    .unwrap();
    let info = support::exec_info_with_ca("v1", &c.server, &c.ca());
    std::fs::write(&go, "").unwrap();
    env.get(Some(&info), args).ok();
    (env, runs, go, info)
}

/// Issue 17, finding 10: the background refresh holds none of the
/// descriptors its caller had open above stderr (a pipeline around a call
/// waited for the background mint through one).
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_background_refresh_keeps_none_of_its_callers_descriptors() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-refresh-fds");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let (env, runs, go, info) = minted_through_gated_login(&c, &ns, &args);
    std::fs::remove_file(&go).unwrap();

    // 25 minutes later, through a shell that holds fd 3 open on a marker.
    let marker = env.root().join("caller-fd-3");
    let (bin, faked) = support::faketime("+25m");
    let mut call = Command::new("bash");
    call.args(["-c", "exec 3>\"$0\"; exec \"$@\""])
        .arg(&marker)
        .arg(bin)
        .arg("get")
        .args(args);
    env.isolate(&mut call);
    call.envs(faked).env("KUBERNETES_EXEC_INFO", &info);
    Out::from(call.output().unwrap()).ok();
    assert!(
        eventually(Duration::from_secs(30), || count(&runs, "start") == 2),
        "no background refresh started"
    );
    let pid = background_refresh(&sa).expect("the background refresh, waiting at its login");
    let held: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .collect();
    assert!(
        !held.iter().any(|p| p == &marker),
        "the caller's fd 3 was inherited: {held:?}"
    );
    std::fs::write(&go, "").unwrap();
    assert!(eventually(Duration::from_secs(30), || count(&runs, "end") == 2));
}

/// Issue 17, finding 5: a background refresh whose admin login never ends
/// (a device-code prompt nobody sees) ends itself and the login after its
/// 30 s deadline, and says why in refresh.log; the entry's lock is free
/// again and the cached token is untouched.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_stuck_background_refresh_ends_itself_and_its_login() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-refresh-deadline");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let (env, runs, go, info) = minted_through_gated_login(&c, &ns, &args);
    let first = cached_token_file(&env);
    std::fs::remove_file(&go).unwrap();

    // The refresh as a hit starts it: its own session, past the middle.
    let (bin, faked) = support::faketime("+25m");
    let mut refresh = Command::new("setsid");
    refresh
        .arg("--wait")
        .arg(bin)
        .arg("get")
        .args(args)
        .arg("--refresh-in-background");
    env.isolate(&mut refresh);
    refresh.envs(faked).env("KUBERNETES_EXEC_INFO", &info);
    let started = std::time::Instant::now();
    let status = refresh.status().unwrap();
    let took = started.elapsed();
    assert!(!status.success(), "{status:?}");
    assert!(took < Duration::from_secs(120), "ended after {took:?}");
    assert_eq!(count(&runs, "start"), 2, "the login was started");
    // Its login went with it (the whole process group).
    let script = env.root().join("login");
    let login_running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|d| {
            std::fs::read(d.path().join("cmdline")).is_ok_and(|c| {
                c.windows(script.as_os_str().len())
                    .any(|w| w == script.as_os_str().as_encoded_bytes())
            })
        })
    };
    assert!(
        eventually(Duration::from_secs(10), || !login_running()),
        "the stuck login outlived the refresh"
    );
    assert_eq!(count(&runs, "end"), 1);
    let log = std::fs::read_to_string(env.cache_dir().join("refresh.log")).unwrap();
    // Its exec plugin is ended at the refresh's deadline less a margin, so
    // the log says which part hung.
    assert!(
        log.contains("its exec plugin")
            && log.contains("did not finish within")
            && log.contains("with its process group"),
        "{log}"
    );
    assert_eq!(cached_token_file(&env), first);
    // The lock is free: the next refresh, with a login that answers, mints.
    std::fs::write(&go, "").unwrap();
    let mut again = env.cmd_at(
        "+25m",
        &[&["get"][..], &args, &["--refresh-in-background"]].concat(),
    );
    again.env("KUBERNETES_EXEC_INFO", &info);
    assert!(again.status().unwrap().success());
    assert_ne!(cached_token_file(&env), first);
}
