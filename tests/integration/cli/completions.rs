//! Issue 33, item 10: context names complete after `--context` (the
//! contexts `setup` wrote) and `--admin-context` (the others), in bash,
//! zsh and fish, and for `kubectl sa-token` (Cobra's `__complete`), a
//! broker's context (with a ':') included.

use std::path::Path;
use std::process::Command;

use super::*;

/// An admin context and two of ours, one a broker's.
const KUBECONFIG: &str = r#"apiVersion: v1
kind: Config
current-context: admin
clusters:
- {name: test, cluster: {server: "https://127.0.0.1:6443"}}
contexts:
- {name: admin, context: {cluster: test, user: admin}}
- {name: team/viewer@test, context: {cluster: test, user: team/viewer@test}}
- {name: "team/viewer@broker:test", context: {cluster: test, user: "team/viewer@broker:test"}}
users:
- {name: admin, user: {token: not-a-real-one}}
- name: team/viewer@test
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: kube-sa-token, args: [get, --admin-context, admin, --service-account, team/viewer]}
- name: "team/viewer@broker:test"
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: kube-sa-token, args: [get, --broker, /run/kube-sa-token/broker.sock, --service-account, team/viewer]}
"#;

/// `shell` running `script` in the env, with our binary first on PATH.
fn shell(env: &TestEnv, shell: &str, script: &str) -> crate::support::Out {
    let dir = Path::new(&*crate::support::BIN).parent().unwrap();
    let mut cmd = Command::new(shell);
    cmd.arg("-c").arg(script);
    env.isolate(&mut cmd);
    cmd.env(
        "PATH",
        format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
    );
    crate::support::Out::from(cmd.output().unwrap())
}

#[test]
fn context_names_complete_in_every_shell() {
    let env = TestEnv::builder().kubeconfig(KUBECONFIG).build();
    let ours = "team/viewer@broker:test\nteam/viewer@test";
    for sh in ["bash", "zsh", "fish"] {
        let script = env.run(&["completions", sh]);
        script.ok();
        std::fs::write(env.root().join(sh), &script.stdout).unwrap();
    }
    let bash = |line: &str| {
        let out = shell(
            &env,
            "bash",
            &format!(
                r#"source '{}'
COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
COMP_WORDS=($COMP_LINE); [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}}-1))
_kube_sa_token_with_contexts kube-sa-token "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}" | sort"#,
                env.root().join("bash").display()
            ),
        );
        out.ok();
        out.stdout.trim().to_string()
    };
    assert_eq!(bash("kube-sa-token whoami --context "), ours);
    assert_eq!(bash("kube-sa-token whoami --admin-context "), "admin");
    // bash splits the word at ':' and replaces only what follows it.
    assert_eq!(
        bash("kube-sa-token whoami --context team/viewer@broker:t"),
        "test"
    );
    assert_eq!(bash("kube-sa-token who"), "whoami");

    let zsh = |current: &str| {
        let out = shell(
            &env,
            "zsh",
            &format!(
                r#"source <(sed -n '/^_kube_sa_token_contexts()/,/^}}/p' '{}')
compadd() {{ [[ $1 == -a ]] && print -l -- ${{(P)2}} }}
words=(kube-sa-token whoami {current}); CURRENT=${{#words}}
_kube_sa_token_contexts | sort"#,
                env.root().join("zsh").display()
            ),
        );
        out.ok();
        out.stdout.trim().to_string()
    };
    assert_eq!(zsh("--context ''"), ours);
    assert_eq!(zsh("--admin-context ''"), "admin");
    let syntax = Command::new("zsh")
        .arg("-n")
        .arg(env.root().join("zsh"))
        .output()
        .unwrap();
    assert!(syntax.status.success(), "zsh -n");

    let fish = |line: &str| {
        let out = shell(
            &env,
            "fish",
            &format!(
                "source '{}'; complete -C '{line}' | string replace -r '\\t.*' '' | sort",
                env.root().join("fish").display()
            ),
        );
        out.ok();
        out.stdout.trim().to_string()
    };
    assert_eq!(fish("kube-sa-token whoami --context "), ours);
    assert_eq!(fish("kube-sa-token whoami --admin-context "), "admin");

    // kubectl's plugin completion: the same answer, Cobra's directive.
    let plugin = env.run(&["__complete", "whoami", "--context", "team/"]);
    plugin.ok();
    assert_eq!(
        plugin.stdout, "team/viewer@test\nteam/viewer@broker:test\n:4\n",
        "in the kubeconfig's order"
    );
    let choices = env.run(&["__complete", "get", "--cache", "k"]);
    assert_eq!(choices.stdout, "keyring\nkeyutils\n:4\n");
}
