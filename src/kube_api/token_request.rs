//! TokenRequest (`--source token-request`): a bound, expiring token.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;

use super::admin::{Admin, Minted, segment};
use super::error::Action;
use super::error::KubeApiError;
use super::timed;
use crate::credential::Credential;
use crate::secret::Token;

/// The hint for a ServiceAccount that does not exist.
pub(super) fn missing_sa_hint(namespace: &str, name: &str) -> String {
    format!(
        "create it with `kubectl create serviceaccount -n {namespace} {name}` or fix --namespace/--service-account"
    )
}

impl Admin {
    /// TokenRequest for `namespace/name`, bound to the Secret `bound_secret`
    /// (name, uid) if given. The server may shorten the lifetime; the
    /// returned expiry is the one to trust.
    pub async fn token_request(
        &self,
        namespace: &str,
        name: &str,
        duration: Duration,
        audiences: &[String],
        bound_secret: Option<(&str, &str)>,
    ) -> Result<Minted, KubeApiError> {
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
        let action = || Action {
            verb: "create",
            resource: "serviceaccounts/token",
            namespace: Some(namespace),
            name: Some(name),
            hint_404: missing_sa_hint(namespace, name),
        };
        let body = serde_json::to_vec(&req).map_err(|e| self.bad_answer(e.to_string()))?;
        let http_req = kube::core::Request::new(format!(
            "/api/v1/namespaces/{}/serviceaccounts",
            segment(namespace)
        ))
        .create_subresource("token", &segment(name), &PostParams::default(), body)
        .map_err(|e| self.map(action())(kube::Error::BuildRequest(e)))?;
        let (out, clock_offset): (TokenRequest, _) = timed::request(&self.client, http_req)
            .await
            .map_err(self.map(action()))?;
        let status = out
            .status
            .ok_or_else(|| self.bad_answer("TokenRequest without status"))?;
        Ok(Minted {
            credential: Credential::Token(Token::new(status.token)),
            secret: bound_secret.map(|(n, _)| n.to_string()),
            ca_crt: None,
            clock_offset,
            lease: None,
        })
    }
}
