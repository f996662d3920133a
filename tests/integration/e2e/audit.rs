//! Issue 20 item 4: every credential traceable. The API server's audit log
//! names each request's credential (`authentication.kubernetes.io/
//! credential-id`, Kubernetes 1.32+); `cache list -o wide`, `inspect`,
//! `logout` and `-v` print the same string, so a user can find what a
//! cached credential did.

use super::*;

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_audit_log_names_the_credential_id_cache_list_printed() {
    let c = Cluster::get();
    let audit = c.dir.join("audit.log");
    assert!(
        audit.exists(),
        "no audit log at {}: a cluster started before the audit policy; restart it (tests/cluster/down.sh, then up.sh)",
        audit.display()
    );
    let ns = c.namespace("e2e-audit");
    let sa = sa(&ns);
    let args = entry(&sa, "file");
    let env = c.env("v1", &args);
    // A request as the ServiceAccount, with -v on the exec entry's `get`
    // run by hand first: the mint says the id.
    let admin = c.admin_kubeconfig.to_str().unwrap();
    let mut verbose = vec!["--kubeconfig", admin];
    verbose.extend(args);
    verbose.push("-v");
    let minted = env.get(
        Some(&support::exec_info_with_ca("v1", &c.server, &c.ca())),
        &verbose,
    );
    minted.ok();
    let marker = format!("{ns}-audit-marker");
    let request = c.kubectl(
        &env,
        &["--context", "sa", "-n", &ns, "get", "configmap", &marker],
    );
    assert_ne!(request.code, 0, "no such configmap: a 404, audited");

    let list = env.run(&["cache", "list", "-o", "wide"]);
    list.ok();
    assert!(
        list.stdout
            .lines()
            .next()
            .unwrap()
            .contains("CREDENTIAL ID"),
        "{}",
        list.stdout
    );
    let id = list
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("JTI="))
        .unwrap_or_else(|| panic!("{}", list.stdout))
        .to_string();
    assert!(
        minted.stderr.contains(&format!("credential id {id}")),
        "{}",
        minted.stderr
    );
    let json = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(json[0]["credentialId"], id.as_str());
    let inspect = env.run(&["inspect", "--context", "sa"]);
    inspect.ok();
    assert!(
        inspect.stdout.contains(&format!("Credential ID:    {id}")),
        "{}",
        inspect.stdout
    );

    // The API server's audit log has the request, under that id (written
    // as the response goes out: a bounded wait).
    let logged = |needle: &str| {
        std::fs::read_to_string(&audit)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(needle) && l.contains(&marker))
    };
    assert!(
        eventually(Duration::from_secs(20), || logged(&format!(
            "\"authentication.kubernetes.io/credential-id\":[\"{id}\"]"
        ))),
        "the audit log has no request for {marker} by {id}"
    );

    let logout = env.run(&["logout", "--context", "sa"]);
    logout.ok();
    assert!(
        logout.stdout.contains(&format!("[credential id {id}]")),
        "{}",
        logout.stdout
    );
}

/// A user's certificate: the id is the SHA-256 of its DER, as the server
/// computes it (its SelfSubjectReview says so) and logs it.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_certificates_credential_id_is_the_one_the_server_gives_it() {
    use super::users::{bind_group, names, user_entry};
    let c = Cluster::get();
    let ns = c.namespace("e2e-audit-user");
    let (user, group) = names(&ns);
    bind_group(&c, &ns, &group);
    let env = c.admin_env();
    let entry = user_entry(&user, &group, "file");
    let whoami = env.run(&[&["whoami", "-o", "json"][..], &entry].concat());
    whoami.ok();
    let served = whoami.json()["userInfo"]["extra"]["authentication.kubernetes.io/credential-id"]
        [0]
    .as_str()
    .unwrap_or_else(|| panic!("{}", whoami.stdout))
    .to_string();
    assert!(served.starts_with("X509SHA256="), "{served}");
    let json = env.run(&["cache", "list", "-o", "json"]).json();
    assert_eq!(json[0]["credentialId"], served.as_str(), "{json}");
    // And the audit log has whoami's request under it.
    let audit = c.dir.join("audit.log");
    let needle = format!("\"authentication.kubernetes.io/credential-id\":[\"{served}\"]");
    assert!(
        eventually(Duration::from_secs(20), || {
            std::fs::read_to_string(&audit)
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains(&needle) && l.contains("selfsubjectreviews"))
        }),
        "no request by {served} in {}",
        audit.display()
    );
}
