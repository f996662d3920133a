//! Issue 23: what `get` does for a credential, done through the broker
//! too — self-healing after a 401, refresh-ahead, X.509 users — and a
//! broker run by a person for an agent's uid (`--broker-owner`).

use super::broker::{Client, policy};
use super::self_heal::until_rejected;
use super::users::bind_group;
use super::*;
use crate::support::broker::Broker;
use crate::support::user::{ordinary_user, other_user};

/// The token `get` prints in `out` (an ExecCredential).
fn token_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["status"]["token"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_rejected_token_is_replaced_on_both_sides_at_the_first_401() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-heal");
    let user = ordinary_user();
    let broker = Broker::start(&c, "heal", &policy(&ns, &user));
    let client = Client::new(&c, user, "broker-heal", &broker);
    let old = client.run(
        &[("NS", &ns)],
        r#""$BIN" setup --broker "$SOCK" "$NS/viewer" >/dev/null 2>&1
"$BIN" token --context "$NS/viewer@$CLUSTER""#,
    );
    old.ok();
    let old = old.stdout.trim().to_string();
    c.admin(&["-n", &ns, "delete", "serviceaccount", "viewer"])
        .ok();
    c.admin(&["-n", &ns, "create", "serviceaccount", "viewer"])
        .ok();
    until_rejected(&c, &old);
    let before = c.token_requests_settled();
    let out = client.run(
        &[("NS", &ns)],
        r#"for i in 1 2 3; do
  "$KUBECTL" --context "$NS/viewer@$CLUSTER" -n "$NS" get serviceaccounts -o name >/dev/null 2>"err.$i"; echo "run$i=$?"
done
cat err.*"#,
    );
    let failed = (1..=3)
        .filter(|i| !out.stdout.contains(&format!("run{i}=0")))
        .count();
    assert!(failed <= 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("run2=0") && out.stdout.contains("run3=0"),
        "{}",
        out.stdout
    );
    assert_eq!(
        c.token_requests_settled() - before,
        1,
        "one new token, on the broker"
    );
    assert!(
        broker
            .log()
            .contains("rejected the cached token; minting a new one"),
        "the broker checked its own copy: {}",
        broker.log()
    );
    let new = client.run(
        &[("NS", &ns)],
        r#""$BIN" token --context "$NS/viewer@$CLUSTER""#,
    );
    assert_ne!(new.stdout.trim(), old);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn refresh_ahead_asks_the_broker_for_the_successor() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-ahead");
    let user = ordinary_user();
    let mut broker = Broker::start(&c, "ahead", &policy(&ns, &user));
    let client = Client::new(&c, user, "broker-ahead", &broker);
    let fakebin = client.faketime_bin();
    let get = r#"KUBERNETES_EXEC_INFO="$INFO" "$BIN" get --broker "$SOCK" --service-account "$NS/viewer""#;
    let first = client.run(&[("NS", &ns)], get);
    first.ok();
    // 35 minutes on, for both sides (one machine, one clock): past the
    // middle of the hour's serve window.
    let (_, fake) = support::faketime("+35m");
    let env: Vec<(&str, &str)> = fake.iter().map(|(k, v)| (*k, v.as_str())).collect();
    broker.restart_with(support::FAKETIME_BIN, &env);
    let before = c.token_requests_settled();
    let later = |label: &str| {
        let out = client.run(
            &[
                ("NS", &ns),
                ("FAKEBIN", fakebin.to_str().unwrap()),
                ("FT_LIB", &fake[0].1),
                ("FT_OFFSET", &fake[1].1),
            ],
            r#"KUBERNETES_EXEC_INFO="$INFO" LD_PRELOAD="$FT_LIB" FAKETIME="$FT_OFFSET" FAKETIME_DONT_FAKE_MONOTONIC=1 \
  "$FAKEBIN" get --broker "$SOCK" --service-account "$NS/viewer""#,
        );
        assert_eq!(out.code, 0, "{label}: {}", out.stderr);
        token_of(&out.stdout)
    };
    // Served at once (the cached token), with the successor asked for in
    // the background.
    assert_eq!(later("due"), token_of(&first.stdout));
    assert!(
        eventually(Duration::from_secs(30), || c.token_requests() > before),
        "no successor minted: {}",
        broker.log()
    );
    assert!(
        eventually(Duration::from_secs(20), || later("after")
            != token_of(&first.stdout)),
        "the client never got the successor"
    );
    assert_eq!(c.token_requests_settled() - before, 1);
    let refreshed = broker.audit_lines();
    assert!(
        refreshed
            .iter()
            .any(|l| l["refresh"] == true && l["decision"] == "allow"),
        "{refreshed:?}"
    );
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn an_x509_user_and_groups_come_through_the_broker_as_the_policy_allows() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-x509");
    let (name, group) = super::users::names(&ns);
    bind_group(&c, &ns, &group);
    let user = ordinary_user();
    let rules = format!(
        "{}  - name: people\n    callers: {{uids: [{}]}}\n    x509Users: [\"alice-*\"]\n    x509Groups: [\"{group}\"]\n    maxDuration: 1h\n",
        policy(&ns, &user),
        user.uid
    );
    let broker = Broker::start(&c, "x509", &rules);
    let client = Client::new(&c, user, "broker-x509", &broker);
    let out = client.run(
        &[("NS", &ns), ("NAME", &name), ("GROUP", &group)],
        r#""$BIN" setup --broker "$SOCK" --user "$NAME" --group "$GROUP" -n "$NS" >/dev/null 2>&1 || echo "setup failed"
CTX="user:$NAME+$GROUP@$CLUSTER"
echo "who=$("$KUBECTL" --context "$CTX" auth whoami -o jsonpath='{.status.userInfo.username} {.status.userInfo.groups}')"
"$KUBECTL" --context "$CTX" -n "$NS" get serviceaccounts -o name | head -1
echo "--- other group" >&2
KUBERNETES_EXEC_INFO="$INFO" "$BIN" get --broker "$SOCK" --user "$NAME" --group "ops-$NS" >/dev/null; echo "other=$?"
"#,
    );
    assert!(
        !out.stdout.contains("setup failed"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!(
            "who={name} [\"{group}\",\"system:authenticated\"]"
        )),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("serviceaccount/"), "{}", out.stdout);
    assert!(out.stdout.contains("other=6"), "{}", out.stdout);
    assert!(
        out.stderr
            .contains(&format!("allows user {name} in ops-{ns}")),
        "{}",
        out.stderr
    );
    let audit = broker.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l["asked"] == format!("user:{name} [{group}]").as_str()
                && l["credentialId"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("X509SHA256="))),
        "{audit:?}"
    );
}

