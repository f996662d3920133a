use std::io::BufReader;

use proptest::prelude::*;

use super::*;
use crate::secret::Token;

fn sa_request() -> Request {
    Request {
        v: VERSION,
        op: Op::Credential,
        service_account: Some(ServiceAccountRef {
            namespace: "team".into(),
            name: "viewer".into(),
        }),
        user: None,
        source: None,
        audiences: Vec::new(),
        duration_secs: Some(3600),
        cluster: Some(ClusterIdentity::new("https://127.0.0.1:6443", None, None, false).unwrap()),
        refresh: false,
        rejected: None,
    }
}

#[test]
fn request_bytes_are_exact() {
    let mut out = Vec::new();
    write_line(&mut out, &sa_request()).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"v\":1,\"op\":\"credential\",\"serviceAccount\":{\"namespace\":\"team\",\"name\":\"viewer\"},\"durationSecs\":3600,\"cluster\":{\"server\":\"https://127.0.0.1:6443\"}}\n"
    );
}

#[test]
fn request_round_trips() {
    let mut out = Vec::new();
    let mut req = sa_request();
    req.refresh = true;
    req.rejected = Some("ab".repeat(32));
    req.audiences = vec!["vault".into()];
    write_line(&mut out, &req).unwrap();
    let line = read_line(&mut BufReader::new(&out[..]), MAX_REQUEST).unwrap();
    assert_eq!(parse_request(&line).unwrap(), req);
}

