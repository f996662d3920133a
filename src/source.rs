//! Token sources and every other conversation with the API server. This is
//! the only module that imports `kube`.
//!
//! - [`Admin`]: a client built from the named admin context only (client
//!   certs, a token or another exec plugin, whatever that context uses).
//! - TokenRequest (`--source token-request`) and the classic token Secret
//!   (`--source secret`).
//! - Requests made *with* a ServiceAccount token: SelfSubjectReview, version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{
    BoundObjectReference, SelfSubjectReview, TokenRequest, TokenRequestSpec, TokenReview,
    TokenReviewSpec, UserInfo,
};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use time::OffsetDateTime;

use crate::kubeconfig::normalize_server;
use crate::token::Token;

/// Errors talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The admin kubeconfig could not be turned into a client.
    #[error(
        "cannot use admin context {context:?}: {detail}; check it with `kubectl --context {context} auth whoami`"
    )]
    Config { context: String, detail: String },
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
    /// The server answered with something unusable.
    #[error("unexpected answer from {server}: {detail}")]
    BadAnswer { server: String, detail: String },
}

/// What the failing call was, to build a precise error.
struct Action<'a> {
    verb: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    hint_404: String,
}

/// A minted token and what the server said about it.
pub struct Minted {
    pub token: Token,
    /// TokenRequest's status.expirationTimestamp (absent for legacy tokens).
    pub expires: Option<OffsetDateTime>,
    /// The Secret the token came from or is bound to.
    pub secret: Option<String>,
    /// `ca.crt` of a legacy token Secret.
    pub ca_crt: Option<Vec<u8>>,
}

/// A client for the admin context.
pub struct Admin {
    client: Client,
    config: Config,
    context: String,
    server: String,
}

/// An error and its sources on one line, made safe to show: see [`exec_failure`].
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    let text = parts.join(": ");
    exec_failure(&text).unwrap_or_else(|| text.replace('\n', " "))
}

