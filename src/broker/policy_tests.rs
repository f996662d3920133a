use std::time::Duration;

use super::*;

const POLICY: &str = r#"
version: 1
rateLimit: {burst: 5, perMinute: 10}
rules:
  - name: agents
    callers: {users: [agent], gids: [2000]}
    serviceAccounts: ["team/viewer", "ci-*/deployer"]
    maxDuration: 1h
    audiences: [vault]
  - name: long-capped
    callers: {uids: [1500]}
    serviceAccounts: ["team/*"]
    maxDuration: 30m
    overMaxDuration: cap
  - name: legacy
    callers: {uids: [1500]}
    serviceAccounts: ["legacy/*"]
    sources: [secret]
  - name: people
    callers: {groups: [devs]}
    x509Users: ["alice", "dev-*"]
    x509Groups: [dev]
"#;

fn caller(uid: u32, user: &str) -> Caller {
    Caller {
        uid,
        gids: vec![uid],
        pid: 42,
        user: Some(user.into()),
        groups: Vec::new(),
        exe: None,
    }
}

fn sa<'a>(namespace: &'a str, name: &'a str, secs: u64) -> Ask<'a> {
    Ask {
        wanted: Wanted::ServiceAccount { namespace, name },
        audiences: &[],
        source: "token-request",
        duration: Some(Duration::from_secs(secs)),
    }
}

fn deny(d: Decision) -> String {
    match d {
        Decision::Deny(why) => why,
        other => panic!("allowed: {other:?}"),
    }
}

#[test]
fn callers_match_by_name_uid_and_group() {
    let p = Policy::parse(POLICY).unwrap();
    assert_eq!(
        p.rate,
        RateLimit {
            burst: 5,
            per_minute: 10
        }
    );
    let allow = Decision::Allow {
        rule: "agents".into(),
        duration: Some(Duration::from_secs(3600)),
        capped: false,
    };
    assert_eq!(
        p.decide(&caller(1001, "agent"), &sa("team", "viewer", 3600)),
        allow
    );
    let mut by_gid = caller(1002, "bob");
    by_gid.gids.push(2000);
    assert_eq!(p.decide(&by_gid, &sa("team", "viewer", 3600)), allow);
    assert_eq!(
        p.decide(&caller(1001, "agent"), &sa("ci-prod", "deployer", 600)),
        Decision::Allow {
            rule: "agents".into(),
            duration: Some(Duration::from_secs(600)),
            capped: false
        }
    );
}

#[test]
fn default_deny_says_why() {
    let p = Policy::parse(POLICY).unwrap();
    let why = deny(p.decide(&caller(1003, "mallory"), &sa("team", "viewer", 3600)));
    assert_eq!(
        why,
        "no rule of the policy names uid 1003 (mallory) (or its groups)"
    );
    let why = deny(p.decide(&caller(1001, "agent"), &sa("team", "admin", 3600)));
    assert_eq!(
        why,
        "no rule for uid 1001 (agent) allows ServiceAccount team/admin (its rules: agents)"
    );
    let why = deny(p.decide(&caller(1001, "agent"), &sa("team", "viewer", 7200)));
    assert_eq!(
        why,
        "rule \"agents\": duration 2h is above the maximum 1h; ask for --duration 1h or less"
    );
    let aud = ["other".to_string()];
    let mut ask = sa("team", "viewer", 600);
    ask.audiences = &aud;
    assert!(
        deny(p.decide(&caller(1001, "agent"), &ask))
            .contains("audience \"other\" is not allowed (allowed: vault)")
    );
    let mut ask = sa("team", "viewer", 600);
    ask.source = "secret";
    assert!(deny(p.decide(&caller(1001, "agent"), &ask)).contains("source secret is not allowed"));
    // The empty policy allows nothing.
    let empty = Policy::parse("version: 1\n").unwrap();
    deny(empty.decide(&caller(0, "root"), &sa("team", "viewer", 600)));
}

#[test]
fn over_the_maximum_is_capped_where_the_rule_says() {
    let p = Policy::parse(POLICY).unwrap();
    assert_eq!(
        p.decide(&caller(1500, "ci"), &sa("team", "anything", 7200)),
        Decision::Allow {
            rule: "long-capped".into(),
            duration: Some(Duration::from_secs(1800)),
            capped: true
        }
    );
    let mut legacy = sa("team", "x", 0);
    legacy.source = "secret";
    legacy.duration = None;
    assert!(deny(p.decide(&caller(1500, "ci"), &legacy)).contains("source secret is not allowed"));
}