/// A person runs the broker (the admin kubeconfig in their own home) and
/// lets an agent's uid ask: the agent names the broker's account with
/// `--broker-owner`; without it, the socket is refused.
#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn a_broker_run_by_a_person_serves_an_agents_uid() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-broker-person");
    let agent = ordinary_user();
    let person = other_user();
    let broker = Broker::start_as(&c, "person", &policy(&ns, &agent), &person);
    let client = Client::new(&c, agent, "broker-person", &broker);
    let out = client.run(
        &[("NS", &ns), ("OWNER", person.name)],
        r#"cat "$ADMIN" >/dev/null 2>&1 && echo "admin=readable" || echo "admin=unreadable"
echo "--- no owner" >&2
KUBERNETES_EXEC_INFO="$INFO" "$BIN" get --broker "$SOCK" --service-account "$NS/viewer" >/dev/null; echo "plain=$?"
echo "--- setup" >&2
"$BIN" setup --broker "$SOCK" --broker-owner "$OWNER" "$NS/viewer" >/dev/null 2>&1; echo "setup=$?"
grep -c -- '--broker-owner' "$KUBECONFIG"
echo "who=$("$KUBECTL" --context "$NS/viewer@$CLUSTER" auth whoami -o jsonpath='{.status.userInfo.username}')"
echo "check=$("$BIN" cache list --check | grep "$NS/")"
"#,
    );
    assert!(out.stdout.contains("admin=unreadable"), "{}", out.stdout);
    assert!(out.stdout.contains("plain=6"), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "it is served by uid {} (kst-other), not by root",
            person.uid
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("setup=0"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout
            .contains(&format!("who=system:serviceaccount:{ns}:viewer")),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    // The index keeps the owner: the entry is checked through that broker.
    assert!(
        out.stdout
            .contains(&format!("ok (system:serviceaccount:{ns}:viewer)")),
        "{}",
        out.stdout
    );
    let audit = broker.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l["uid"] == client.user.uid && l["decision"] == "allow"),
        "{audit:?}"
    );
}