/// kube-rs reports a failed exec plugin with its whole command line,
/// environment and captured stdout, which may hold a credential. Keep only
/// the exit status and the plugin's own stderr.
fn exec_failure(text: &str) -> Option<String> {
    if !text.contains("auth exec command") {
        return None;
    }
    let status = text
        .find("exit status: ")
        .map(|i| {
            let code: String = text[i + 13..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            format!("exit status {code}")
        })
        .unwrap_or_else(|| "an error".into());
    let stderr = text.find("stderr: \"").map(|i| {
        let rest = &text[i + 9..];
        let end = rest.rfind("\" }").unwrap_or(rest.len());
        rest[..end]
            .replace("\\n", " ")
            .replace("\\\"", "\"")
            .trim()
            .to_string()
    });
    Some(match stderr.filter(|s| !s.is_empty()) {
        Some(err) => format!("its exec plugin failed with {status}: {err}"),
        None => format!("its exec plugin failed with {status}"),
    })
}

impl Admin {
    /// Builds the client from the named context of the admin kubeconfig.
    pub async fn connect(kubeconfig: Option<&Path>, context: &str) -> Result<Admin, SourceError> {
        Admin::connect_minting(kubeconfig, context, None).await
    }

    /// Like [`Admin::connect`], for a mint: exec plugins the admin context
    /// runs receive the recursion chain ([`crate::guard`]) in their
    /// environment; this process's own environment is never changed.
    pub async fn connect_minting(
        kubeconfig: Option<&Path>,
        context: &str,
        mint_chain: Option<&str>,
    ) -> Result<Admin, SourceError> {
        let cfg_err = |detail: String| SourceError::Config {
            context: context.into(),
            detail,
        };
        let mut kc = match kubeconfig {
            Some(p) => Kubeconfig::read_from(p),
            None => Kubeconfig::read(),
        }
        .map_err(|e| cfg_err(chain(&e)))?;
        if let Some(value) = mint_chain {
            let execs = kc
                .auth_infos
                .iter_mut()
                .filter_map(|u| u.auth_info.as_mut()?.exec.as_mut());
            for exec in execs {
                exec.env.get_or_insert_with(Vec::new).push(HashMap::from([
                    ("name".to_string(), crate::guard::CHAIN_ENV.to_string()),
                    ("value".to_string(), value.to_string()),
                ]));
            }
        }
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let mut config = Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| cfg_err(chain(&e)))?;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(30));
        let server = normalize_server(&config.cluster_url.to_string());
        let client = Client::try_from(config.clone()).map_err(|e| cfg_err(chain(&e)))?;
        Ok(Admin {
            client,
            config,
            context: context.into(),
            server,
        })
    }

    /// The admin context's server URL, normalized.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn who(&self) -> String {
        format!("admin context {:?}", self.context)
    }

    fn map<'a>(&'a self, a: Action<'a>) -> impl FnOnce(kube::Error) -> SourceError + 'a {
        move |e| map_error(e, &self.server, &self.who(), a)
    }

    /// TokenRequest for `namespace/name`. The server may shorten the
    /// lifetime; the returned expiry is the one to trust.
    pub async fn token_request(
        &self,
        namespace: &str,
        name: &str,
        duration: Duration,
        audiences: &[String],
        bound_secret: Option<(&str, &str)>,
    ) -> Result<Minted, SourceError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        let req = TokenRequest {
            metadata: ObjectMeta::default(),
            spec: TokenRequestSpec {
                audiences: audiences.to_vec(),
                expiration_seconds: Some(duration.as_secs() as i64),
                bound_object_ref: bound_secret.map(|(n, uid)| BoundObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Secret".into()),
                    name: Some(n.into()),
                    uid: Some(uid.into()),
                }),
            },
            status: None,
        };
        let out = api
            .create_token_request(name, &PostParams::default(), &req)
            .await
            .map_err(self.map(Action {
                verb: "create",
                resource: "serviceaccounts/token",
                namespace: Some(namespace),
                name: Some(name),
                hint_404: format!("create it with `kubectl create serviceaccount -n {namespace} {name}` or fix --namespace/--service-account"),
            }))?;
        let status = out.status.ok_or_else(|| SourceError::BadAnswer {
            server: self.server.clone(),
            detail: "TokenRequest without status".into(),
        })?;
        Ok(Minted {
            token: Token::new(status.token),
            expires: OffsetDateTime::from_unix_timestamp(status.expiration_timestamp.0.as_second())
                .ok(),
            secret: bound_secret.map(|(n, _)| n.to_string()),
            ca_crt: None,
        })
    }

    pub async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ServiceAccount, SourceError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        api.get(name).await.map_err(self.map(Action {
            verb: "get",
            resource: "serviceaccounts",
            namespace: Some(namespace),
            name: Some(name),
            hint_404: format!("create it with `kubectl create serviceaccount -n {namespace} {name}` or fix --namespace/--service-account"),
        }))
    }

    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    fn secret_action<'a>(
        &self,
        verb: &'a str,
        namespace: &'a str,
        name: Option<&'a str>,
    ) -> Action<'a> {
        Action {
            verb,
            resource: "secrets",
            namespace: Some(namespace),
            name,
            hint_404: "it may have been deleted".into(),
        }
    }

    /// The classic way: the token of a `kubernetes.io/service-account-token`
    /// Secret of the ServiceAccount, found through `.secrets[]` or by the
    /// `kubernetes.io/service-account.name` annotation. With `create`, makes
    /// one when none exists and waits (at most `wait`) for the controller.
    pub async fn secret_token(
        &self,
        namespace: &str,
        name: &str,
        create: bool,
        wait: Duration,
    ) -> Result<Minted, SourceError> {
        let sa = self.service_account(namespace, name).await?;
        let api = self.secrets(namespace);
        let mut candidates: Vec<Secret> = Vec::new();
        for r in sa.secrets.unwrap_or_default() {
            let Some(n) = r.name else { continue };
            match api.get_opt(&n).await.map_err(self.map(self.secret_action(
                "get",
                namespace,
                Some(&n),
            )))? {
                Some(s) if is_token_secret_of(&s, name) => candidates.push(s),
                _ => {}
            }
        }
        let lp = ListParams::default().fields("type=kubernetes.io/service-account-token");
        let listed = api
            .list(&lp)
            .await
            .map_err(self.map(self.secret_action("list", namespace, None)))?;
        for s in listed.items {
            if is_token_secret_of(&s, name)
                && !candidates
                    .iter()
                    .any(|c| c.metadata.name == s.metadata.name)
            {
                candidates.push(s);
            }
        }
        // Oldest first, like `.secrets[0]`; only Secrets already filled in.
        candidates.sort_by_key(|s| s.metadata.creation_timestamp.as_ref().map(|t| t.0));
        if let Some(m) = candidates.iter().find_map(minted_from_secret) {
            return Ok(m);
        }
        let secret_name = match candidates.first().and_then(|s| s.metadata.name.clone()) {
            Some(pending) => pending,
            None if create => self.create_token_secret(namespace, name).await?,
            None => {
                return Err(SourceError::NoTokenSecret {
                    namespace: namespace.into(),
                    name: name.into(),
                });
            }
        };
        self.wait_for_token(namespace, &secret_name, wait).await
    }

    /// Creates a token Secret for `sa` with a generated name (a legacy token
    /// depends only on the Secret's name, so a fresh name gives a fresh token).
    async fn create_token_secret(&self, namespace: &str, sa: &str) -> Result<String, SourceError> {
        let secret = Secret {
            metadata: ObjectMeta {
                generate_name: Some(format!("{sa}-token-")),
                namespace: Some(namespace.into()),
                annotations: Some(BTreeMap::from([(
                    "kubernetes.io/service-account.name".to_string(),
                    sa.to_string(),
                )])),
                labels: Some(managed_by()),
                ..Default::default()
            },
            type_: Some("kubernetes.io/service-account-token".into()),
            ..Default::default()
        };
        let created = self
            .secrets(namespace)
            .create(&PostParams::default(), &secret)
            .await
            .map_err(self.map(self.secret_action("create", namespace, None)))?;
        created.metadata.name.ok_or_else(|| SourceError::BadAnswer {
            server: self.server.clone(),
            detail: "created Secret has no name".into(),
        })
    }

    async fn wait_for_token(
        &self,
        namespace: &str,
        secret: &str,
        wait: Duration,
    ) -> Result<Minted, SourceError> {
        let api = self.secrets(namespace);
        let start = std::time::Instant::now();
        loop {
            let s = api.get(secret).await.map_err(self.map(self.secret_action(
                "get",
                namespace,
                Some(secret),
            )))?;
            if let Some(m) = minted_from_secret(&s) {
                return Ok(m);
            }
            if start.elapsed() >= wait {
                return Err(SourceError::SecretTimeout {
                    namespace: namespace.into(),
                    name: secret.into(),
                    waited: wait,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates (or finds) the Opaque Secret a `--bind-secret` token is bound
    /// to; returns its name and uid.
    pub async fn bind_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(String, String), SourceError> {
        let api = self.secrets(namespace);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                labels: Some(managed_by()),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        let s = match api.create(&PostParams::default(), &secret).await {
            Ok(s) => s,
            Err(kube::Error::Api(st)) if st.code == 409 => api
                .get(name)
                .await
                .map_err(self.map(self.secret_action("get", namespace, Some(name))))?,
            Err(e) => {
                return Err(map_error(
                    e,
                    &self.server,
                    &self.who(),
                    self.secret_action("create", namespace, None),
                ));
            }
        };
        let uid = s.metadata.uid.ok_or_else(|| SourceError::BadAnswer {
            server: self.server.clone(),
            detail: "Secret without uid".into(),
        })?;
        Ok((name.to_string(), uid))
    }

    /// Deletes a Secret; `Ok(false)` when it was already gone.
    pub async fn delete_secret(&self, namespace: &str, name: &str) -> Result<bool, SourceError> {
        match self
            .secrets(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(map_error(
                e,
                &self.server,
                &self.who(),
                self.secret_action("delete", namespace, Some(name)),
            )),
        }
    }

    /// SelfSubjectAccessReview: may the admin context do this?
    pub async fn can(
        &self,
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: &str,
    ) -> Result<bool, SourceError> {
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let review = SelfSubjectAccessReview {
            metadata: ObjectMeta::default(),
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.into()),
                    verb: Some(verb.into()),
                    resource: Some(resource.into()),
                    subresource: subresource.map(Into::into),
                    ..Default::default()
                }),
                ..Default::default()
            },
            status: None,
        };
        let out = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(self.map(Action {
                verb: "create",
                resource: "selfsubjectaccessreviews",
                namespace: None,
                name: None,
                hint_404: "the server does not serve authorization.k8s.io/v1".into(),
            }))?;
        Ok(out.status.map(|s| s.allowed).unwrap_or(false))
    }

    /// The cluster CA from the `kube-root-ca.crt` ConfigMap of a namespace.
    pub async fn root_ca_configmap(&self, namespace: &str) -> Result<Option<Vec<u8>>, SourceError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let cm = api
            .get_opt("kube-root-ca.crt")
            .await
            .map_err(self.map(Action {
                verb: "get",
                resource: "configmaps",
                namespace: Some(namespace),
                name: Some("kube-root-ca.crt"),
                hint_404: String::new(),
            }))?;
        Ok(cm
            .and_then(|c| c.data)
            .and_then(|d| d.get("ca.crt").map(|s| s.as_bytes().to_vec())))
    }

    /// TokenReview: does the server accept this token?
    pub async fn token_review(
        &self,
        token: &Token,
        audiences: &[String],
    ) -> Result<(bool, Option<UserInfo>, Option<String>), SourceError> {
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let review = TokenReview {
            metadata: ObjectMeta::default(),
            spec: TokenReviewSpec {
                token: Some(token.expose().to_string()),
                audiences: if audiences.is_empty() {
                    None
                } else {
                    Some(audiences.to_vec())
                },
            },
            status: None,
        };
        let out = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(self.map(Action {
                verb: "create",
                resource: "tokenreviews",
                namespace: None,
                name: None,
                hint_404: String::new(),
            }))?;
        let st = out.status.unwrap_or_default();
        Ok((st.authenticated.unwrap_or(false), st.user, st.error))
    }

    /// The server's JWKS (`/openid/v1/jwks`), raw JSON.
    pub async fn jwks(&self) -> Result<String, SourceError> {
        self.raw_get("/openid/v1/jwks").await
    }

    async fn raw_get(&self, path: &str) -> Result<String, SourceError> {
        let req =
            http::Request::get(path)
                .body(Vec::new())
                .map_err(|e| SourceError::BadAnswer {
                    server: self.server.clone(),
                    detail: e.to_string(),
                })?;
        self.client.request_text(req).await.map_err(self.map(Action {
            verb: "get",
            resource: path,
            namespace: None,
            name: None,
            hint_404: "the service account issuer discovery endpoints need an https --service-account-issuer".into(),
        }))
    }

    /// The server's Date header minus our clock, in seconds.
    pub async fn clock_offset(&self) -> Result<i64, SourceError> {
        let req = http::Request::get("/version")
            .body(Vec::new())
            .map_err(|e| SourceError::BadAnswer {
                server: self.server.clone(),
                detail: e.to_string(),
            })?;
        let before = OffsetDateTime::now_utc();
        let resp = self
            .client
            .send(req.map(Into::into))
            .await
            .map_err(self.map(Action {
                verb: "get",
                resource: "/version",
                namespace: None,
                name: None,
                hint_404: String::new(),
            }))?;
        let after = OffsetDateTime::now_utc();
        let date = resp
            .headers()
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()
            })
            .ok_or_else(|| SourceError::BadAnswer {
                server: self.server.clone(),
                detail: "no Date header".into(),
            })?;
        let mid: OffsetDateTime = before + (after - before) / 2;
        let offset: time::Duration = date - mid;
        Ok(offset.whole_seconds())
    }

    /// A client that authenticates with `token` instead of the admin
    /// credentials, for the same server and CA.
    pub fn as_token(&self, token: &Token, who: &str) -> Result<TokenClient, SourceError> {
        let mut config = self.config.clone();
        config.auth_info = AuthInfo {
            token: Some(token.expose().to_string().into()),
            ..Default::default()
        };
        config.headers.clear();
        let client = Client::try_from(config).map_err(|e| SourceError::Config {
            context: self.context.clone(),
            detail: chain(&e),
        })?;
        Ok(TokenClient {
            client,
            server: self.server.clone(),
            who: who.into(),
        })
    }
}