/// Issue 32, finding 2: a rule with a maximum never hands out a token that
/// never expires: it does not load, and a secret request is refused by it
/// whatever duration the request carries.
#[test]
fn a_maximum_never_allows_a_legacy_token() {
    let both = "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n    maxDuration: 1h\n    sources: [token-request, secret]\n";
    let e = Policy::parse(both).unwrap_err();
    assert!(e.contains("maxDuration cannot hold source secret"), "{e}");
    let p = Policy::parse(POLICY).unwrap();
    for d in [None, Some(600), Some(3600)] {
        let mut ask = sa("team", "viewer", 0);
        ask.source = "secret";
        ask.duration = d.map(Duration::from_secs);
        let why = deny(p.decide(&caller(1001, "agent"), &ask));
        assert!(why.contains("source secret is not allowed"), "{why}");
    }
    // A rule for legacy tokens alone: no lifetime asked or given.
    let mut legacy = sa("legacy", "old", 0);
    legacy.source = "secret";
    legacy.duration = None;
    assert_eq!(
        p.decide(&caller(1500, "ci"), &legacy),
        Decision::Allow {
            rule: "legacy".into(),
            duration: None,
            capped: false
        }
    );
    let short = "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n    maxDuration: 1m\n";
    assert!(
        Policy::parse(short)
            .unwrap_err()
            .contains("minimum lifetime")
    );
}

/// Issue 32, finding 3: a request that names no duration gets the rule's
/// maximum, never the longer default.
#[test]
fn no_duration_means_the_rules_maximum() {
    let p = Policy::parse(POLICY).unwrap();
    let mut ask = sa("team", "viewer", 0);
    ask.duration = None;
    assert_eq!(
        p.decide(&caller(1001, "agent"), &ask),
        Decision::Allow {
            rule: "agents".into(),
            duration: Some(Duration::from_secs(3600)),
            capped: false
        }
    );
    let mut dev = caller(1600, "carol");
    dev.groups.push("devs".into());
    let ask = Ask {
        wanted: Wanted::User {
            name: "alice",
            groups: &[],
        },
        audiences: &[],
        source: "token-request",
        duration: None,
    };
    // No maximum in the rule: the request's duration stays unset (the
    // broker mints with get's default).
    assert!(matches!(
        p.decide(&dev, &ask),
        Decision::Allow { duration: None, .. }
    ));
}

/// Issue 32, finding 1: `ci-*/deployer` covers ServiceAccounts named
/// deployer in namespaces ci-…, and no '*' matches across the '/'.
#[test]
fn globs_stay_on_their_side_of_the_slash() {
    let p = Policy::parse(POLICY).unwrap();
    let agent = caller(1001, "agent");
    assert!(matches!(
        p.decide(&agent, &sa("ci-a", "deployer", 600)),
        Decision::Allow { .. }
    ));
    for (ns, name) in [
        ("ci-a/serviceaccounts/admin/token?x=", "deployer"),
        ("ci-a/x", "deployer"),
        ("ci-a", "x/deployer"),
        ("ci-a", "deployer/x"),
    ] {
        deny(p.decide(&agent, &sa(ns, name, 600)));
    }
}

#[test]
fn users_never_system() {
    let p = Policy::parse(POLICY).unwrap();
    let mut dev = caller(1600, "carol");
    dev.groups.push("devs".into());
    let groups = vec!["dev".to_string()];
    let ask = |name: &'static str, groups: &'static [String]| Ask {
        wanted: Wanted::User { name, groups },
        audiences: &[],
        source: "token-request",
        duration: Some(Duration::from_secs(3600)),
    };
    let g: &'static [String] = Box::leak(groups.into_boxed_slice());
    assert!(matches!(
        p.decide(&dev, &ask("alice", g)),
        Decision::Allow { .. }
    ));
    assert!(matches!(
        p.decide(&dev, &ask("dev-x", &[])),
        Decision::Allow { .. }
    ));
    let masters: &'static [String] =
        Box::leak(vec!["system:masters".to_string()].into_boxed_slice());
    assert!(deny(p.decide(&dev, &ask("alice", masters))).contains("system: name"));
    assert!(deny(p.decide(&dev, &ask("system:admin", &[]))).contains("system: name"));
    let qa: &'static [String] = Box::leak(vec!["qa".to_string()].into_boxed_slice());
    assert!(deny(p.decide(&dev, &ask("alice", qa))).contains("allows user alice in qa"));
}

#[test]
fn bad_policies_are_refused_with_the_place() {
    for (text, says) in [
        ("version: 2\n", "version 2 is not known"),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {}\n    serviceAccounts: [a/b]\n",
            "names no callers",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n",
            "allows nothing",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [viewer]\n",
            "NAMESPACE/NAME",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    x509Users: [alice]\n    x509Groups: [\"system:masters\"]\n",
            "system:",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    x509Users: [\"*\"]\n",
            "system:",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n    maxDuration: soon\n",
            "maxDuration",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n    overMaxDuration: shrug\n",
            "overMaxDuration",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    callers: {uids: [1]}\n    serviceAccounts: [a/b]\n  - name: a\n    callers: {uids: [2]}\n    serviceAccounts: [a/b]\n",
            "used twice",
        ),
        (
            "version: 1\nrules:\n  - name: a\n    caller: {uids: [1]}\n",
            "unknown field `caller`",
        ),
        (
            "version: 1\nrateLimit: {burst: 0, perMinute: 1}\n",
            "at least 1",
        ),
    ] {
        let err = Policy::parse(text).unwrap_err();
        assert!(err.contains(says), "{text:?}: {err}");
    }
    let err = Policy::parse("version: 1\nrules: [\n").unwrap_err();
    assert!(err.contains("line"), "{err}");
}
