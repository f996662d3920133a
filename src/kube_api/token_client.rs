//! A client that authenticates with the credential `get` hands out (a
//! ServiceAccount token, or a user's client certificate): SelfSubjectReview
//! ("who am I", also how a cached credential is checked) and `/version`.

use k8s_openapi::api::authentication::v1::{SelfSubjectReview, UserInfo};
use kube::api::{Api, PostParams};
use kube::config::AuthInfo;
use kube::{Client, Config};

use super::client_config::{apply_timeouts, pem_certs};
use super::error::KubeApiError;
use super::error::{Action, Caller, chain, map_error};
use super::proxy::{self, ProxyEnv};
use crate::cluster_identity::{ClusterIdentity, normalize_server};
use base64::Engine;

use crate::credential::Credential;

/// A client that authenticates with a cached credential.
pub struct TokenClient {
    client: Client,
    server: String,
    who: String,
}

impl TokenClient {
    /// Builds a client for `server` with the given CA and proxy, without any
    /// kubeconfig (the cluster kubectl described in KUBERNETES_EXEC_INFO),
    /// for a credential minted on `bound`: refused unless the cluster binding
    /// allows sending it there. Call it inside a tokio runtime context.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        server: &str,
        ca_pem: Option<&[u8]>,
        tls_server_name: Option<&str>,
        insecure: bool,
        proxy_url: Option<&str>,
        credential: &Credential,
        bound: &ClusterIdentity,
        who: &str,
    ) -> Result<TokenClient, KubeApiError> {
        let bad = |detail: String| KubeApiError::Config {
            context: "(exec cluster info)".into(),
            detail,
        };
        let target = ClusterIdentity::new(server, ca_pem, tls_server_name, insecure)
            .map_err(|e| bad(e.to_string()))?;
        check_binding(bound, &target, who)?;
        let uri: http::Uri = server
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
        let proxy = proxy::select(proxy_url, &uri, &ProxyEnv::from_env())
            .map_err(|e| bad(e.to_string()))?;
        let mut config = Config::new(uri);
        config.proxy_url = proxy;
        if let Some(pem) = ca_pem {
            config.root_cert = Some(pem_certs(pem).map_err(bad)?);
        }
        config.tls_server_name = tls_server_name
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        config.accept_invalid_certs = insecure;
        apply_timeouts(&mut config);
        config.auth_info = auth_info(credential);
        let client = super::bounded::client(config).map_err(|e| bad(chain(&e)))?;
        Ok(TokenClient::from_client(client, server, who))
    }

    pub(super) fn from_client(client: Client, server: &str, who: &str) -> TokenClient {
        TokenClient {
            client,
            server: normalize_server(server),
            who: who.into(),
        }
    }

    fn map<'a>(&'a self, a: Action<'a>) -> impl FnOnce(kube::Error) -> KubeApiError + 'a {
        move |e| {
            let caller = Caller {
                server: &self.server,
                who: &self.who,
                context: None,
            };
            map_error(e, &caller, a)
        }
    }

    /// SelfSubjectReview (like `kubectl auth whoami`): `authentication.k8s.io/v1`
    /// (Kubernetes 1.28+), else v1beta1 (1.27) where v1 is not served.
    pub async fn whoami(&self) -> Result<UserInfo, KubeApiError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let action = || Action {
            hint_404: "SelfSubjectReview needs Kubernetes 1.27+".into(),
            ..Action::global("create", "selfsubjectreviews")
        };
        match api
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
        {
            Ok(out) => Ok(out.status.and_then(|s| s.user_info).unwrap_or_default()),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.whoami_v1beta1().await.map_err(self.map(action()))
            }
            Err(e) => Err(self.map(action())(e)),
        }
    }

    async fn whoami_v1beta1(&self) -> Result<UserInfo, kube::Error> {
        let body = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1beta1",
            "kind": "SelfSubjectReview",
        });
        let req = http::Request::post("/apis/authentication.k8s.io/v1beta1/selfsubjectreviews")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&body).map_err(kube::Error::SerdeError)?)
            .map_err(kube::Error::HttpError)?;
        let out: serde_json::Value = self.client.request(req).await?;
        let info = out
            .pointer("/status/userInfo")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        serde_json::from_value(info).map_err(kube::Error::SerdeError)
    }

    /// GET /version with the token, as the classic `curl --cacert ca.crt -H "Authorization: Bearer ..." $SERVER/version`.
    pub async fn version(
        &self,
    ) -> Result<k8s_openapi::apimachinery::pkg::version::Info, KubeApiError> {
        self.client
            .apiserver_version()
            .await
            .map_err(self.map(Action::global("get", "/version")))
    }
}

/// The one gate every credential passes before a client may carry it: a
/// credential minted on `bound` goes to `target` only when the binding rule
/// ([`ClusterIdentity::mismatch`], "minted on self, sent to target") allows.
pub(super) fn check_binding(
    bound: &ClusterIdentity,
    target: &ClusterIdentity,
    who: &str,
) -> Result<(), KubeApiError> {
    match bound.mismatch(target) {
        None => Ok(()),
        Some(why) => Err(KubeApiError::Unbound {
            who: who.into(),
            server: target.server.clone(),
            why,
        }),
    }
}

/// kube's user entry for `credential`: a bearer token, or a client
/// certificate and key (base64 of their PEM, as kubeconfig `*-data` fields).
pub(super) fn auth_info(credential: &Credential) -> AuthInfo {
    match credential {
        Credential::Token(t) => AuthInfo {
            token: Some(t.expose().to_string().into()),
            ..Default::default()
        },
        Credential::Certificate(c) => {
            let b64 = base64::engine::general_purpose::STANDARD;
            AuthInfo {
                client_certificate_data: Some(b64.encode(&c.certificate)),
                client_key_data: Some(b64.encode(c.key.expose()).into()),
                ..Default::default()
            }
        }
    }
}
