//! Errors talking to the API server, and the mapping of kube's errors to
//! them: by type (HTTP status, exec plugin failure, TLS), never by guessing
//! from message text, and without passing on text that may hold a credential.

use std::error::Error as StdError;
use std::time::Duration;

use kube::client::AuthError;

/// Errors talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    /// The admin kubeconfig could not be turned into a client.
    #[error(
        "cannot use admin context {context:?}: {detail}; check it with `kubectl --context {context} auth whoami`"
    )]
    Config { context: String, detail: String },
    /// The admin context uses an `auth-provider`, which this tool cannot run.
    #[error(
        "admin context {context:?} authenticates with the auth-provider {provider:?}, which kube-sa-token does not run (client-go removed gcp and azure; oidc rewrites the kubeconfig with each refresh); switch that user to its exec plugin: {instead}"
    )]
    AuthProvider {
        context: String,
        provider: String,
        instead: &'static str,
    },
    /// An object the request needs does not exist (HTTP 404).
    #[error("{what} not found on {server}; {hint}")]
    NotFound {
        what: String,
        server: String,
        hint: String,
    },
    /// The caller lacks a permission (HTTP 403).
    #[error(
        "forbidden: {who} may not {verb} {resource}{scope} on {server}; grant it with RBAC (e.g. a Role with verb {verb:?} on {resource:?}) or use another --admin-context"
    )]
    Forbidden {
        who: String,
        verb: String,
        resource: String,
        scope: String,
        server: String,
    },
    /// The credentials were rejected (HTTP 401).
    #[error("unauthorized: {server} rejected the credentials of {who}; {hint}")]
    Unauthorized {
        who: String,
        server: String,
        hint: String,
    },
    /// No connection to the server.
    #[error(
        "cannot reach the API server {server}: {detail}; check that it is running and the kubeconfig's server URL is right"
    )]
    Unreachable { server: String, detail: String },
    /// TLS handshake or certificate verification failed.
    #[error(
        "TLS failure talking to {server}: {detail}; check the cluster's certificate-authority in the kubeconfig"
    )]
    Tls { server: String, detail: String },
    /// Any other answer from the server.
    #[error("{action} failed on {server}: HTTP {code} {message}")]
    Api {
        action: String,
        server: String,
        code: u16,
        message: String,
    },
    /// The token controller did not fill in a created Secret in time.
    #[error("timed out after {}s waiting for the token controller to fill in Secret {namespace}/{name}; is kube-controller-manager running with the serviceaccount-token controller? Or use --source token-request", waited.as_secs())]
    SecretTimeout {
        namespace: String,
        name: String,
        waited: Duration,
    },
    /// The ServiceAccount has no token Secret and none may be created.
    #[error(
        "ServiceAccount {namespace}/{name} has no token Secret; add --create-secret to create one, or use --source token-request"
    )]
    NoTokenSecret { namespace: String, name: String },
    /// The admin context may create a CSR but not approve it.
    #[error(
        "forbidden: {who} may not approve CertificateSigningRequests for kubernetes.io/kube-apiserver-client on {server} (that takes update on certificatesigningrequests/approval and approve on signers/kubernetes.io/kube-apiserver-client); grant both (docs/users.md has the ClusterRole), let someone else approve with --no-approve, or use another --admin-context"
    )]
    ApproveForbidden { who: String, server: String },
    /// A CertificateSigningRequest was denied, or its signing failed.
    #[error(
        "CertificateSigningRequest {name} was {how} ({reason}); nothing was cached; ask the cluster's admins why, or check the user and groups"
    )]
    CsrDenied {
        name: String,
        /// "denied" or "failed".
        how: String,
        /// The condition's reason when it is one word, else "no reason given".
        reason: String,
    },
    /// No certificate within the wait.
    #[error("{}", csr_timeout(name, *waited, *approved))]
    CsrTimeout {
        name: String,
        waited: Duration,
        approved: bool,
    },
    /// A signal ended the command while it waited for a CSR (deleted first).
    #[error(
        "interrupted by {signal} while waiting for CertificateSigningRequest {name}; the request was deleted and nothing was cached"
    )]
    CsrInterrupted { name: String, signal: &'static str },
    /// The server answered with something unusable.
    #[error("unexpected answer from {server}: {detail}")]
    BadAnswer { server: String, detail: String },
    /// A success answer that is not the JSON the call expects: said where,
    /// never quoting what was there.
    #[error(
        "unexpected answer from {server} to {action}: not the JSON expected ({detail}); check the server URL and any proxy in between"
    )]
    Undecodable {
        action: String,
        server: String,
        detail: String,
    },
    /// An answer over the size limit, or not complete in time
    /// (`bounded.rs`).
    #[error(
        "{action} on {server}: {bounds}; check the server URL and any proxy in between, and try again"
    )]
    Unbounded {
        action: String,
        server: String,
        bounds: String,
    },
    /// A cached credential would go to a cluster it is not bound to.
    #[error(
        "cluster binding: not sending {who} to {server}: {why}; nothing was sent (the admin context or the cluster entry changed since the mint: `kube-sa-token logout` the entry, or restore the cluster's certificate-authority)"
    )]
    Unbound {
        who: String,
        server: String,
        why: String,
    },
}

fn csr_timeout(name: &str, waited: Duration, approved: bool) -> String {
    let secs = waited.as_secs();
    if approved {
        format!(
            "CertificateSigningRequest {name} was approved but not signed within {secs}s (it was deleted); is kube-controller-manager running with --cluster-signing-cert-file and --cluster-signing-key-file (the csrsigning controller)?"
        )
    } else {
        format!(
            "CertificateSigningRequest {name} was not approved within {secs}s and was deleted; with --no-approve, someone allowed to approve must run `kubectl certificate approve <name>` while get waits (it prints the name): raise --csr-timeout, or drop --no-approve to approve with the admin context"
        )
    }
}