/// A client that sends a ServiceAccount token.
pub struct TokenClient {
    client: Client,
    server: String,
    who: String,
}

impl TokenClient {
    /// Builds a client for `server` with the given CA, without any kubeconfig.
    pub fn new(
        server: &str,
        ca_pem: Option<&[u8]>,
        tls_server_name: Option<&str>,
        insecure: bool,
        token: &Token,
        who: &str,
    ) -> Result<TokenClient, SourceError> {
        let bad = |detail: String| SourceError::Config {
            context: "(exec cluster info)".into(),
            detail,
        };
        let uri: http::Uri = server
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
        let mut config = Config::new(uri);
        if let Some(pem) = ca_pem {
            config.root_cert = Some(pem_certs(pem).map_err(bad)?);
        }
        config.tls_server_name = tls_server_name.map(str::to_string);
        config.accept_invalid_certs = insecure;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(30));
        config.auth_info = AuthInfo {
            token: Some(token.expose().to_string().into()),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| bad(chain(&e)))?;
        Ok(TokenClient {
            client,
            server: normalize_server(server),
            who: who.into(),
        })
    }

    /// SelfSubjectReview (like `kubectl auth whoami`).
    pub async fn whoami(&self) -> Result<UserInfo, SourceError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let out = api
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .map_err(|e| {
                map_error(
                    e,
                    &self.server,
                    &self.who,
                    Action {
                        verb: "create",
                        resource: "selfsubjectreviews",
                        namespace: None,
                        name: None,
                        hint_404: "SelfSubjectReview needs Kubernetes 1.28+".into(),
                    },
                )
            })?;
        Ok(out.status.and_then(|s| s.user_info).unwrap_or_default())
    }

    /// GET /version with the token, as the classic `curl --cacert ca.crt -H "Authorization: Bearer ..." $SERVER/version`.
    pub async fn version(
        &self,
    ) -> Result<k8s_openapi::apimachinery::pkg::version::Info, SourceError> {
        self.client.apiserver_version().await.map_err(|e| {
            map_error(
                e,
                &self.server,
                &self.who,
                Action {
                    verb: "get",
                    resource: "/version",
                    namespace: None,
                    name: None,
                    hint_404: String::new(),
                },
            )
        })
    }
}

