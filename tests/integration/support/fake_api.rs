//! A tiny fake API server over plain HTTP on 127.0.0.1, for the fast tests
//! only: it answers TokenRequests with real RS256 tokens and counts them,
//! serves one legacy token Secret per ServiceAccount, and answers
//! SelfSubjectReviews; as an "old" server (Kubernetes 1.27), only in
//! v1beta1. The end-to-end tests use a real kube-apiserver instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{jwt, now};

pub const ADMIN_TOKEN: &str = "fake-admin-credential";

pub struct FakeApi {
    pub server: String,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    token_requests: AtomicUsize,
    /// SelfSubjectReviews answered, any version.
    reviews: AtomicUsize,
    /// Serve SelfSubjectReview in v1beta1 only, like Kubernetes 1.27.
    old: bool,
    /// Stop listening: the port refuses connections from then on.
    stopped: std::sync::atomic::AtomicBool,
}

impl FakeApi {
    pub fn start() -> FakeApi {
        FakeApi::with(State::default())
    }

    /// A server without SelfSubjectReview v1 (Kubernetes 1.27).
    pub fn start_old() -> FakeApi {
        FakeApi::with(State {
            old: true,
            ..Default::default()
        })
    }

    fn with(state: State) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(state);
        let s = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if s.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &s);
                });
            }
        });
        FakeApi { server, state }
    }

    /// Closes the listening socket (a server that went down); returns once
    /// connections are refused.
    pub fn stop(&self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        let addr = self.server.trim_start_matches("http://");
        // Wakes the accept loop, which then ends and drops the listener.
        let _ = std::net::TcpStream::connect(addr);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    pub fn reviews(&self) -> usize {
        self.state.reviews.load(Ordering::SeqCst)
    }

    /// An admin kubeconfig (context "admin") for this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: admin\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: admin\n  context: {{cluster: fake, user: admin}}\nusers:\n- name: admin\n  user:\n    token: {ADMIN_TOKEN}\n",
            self.server
        )
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    (
        code,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code})
            .to_string(),
    )
}

fn serve(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut len = 0usize;
        let mut auth = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').unwrap_or((line, ""));
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "authorization" => auth = v.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (code, json) = route(method, path, &auth, &body, state);
        let reply = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        );
        stream.write_all(reply.as_bytes())?;
    }
}

/// The subject of a bearer JWT (not verified: a fake).
fn subject(auth: &str) -> Option<String> {
    use base64::Engine;
    let payload = auth.strip_prefix("Bearer ")?.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"].as_str().map(str::to_string)
}

fn legacy_token(ns: &str, sa: &str) -> String {
    jwt(serde_json::json!({
        "iss": "kubernetes/serviceaccount", "sub": format!("system:serviceaccount:{ns}:{sa}"),
        "kubernetes.io/serviceaccount/namespace": ns,
        "kubernetes.io/serviceaccount/secret.name": format!("{sa}-token"),
        "kubernetes.io/serviceaccount/service-account.name": sa
    }))
}

fn token_secret(ns: &str, sa: &str) -> serde_json::Value {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    serde_json::json!({"kind": "Secret", "apiVersion": "v1",
        "metadata": {"name": format!("{sa}-token"), "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {"kubernetes.io/service-account.name": sa}},
        "type": "kubernetes.io/service-account-token",
        "data": {"token": b64(&legacy_token(ns, sa)), "namespace": b64(ns)}})
}

fn route(method: &str, path: &str, auth: &str, body: &[u8], state: &State) -> (u16, String) {
    let segs: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_matches('/')
        .split('/')
        .collect();
    // SelfSubjectReview: made with the token under review.
    if let (
        "POST",
        [
            "apis",
            "authentication.k8s.io",
            version,
            "selfsubjectreviews",
        ],
    ) = (method, segs.as_slice())
    {
        if *version == "v1" && state.old {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        // The admin asks who it is (`serve`'s start-up check): not counted.
        let sub = match subject(auth) {
            _ if auth == format!("Bearer {ADMIN_TOKEN}") => "fake-admin".to_string(),
            Some(sub) => {
                state.reviews.fetch_add(1, Ordering::SeqCst);
                sub
            }
            None => return status(401, "Unauthorized", "Unauthorized"),
        };
        return (
            201,
            serde_json::json!({"kind": "SelfSubjectReview", "apiVersion": format!("authentication.k8s.io/{version}"),
                "status": {"userInfo": {"username": sub, "groups": ["system:serviceaccounts"]}}})
            .to_string(),
        );
    }
    if auth != format!("Bearer {ADMIN_TOKEN}") {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let count = &state.token_requests;
    let segs: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_matches('/')
        .split('/')
        .collect();
    match (method, segs.as_slice()) {
        (
            "POST",
            [
                "api",
                "v1",
                "namespaces",
                ns,
                "serviceaccounts",
                sa,
                "token",
            ],
        ) => {
            count.fetch_add(1, Ordering::SeqCst);
            match *sa {
                "missing" => status(
                    404,
                    "NotFound",
                    &format!("serviceaccounts \"{sa}\" not found"),
                ),
                "forbidden" => status(
                    403,
                    "Forbidden",
                    &format!(
                        "serviceaccounts \"{sa}\" is forbidden: User \"x\" cannot create resource \"serviceaccounts/token\""
                    ),
                ),
                _ => {
                    let req: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
                    let secs = req["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
                    let aud = match req["spec"]["audiences"].as_array() {
                        Some(a) if !a.is_empty() => serde_json::Value::Array(a.clone()),
                        _ => serde_json::json!(["https://kubernetes.default.svc"]),
                    };
                    let iat = now();
                    let token = jwt(serde_json::json!({
                        "iss": "https://fake", "sub": format!("system:serviceaccount:{ns}:{sa}"), "aud": aud,
                        "iat": iat, "nbf": iat, "exp": iat + secs, "jti": format!("jti-{}", count.load(Ordering::SeqCst)),
                        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa, "uid": "uid-1"}}
                    }));
                    let exp = time_rfc3339(iat + secs);
                    (
                        201,
                        serde_json::json!({"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                            "metadata": {"name": sa, "namespace": ns},
                            "spec": req["spec"], "status": {"token": token, "expirationTimestamp": exp}})
                        .to_string(),
                    )
                }
            }
        }
        // The admin may do anything it asks about, but in namespace "locked".
        (
            "POST",
            [
                "apis",
                "authorization.k8s.io",
                "v1",
                "selfsubjectaccessreviews",
            ],
        ) => {
            let req: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let ns = &req["spec"]["resourceAttributes"]["namespace"];
            (
                201,
                serde_json::json!({"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                    "spec": req["spec"], "status": {"allowed": ns != "locked"}})
                .to_string(),
            )
        }
        ("GET", ["api", "v1", "namespaces", ns, "serviceaccounts", sa]) => (
            200,
            serde_json::json!({"kind": "ServiceAccount", "apiVersion": "v1",
                "metadata": {"name": sa, "namespace": ns}, "secrets": [{"name": format!("{sa}-token")}]})
            .to_string(),
        ),
        ("GET", ["api", "v1", "namespaces", ns, "secrets", name]) => match name.strip_suffix("-token") {
            Some(sa) => (200, token_secret(ns, sa).to_string()),
            None => status(404, "NotFound", &format!("secrets \"{name}\" not found")),
        },
        ("GET", ["api", "v1", "namespaces", _, "secrets"]) => (
            200,
            serde_json::json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": []}).to_string(),
        ),
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn time_rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}