/// Who made a failing request, to build a precise error.
pub(super) struct Caller<'a> {
    pub server: &'a str,
    /// "admin context \"x\"", "the token of ns/sa", ...
    pub who: &'a str,
    /// The kubeconfig context whose credentials failed, if any.
    pub context: Option<&'a str>,
}

/// What the failing call was, to build a precise error.
pub(super) struct Action<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    /// What to say on a 404; empty: the server's own message.
    pub hint_404: String,
}

impl<'a> Action<'a> {
    /// A cluster-scoped or non-resource action without a 404 hint.
    pub fn global(verb: &'a str, resource: &'a str) -> Action<'a> {
        Action {
            verb,
            resource,
            namespace: None,
            name: None,
            hint_404: String::new(),
        }
    }
}

/// The first error of type `T` in `e`'s source chain, looking inside
/// `io::Error`s too (their `source()` skips the error they wrap).
pub(super) fn find<'e, T: StdError + 'static>(e: &'e (dyn StdError + 'static)) -> Option<&'e T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(t) = find::<T>(inner)
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// What went wrong with an exec plugin, without its stdout or command line
/// (kube's own message includes both; stdout may hold a credential). `None`
/// for auth errors that are not about running a plugin.
fn exec_failure(e: &AuthError) -> Option<String> {
    Some(match e {
        AuthError::AuthExecRun { out, .. } => {
            let status = match out.status.code() {
                Some(code) => format!("exit status {code}"),
                None => "a signal".to_string(),
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
            if stderr.is_empty() {
                format!("its exec plugin failed with {status}")
            } else {
                format!("its exec plugin failed with {status}: {stderr}")
            }
        }
        AuthError::AuthExecStart(io) => format!("its exec plugin could not be started: {io}"),
        AuthError::AuthExecParse(_) | AuthError::ExecPluginFailed => {
            "its exec plugin did not print an ExecCredential on stdout".into()
        }
        _ => return None,
    })
}

/// An error and its sources on one line; an exec plugin failure anywhere in
/// the chain is described by [`exec_failure`] alone.
pub(super) fn chain(e: &(dyn StdError + 'static)) -> String {
    if let Some(text) = find::<AuthError>(e).and_then(exec_failure) {
        return text;
    }
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

pub(super) fn map_error(e: kube::Error, caller: &Caller<'_>, a: Action<'_>) -> KubeApiError {
    let server = caller.server;
    let who = caller.who;
    let scope = match (a.namespace, a.name) {
        (Some(ns), Some(n)) => format!(" {n:?} in namespace {ns:?}"),
        (Some(ns), None) => format!(" in namespace {ns:?}"),
        (None, Some(n)) => format!(" {n:?}"),
        (None, None) => String::new(),
    };
    let action = || format!("{} {}{}", a.verb, a.resource, scope);
    if let kube::Error::Api(s) = &e {
        // An error page from something that is not an API server (a proxy,
        // a load balancer): its body is never passed on.
        let message = if s.reason == super::timed::NOT_A_STATUS {
            "(the answer is not from a Kubernetes API server; check proxies and the server URL)"
                .to_string()
        } else {
            s.message.clone()
        };
        return match s.code {
            404 => KubeApiError::NotFound {
                what: match (a.namespace, a.name) {
                    (Some(ns), Some(n)) => format!(
                        "{} {ns}/{n}",
                        a.resource
                            .split('/')
                            .next()
                            .unwrap_or(a.resource)
                            .trim_end_matches('s')
                    ),
                    _ => a.resource.to_string(),
                },
                server: server.into(),
                hint: if a.hint_404.is_empty() {
                    message
                } else {
                    a.hint_404
                },
            },
            403 => KubeApiError::Forbidden {
                who: who.into(),
                verb: a.verb.into(),
                resource: a.resource.into(),
                scope,
                server: server.into(),
            },
            401 => KubeApiError::Unauthorized {
                who: who.into(),
                server: server.into(),
                hint: renew_hint(caller.context),
            },
            code => KubeApiError::Api {
                action: action(),
                server: server.into(),
                code,
                message,
            },
        };
    }
    if let kube::Error::SerdeError(json) = &e {
        return KubeApiError::Undecodable {
            action: action(),
            server: server.into(),
            detail: crate::parse_error::json(json),
        };
    }
    if let Some(b) = find::<super::bounded::Bounds>(&e) {
        return KubeApiError::Unbounded {
            action: action(),
            server: server.into(),
            bounds: b.to_string(),
        };
    }
    if find::<AuthError>(&e).is_some() {
        return KubeApiError::Config {
            context: caller.context.unwrap_or(who).into(),
            detail: chain(&e),
        };
    }
    if find::<rustls::Error>(&e).is_some() {
        KubeApiError::Tls {
            server: server.into(),
            detail: chain(&e),
        }
    } else {
        KubeApiError::Unreachable {
            server: server.into(),
            detail: unreachable_detail(&e),
        }
    }
}

/// What to do about credentials the server rejected (HTTP 401).
pub(super) fn renew_hint(context: Option<&str>) -> String {
    match context {
        Some(ctx) => format!(
            "renew that context's credentials (`kubectl --context {ctx} auth whoami` shows whether they work)"
        ),
        None => "they are no longer accepted".into(),
    }
}

/// Why no connection was made, as the system said it ("connection
/// refused", a name that does not resolve), without the client stack's
/// wrapping ("ServiceError: client error (Connect): tcp connect error:").
fn unreachable_detail(e: &(dyn StdError + 'static)) -> String {
    let Some(io) = find::<std::io::Error>(e) else {
        return chain(e);
    };
    let text = io.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => chain(e),
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
