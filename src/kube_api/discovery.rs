//! What the cluster publishes about itself: the service-account issuer's
//! JWKS, the root CA ConfigMap, and its clock (the `Date` header).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use super::admin::{Admin, segment};
use super::error::Action;
use super::error::KubeApiError;

impl Admin {
    /// The cluster CA from the `kube-root-ca.crt` ConfigMap of a namespace.
    pub async fn root_ca_configmap(
        &self,
        namespace: &str,
    ) -> Result<Option<Vec<u8>>, KubeApiError> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &segment(namespace));
        let cm = api
            .get_opt("kube-root-ca.crt")
            .await
            .map_err(self.map(Action {
                namespace: Some(namespace),
                name: Some("kube-root-ca.crt"),
                ..Action::global("get", "configmaps")
            }))?;
        Ok(cm
            .and_then(|c| c.data)
            .and_then(|d| d.get("ca.crt").map(|s| s.as_bytes().to_vec())))
    }

    /// The server's JWKS (`/openid/v1/jwks`), raw JSON.
    pub async fn jwks(&self) -> Result<String, KubeApiError> {
        let path = "/openid/v1/jwks";
        self.client
            .request_text(self.get_request(path)?)
            .await
            .map_err(self.map(Action {
                hint_404: "the service account issuer discovery endpoints need an https --service-account-issuer".into(),
                ..Action::global("get", path)
            }))
    }

    /// The server's Date header minus our clock, in seconds.
    pub async fn clock_offset(&self) -> Result<i64, KubeApiError> {
        let path = "/version";
        let (_, offset): (serde_json::Value, _) =
            super::timed::request(&self.client, self.get_request(path)?)
                .await
                .map_err(self.map(Action::global("get", path)))?;
        offset.ok_or_else(|| self.bad_answer("no Date header"))
    }

    fn get_request(&self, path: &str) -> Result<http::Request<Vec<u8>>, KubeApiError> {
        http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| self.bad_answer(e.to_string()))
    }
}
