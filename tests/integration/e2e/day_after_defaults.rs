//! Issue 24 item 8: kubectl's defaults for the commands a person types.
//! The admin context is $KUBE_SA_TOKEN_ADMIN_CONTEXT, else the current
//! context (never one that runs kube-sa-token itself); the namespace is the
//! admin context's. `get`, which exec entries run, takes neither.

use super::*;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn typed_commands_take_the_admin_context_and_namespace_as_kubectl_does() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-defaults");
    let env = c.admin_env();
    c.kubectl(
        &env,
        &["config", "set-context", "admin", "--namespace", &ns],
    )
    .ok();

    // setup with only the ServiceAccount's name.
    let setup = env.run(&["setup", "viewer", "--cache", "file"]);
    setup.ok();
    let context = format!("{ns}/viewer@test");
    for note in [
        "note: admin context \"admin\", the current context".to_string(),
        format!("note: namespace \"{ns}\", the admin context's"),
        format!("wrote user and context \"{context}\""),
    ] {
        assert!(setup.stderr.contains(&note), "{note}: {}", setup.stderr);
    }
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
    // The exec entry names both, so it does not follow the current context.
    let config = std::fs::read_to_string(&env.kubeconfig).unwrap();
    assert!(config.contains("--admin-context"), "{config}");

    // whoami by the SA's name alone: the same entry, served from the cache.
    let whoami = env.run(&["whoami", "viewer", "--cache", "file", "-o", "json"]);
    whoami.ok();
    assert_eq!(
        whoami.json()["userInfo"]["username"],
        format!("system:serviceaccount:{ns}:viewer")
    );
    assert!(!whoami.stderr.contains("minted"), "{}", whoami.stderr);

    // With the SA's own context current, nothing is taken as the admin.
    c.kubectl(&env, &["config", "use-context", &context]).ok();
    env.run(&["setup", "viewer", "--cache", "file"])
        .fails_with("runs kube-sa-token itself");
    // whoami alone is that context's identity.
    let whoami = env.run(&["whoami", "-o", "json"]);
    whoami.ok();
    assert_eq!(
        whoami.json()["userInfo"]["username"],
        format!("system:serviceaccount:{ns}:viewer")
    );
    // The variable names the admin context.
    let mut cmd = env.cmd(&["whoami", "-n", &ns, "viewer", "--cache", "file"]);
    cmd.env("KUBE_SA_TOKEN_ADMIN_CONTEXT", "admin");
    let out = Out::from(cmd.output().unwrap());
    out.ok();
    assert!(
        out.stderr
            .contains("admin context \"admin\", from KUBE_SA_TOKEN_ADMIN_CONTEXT"),
        "{}",
        out.stderr
    );

    // get guesses nothing: without --admin-context it is a usage error.
    let get = env.get(None, &["viewer"]);
    assert_eq!(get.code, 2, "{}", get.stderr);
    assert!(get.stdout.is_empty());
}