fn managed_by() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        "kube-sa-token".to_string(),
    )])
}

fn is_token_secret_of(s: &Secret, sa: &str) -> bool {
    s.type_.as_deref() == Some("kubernetes.io/service-account-token")
        && s.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("kubernetes.io/service-account.name"))
            .map(String::as_str)
            == Some(sa)
}

fn minted_from_secret(s: &Secret) -> Option<Minted> {
    let data = s.data.as_ref()?;
    let token = String::from_utf8(data.get("token")?.0.clone())
        .ok()
        .filter(|t| !t.is_empty())?;
    Some(Minted {
        token: Token::new(token),
        expires: None,
        secret: s.metadata.name.clone(),
        ca_crt: data.get("ca.crt").map(|b| b.0.clone()),
    })
}

/// DER certificates of a PEM bundle.
fn pem_certs(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use base64::Engine;
    let text = std::str::from_utf8(pem).map_err(|_| "CA bundle is not PEM text".to_string())?;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN CERTIFICATE") {
            body = Some(String::new());
        } else if line.starts_with("-----END CERTIFICATE") {
            let b = body.take().unwrap_or_default();
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| format!("bad PEM: {e}"))?,
            );
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if out.is_empty() {
        return Err("CA bundle holds no certificate".into());
    }
    Ok(out)
}

