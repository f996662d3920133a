//! `cache list` people can read (issue 24 item 7): the contexts that use
//! an entry, how it was asked for, short keys, and JSON in the schema of
//! `inspect` and `whoami`.

use super::*;

/// The fake server's kubeconfig with context `viewer-ctx`, whose user runs
/// `get` with `args`.
fn with_context(api: &FakeApi, args: &[&str]) -> String {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&api.kubeconfig()).unwrap();
    let exec: serde_yaml::Value = serde_yaml::from_str(&format!(
        "{{apiVersion: client.authentication.k8s.io/v1, command: kube-sa-token, interactiveMode: Never, args: [get, {}]}}",
        args.join(", ")
    ))
    .unwrap();
    let user: serde_yaml::Value = serde_yaml::from_str("{name: viewer-user, user: {}}").unwrap();
    doc["users"].as_sequence_mut().unwrap().push(user);
    let users = doc["users"].as_sequence_mut().unwrap();
    users.last_mut().unwrap()["user"]["exec"] = exec;
    let ctx: serde_yaml::Value =
        serde_yaml::from_str("{name: viewer-ctx, context: {cluster: test, user: viewer-user}}")
            .unwrap();
    let cluster = doc["contexts"][0]["context"]["cluster"].clone();
    doc["contexts"].as_sequence_mut().unwrap().push(ctx);
    doc["contexts"]
        .as_sequence_mut()
        .unwrap()
        .last_mut()
        .unwrap()["context"]["cluster"] = cluster;
    serde_yaml::to_string(&doc).unwrap()
}

#[test]
fn cache_list_names_the_contexts_the_source_and_short_keys() {
    let api = FakeApi::start();
    let env = TestEnv::builder()
        .kubeconfig(with_context(&api, SA))
        .build();
    env.get(None, SA).ok();
    // The same SA for another audience: a second entry, told apart.
    let mut vault = SA.to_vec();
    vault.extend(["--audience", "vault"]);
    env.get(None, &vault).ok();

    let list = env.run(&["cache", "list"]);
    list.ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    for column in ["KEY", "IDENTITY", "CONTEXTS", "SOURCE", "STORE", "EXPIRES"] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    let used = lines.iter().find(|l| l.contains("viewer-ctx")).unwrap();
    assert!(
        used.contains("token-request") && !used.contains("aud="),
        "{used}"
    );
    let other = lines.iter().find(|l| l.contains("aud=vault")).unwrap();
    assert!(!other.contains("viewer-ctx"), "{other}");
    // Short keys: the first column is a unique prefix of 8 characters.
    let json = env.run(&["cache", "list", "-o", "json"]).json();
    let entries = json.as_array().unwrap();
    for e in entries {
        let (key, short) = (e["key"].as_str().unwrap(), e["shortKey"].as_str().unwrap());
        assert!(key.starts_with(short) && short.len() == 8, "{e}");
        assert!(
            list.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{short} ")))
        );
    }

    // JSON: camelCase, times as inspect writes them, who as inspect says it.
    let e = entries
        .iter()
        .find(|e| e["contexts"] == serde_json::json!(["viewer-ctx"]))
        .unwrap();
    assert_eq!(
        e["serviceAccount"],
        serde_json::json!({"namespace": "team", "name": "viewer"})
    );
    assert_eq!(
        (e["kind"].as_str(), e["identity"].as_str()),
        (Some("token"), Some("team/viewer"))
    );
    assert_eq!(e["adminContext"], "admin");
    // The same label as the OS keyring's item (issue 21).
    assert_eq!(
        e["label"],
        format!("kube-sa-token: team/viewer @ {}", api.server).as_str()
    );
    assert_eq!(e["store"], "file");
    for time in ["mintedAt", "expires"] {
        assert!(e[time]["time"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(e[time]["unix"].is_i64(), "{e}");
    }
    assert_eq!(e["expired"], false);
    let names =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for name in names(e) {
        assert!(!name.contains('_'), "snake_case {name} in {e}");
    }
    let vault = entries
        .iter()
        .find(|e| e["audiences"] == serde_json::json!(["vault"]));
    assert!(vault.is_some(), "{json}");
}

#[test]
fn doctor_writes_its_findings_as_json() {
    let env = TestEnv::builder().build();
    let out = env.run(&["doctor", "--cache", "file", "-o", "json"]);
    let v = out.json();
    assert!(v["problems"].as_u64().unwrap() >= 1, "{v}");
    assert_ne!(out.code, 0);
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["result"] == "ok"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("the file store can write")),
        "{v}"
    );
    assert!(findings.iter().any(|f| f["result"] == "fail"), "{v}");
}

/// Issue 33, item 20: with the server down, `--check` is not a pass: the
/// row says why in short, the exit status is not 0, and -v gives the
/// whole reason, in words (no client-stack internals).
#[test]
fn a_check_that_could_not_be_made_fails_with_a_short_reason() {
    let api = FakeApi::start();
    let env = TestEnv::builder().kubeconfig(api.kubeconfig()).build();
    env.get(None, SA).ok();
    api.stop();
    let out = env.run(&["cache", "list", "--check"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let row = out.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        row.ends_with(&format!(
            "not checked: cannot reach the API server {}: connection refused",
            api.server
        )),
        "{row}"
    );
    assert!(row.chars().count() < 250, "{row}");
    assert!(
        out.stderr
            .contains("1 cached credential could not be checked"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("ServiceError"), "{}", out.stderr);
    let verbose = env.run(&["cache", "list", "--check", "-v"]);
    assert_eq!(verbose.code, 1);
    assert!(
        verbose
            .stderr
            .contains("check that it is running and the kubeconfig's server URL is right"),
        "{}",
        verbose.stderr
    );
    let json = env.run(&["cache", "list", "--check", "-o", "json"]);
    assert_eq!(json.code, 1);
    assert_eq!(json.json()[0]["check"]["state"], "unknown");
}

/// Issue 33, item 11: `-o yaml` is the JSON document in YAML.
#[test]
fn yaml_is_the_json_document() {
    let api = FakeApi::start();
    let env = TestEnv::builder().kubeconfig(api.kubeconfig()).build();
    env.get(None, SA).ok();
    let both = |args: &[&str]| {
        let json = env.run(&[args, &["-o", "json"]].concat());
        let yaml = env.run(&[args, &["-o", "yaml"]].concat());
        assert_eq!(json.code, yaml.code, "{args:?}");
        let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", yaml.stdout));
        (json.json(), from_yaml)
    };
    // Entries: the same (less the times said relative to now).
    let (json, yaml) = both(&["cache", "list"]);
    let who = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["key"].clone(), e["identity"].clone(), e["store"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(who(&yaml), who(&json));
    // Findings: as many, with the same results.
    let (json, yaml) = both(&["doctor"]);
    let results = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["result"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(yaml["problems"], json["problems"]);
    assert_eq!(results(&yaml), results(&json));
}