#[test]
fn response_bytes_are_exact_and_redacted_in_debug() {
    let r = Response::credential(Credential::Token(Token::new("eyJsecret")), 0, None);
    let mut out = Vec::new();
    write_line(&mut out, &r).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        format!(
            "{{\"v\":1,\"broker\":\"{}\",\"credential\":{{\"token\":\"eyJsecret\"}},\"clockOffset\":0}}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(!format!("{r:?}").contains("eyJsecret"));
    let back: Response = serde_json::from_str(text.trim_end()).unwrap();
    assert!(
        back.credential
            .unwrap()
            .same_as(&Credential::Token(Token::new("eyJsecret")))
    );
    let e = Response::error(ErrorCode::Denied, "no rule");
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        format!(
            "{{\"v\":1,\"broker\":\"{}\",\"error\":{{\"code\":\"denied\",\"message\":\"no rule\"}}}}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn oversized_and_truncated_lines_are_refused() {
    let long = vec![b'a'; MAX_REQUEST + 10];
    assert!(matches!(
        read_line(&mut BufReader::with_capacity(64, &long[..]), MAX_REQUEST),
        Err(LineError::TooLong(_))
    ));
    // Exactly at the limit, newline included: taken.
    let mut exact = vec![b'a'; MAX_REQUEST - 1];
    exact.push(b'\n');
    assert_eq!(
        read_line(&mut BufReader::with_capacity(64, &exact[..]), MAX_REQUEST)
            .unwrap()
            .len(),
        MAX_REQUEST - 1
    );
    assert!(matches!(
        read_line(&mut BufReader::new(&b"{\"v\":1"[..]), MAX_REQUEST),
        Err(LineError::Truncated)
    ));
}

#[test]
fn versions_and_shapes_are_checked() {
    let (code, msg) = parse_request(br#"{"v":2,"op":"credential","future":true}"#).unwrap_err();
    assert_eq!(code, ErrorCode::Version);
    assert!(msg.contains("protocol 1, the client 2"), "{msg}");
    let (code, _) = parse_request(br#"{"op":"status"}"#).unwrap_err();
    assert_eq!(code, ErrorCode::BadRequest);
    let (code, _) = parse_request(br#"{"v":1,"op":"credential"}"#).unwrap_err();
    assert_eq!(code, ErrorCode::BadRequest);
    let (_, msg) = parse_request(br#"{"v":1,"op":"status","token":"eyJpasted"}"#).unwrap_err();
    assert!(
        !msg.contains("eyJpasted") && !msg.contains("token"),
        "{msg}"
    );
    assert_eq!(
        parse_request(br#"{"v":1,"op":"status"}"#).unwrap().op,
        Op::Status
    );
}

/// Issue 32, findings 1–3 and 7: what `get` refuses on its flags is
/// refused here, before the policy or the API server sees it, and the
/// answer never quotes it.
#[test]
fn names_durations_and_sources_are_checked_before_anything() {
    let refused = |edit: &dyn Fn(&mut Request)| {
        let mut req = sa_request();
        edit(&mut req);
        let line = serde_json::to_vec(&req).unwrap();
        parse_request(&line).unwrap_err()
    };
    let sa = |ns: &str, name: &str| {
        let (ns, name) = (ns.to_string(), name.to_string());
        move |r: &mut Request| {
            r.service_account = Some(ServiceAccountRef {
                namespace: ns.clone(),
                name: name.clone(),
            })
        }
    };
    for (ns, name) in [
        ("ci-a/serviceaccounts/admin/token?x=", "deployer"),
        ("ci-a/pods/web/proxy/admin/reset?x=", "deployer"),
        ("ci-a", "deployer/token"),
        ("ci-a", "../admin"),
        ("..", "deployer"),
        ("ci-a", "deployer\n{\"forged\":1}"),
        ("ci-a%2f", "deployer"),
        ("CI-A", "deployer"),
    ] {
        let (code, msg) = refused(&sa(ns, name));
        assert_eq!(code, ErrorCode::BadRequest, "{ns} {name}");
        assert!(!msg.contains("admin") && !msg.contains("forged"), "{msg}");
    }
    let user = |name: &str, group: &str| {
        let (name, group) = (name.to_string(), group.to_string());
        move |r: &mut Request| {
            r.service_account = None;
            r.user = Some(UserRef {
                name: name.clone(),
                groups: vec![group.clone()],
            })
        }
    };
    for (name, group) in [
        ("alice\nx", "dev"),
        ("alice", "dev\u{1b}"),
        (&*"a".repeat(257), "dev"),
    ] {
        assert_eq!(refused(&user(name, group)).0, ErrorCode::BadRequest);
    }
    for secs in [0, 1, 599, 10 * 365 * 86_400 + 1, u64::MAX] {
        let (code, msg) = refused(&|r: &mut Request| r.duration_secs = Some(secs));
        assert_eq!(code, ErrorCode::BadRequest, "{secs}");
        assert!(msg.contains("duration"), "{msg}");
    }
    let (_, msg) = refused(&|r: &mut Request| r.source = Some("secret".into()));
    assert!(
        msg.contains("durationSecs does not apply to source secret"),
        "{msg}"
    );
    let (_, msg) = refused(&|r: &mut Request| r.audiences = vec!["a\nb".into()]);
    assert!(msg.starts_with("invalid audience"), "{msg}");
    let (_, msg) = refused(&|r: &mut Request| r.rejected = Some("../x".into()));
    assert!(msg.contains("fingerprint"), "{msg}");
    // The longest valid names and both ends of the lifetime are taken.
    let mut ok = sa_request();
    ok.service_account = Some(ServiceAccountRef {
        namespace: "a".repeat(63),
        name: format!("{}.b", "a".repeat(200)),
    });
    for secs in [600, 10 * 365 * 86_400] {
        ok.duration_secs = Some(secs);
        assert!(parse_request(&serde_json::to_vec(&ok).unwrap()).is_ok());
    }
    ok.source = Some("secret".into());
    ok.duration_secs = None;
    assert!(parse_request(&serde_json::to_vec(&ok).unwrap()).is_ok());
}

#[test]
fn fingerprints_name_without_revealing() {
    let t = Credential::Token(Token::new("eyJa.b.c"));
    let f = fingerprint(&t);
    assert_eq!(f.len(), 64);
    assert!(!f.contains("eyJ"));
    assert_ne!(f, fingerprint(&Credential::Token(Token::new("eyJa.b.d"))));
}

proptest! {
    /// Whatever a caller sends: an answer, never a panic, and never the
    /// input quoted back.
    #[test]
    fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..400), at in 0usize..400) {
        // A credential pasted somewhere into whatever else was sent.
        let secret = b"eyJSECRETSECRET";
        let mut input = bytes.clone();
        let at = at.min(input.len());
        input.splice(at..at, secret.iter().copied());
        input.retain(|&b| b != b'\n');
        input.push(b'\n');
        match read_line(&mut BufReader::with_capacity(16, &input[..]), 256) {
            Ok(line) => {
                let err = parse_request(&line).err();
                prop_assert!(err.is_some(), "garbage taken as a request");
                prop_assert!(!err.unwrap().1.contains("SECRET"));
            }
            Err(e) => prop_assert!(matches!(e, LineError::TooLong(256)) && input.len() > 256),
        }
    }

    #[test]
    fn json_shaped_input_never_echoes(ns in "[a-z]{1,12}", junk in "[A-Za-z]{8,16}") {
        let line = format!(r#"{{"v":1,"op":"credential","serviceAccount":{{"namespace":"{ns}","name":1}},"x":"{junk}"}}"#);
        let (code, msg) = parse_request(line.as_bytes()).unwrap_err();
        prop_assert_eq!(code, ErrorCode::BadRequest);
        prop_assert!(!msg.contains(&junk));
    }

    #[test]
    fn valid_requests_round_trip(ns in "[a-z]([a-z0-9-]{0,18}[a-z0-9])?", name in "[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,8}[a-z0-9])?)?",
                                 secs in 600u64..100_000, aud in proptest::collection::vec("[a-z:/.]{1,20}", 0..3)) {
        let mut req = sa_request();
        req.service_account = Some(ServiceAccountRef { namespace: ns, name });
        req.duration_secs = Some(secs);
        req.audiences = aud;
        let mut out = Vec::new();
        write_line(&mut out, &req).unwrap();
        prop_assert!(out.len() <= MAX_REQUEST);
        let line = read_line(&mut BufReader::new(&out[..]), MAX_REQUEST).unwrap();
        prop_assert_eq!(parse_request(&line).unwrap(), req);
    }
}