fn map_error(e: kube::Error, server: &str, who: &str, a: Action<'_>) -> SourceError {
    let scope = match (a.namespace, a.name) {
        (Some(ns), Some(n)) => format!(" {n:?} in namespace {ns:?}"),
        (Some(ns), None) => format!(" in namespace {ns:?}"),
        (None, Some(n)) => format!(" {n:?}"),
        (None, None) => String::new(),
    };
    match e {
        kube::Error::Api(s) => match s.code {
            404 => SourceError::NotFound {
                what: match (a.namespace, a.name) {
                    (Some(ns), Some(n)) => format!("{} {ns}/{n}", a.resource.split('/').next().unwrap_or(a.resource).trim_end_matches('s')),
                    _ => a.resource.to_string(),
                },
                server: server.into(),
                hint: if a.hint_404.is_empty() { s.message.clone() } else { a.hint_404 },
            },
            403 => SourceError::Forbidden { who: who.into(), verb: a.verb.into(), resource: a.resource.into(), scope, server: server.into() },
            401 => SourceError::Unauthorized {
                who: who.into(),
                server: server.into(),
                hint: "renew that context's credentials (kubectl --context ... auth whoami shows whether they work)".into(),
            },
            code => SourceError::Api { action: format!("{} {}{}", a.verb, a.resource, scope), server: server.into(), code, message: s.message.clone() },
        },
        kube::Error::Auth(err) => SourceError::Config { context: who.trim_start_matches("admin context ").trim_matches('"').into(), detail: chain(&err) },
        other => {
            let detail = chain(&other);
            let lower = detail.to_ascii_lowercase();
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
                SourceError::Tls { server: server.into(), detail }
            } else {
                SourceError::Unreachable { server: server.into(), detail }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_certs_reads_every_certificate() {
        let pem = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_certs(pem.as_bytes()).unwrap(),
            vec![vec![1u8, 2, 3], vec![4u8, 5]]
        );
        assert!(pem_certs(b"nothing").is_err());
    }

    #[test]
    fn exec_failures_keep_only_status_and_stderr() {
        let text = r#"auth error: auth exec command 'KUBERNETES_EXEC_INFO="{}" "/bin/x" "get"' failed with status exit status: 6: Output { status: ExitStatus(unix_wait_status(1536)), stdout: "{\"status\":{\"token\":\"SECRET\"}}", stderr: "kube-sa-token: recursion: \"sa\" loops\n" }"#;
        let got = exec_failure(text).unwrap();
        assert_eq!(
            got,
            "its exec plugin failed with exit status 6: kube-sa-token: recursion: \"sa\" loops"
        );
        assert!(!got.contains("SECRET"));
        assert_eq!(exec_failure("connection refused"), None);
    }

    #[test]
    fn token_secret_match() {
        let mut s = Secret {
            type_: Some("kubernetes.io/service-account-token".into()),
            ..Default::default()
        };
        s.metadata.annotations = Some(BTreeMap::from([(
            "kubernetes.io/service-account.name".into(),
            "viewer".into(),
        )]));
        assert!(is_token_secret_of(&s, "viewer"));
        assert!(!is_token_secret_of(&s, "other"));
        assert!(minted_from_secret(&s).is_none(), "not yet filled in");
    }
}
