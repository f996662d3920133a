//! Errors from the API server: mapped by type, never quoting credentials.

use super::*;

#[cfg(unix)]
#[test]
fn exec_failures_keep_only_status_and_stderr() {
    use std::os::unix::process::ExitStatusExt;
    let out = std::process::Output {
        status: std::process::ExitStatus::from_raw(6 << 8),
        stdout: br#"{"status":{"token":"SECRET"}}"#.to_vec(),
        stderr: b"kube-sa-token: recursion: \"sa\" loops\n".to_vec(),
    };
    let e = AuthError::AuthExecRun {
        cmd: "KUBERNETES_EXEC_INFO=SECRET /bin/x get".into(),
        out: Box::new(out),
    };
    let got = chain(&kube::Error::Auth(e));
    assert_eq!(
        got,
        "its exec plugin failed with exit status 6: kube-sa-token: recursion: \"sa\" loops"
    );
    assert!(!got.contains("SECRET"));
}

/// Issue 32, finding 13: a 2xx body that does not decode is described
/// by kind and place, never quoted, and not as "cannot reach".
#[test]
fn undecodable_answers_are_not_quoted() {
    let json = serde_json::from_str::<Vec<u8>>(r#""SECRET-ECHO""#).unwrap_err();
    assert!(json.to_string().contains("SECRET-ECHO"));
    let caller = Caller {
        server: "https://127.0.0.1:6443",
        who: "admin context \"admin\"",
        context: Some("admin"),
    };
    let action = Action {
        namespace: Some("team"),
        name: Some("viewer"),
        ..Action::global("create", "serviceaccounts/token")
    };
    let e = map_error(kube::Error::SerdeError(json), &caller, action).to_string();
    assert!(!e.contains("SECRET-ECHO"), "{e}");
    assert!(!e.contains("cannot reach"), "{e}");
    assert!(
        e.starts_with("unexpected answer from https://127.0.0.1:6443 to create serviceaccounts/token \"viewer\" in namespace \"team\": not the JSON expected ("),
        "{e}"
    );
}

/// Issue 33, item 20: why a connection failed, as the system says it,
/// without the client stack's internals; a 401 names the context.
#[test]
fn unreachable_and_unauthorized_say_it_in_words() {
    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Wrapped(#[source] std::io::Error);
    let caller = Caller {
        server: "https://127.0.0.1:1",
        who: "admin context \"admin\"",
        context: Some("admin"),
    };
    // As Linux words it (the test runs on Windows too, whose codes differ).
    let refused = std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "Connection refused (os error 111)",
    );
    let e = kube::Error::Service(Box::new(Wrapped(refused)));
    let e = map_error(e, &caller, Action::global("get", "version")).to_string();
    assert_eq!(
        e,
        "cannot reach the API server https://127.0.0.1:1: connection refused; check that it is running and the kubeconfig's server URL is right"
    );
    let status = kube::core::Status::failure("Unauthorized", "Unauthorized").with_code(401);
    let e = map_error(
        kube::Error::Api(Box::new(status)),
        &caller,
        Action::global("get", "version"),
    )
    .to_string();
    assert!(
        e.ends_with("(`kubectl --context admin auth whoami` shows whether they work)"),
        "{e}"
    );
}

#[test]
fn other_errors_keep_their_chain_on_one_line() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused\nnow");
    assert_eq!(chain(&io), "refused now");
}
