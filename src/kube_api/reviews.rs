//! Reviews made with the admin credentials: may the admin do something
//! (SelfSubjectAccessReview), and does the server accept a token (TokenReview).

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, UserInfo};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use super::admin::Admin;
use super::error::Action;
use super::error::KubeApiError;
use crate::secret::Token;

/// What TokenReview said about a token.
pub struct TokenReviewResult {
    pub authenticated: bool,
    pub user: Option<UserInfo>,
    /// The server's reason when not authenticated.
    pub error: Option<String>,
}

impl Admin {
    /// SelfSubjectAccessReview: may the admin context do this?
    pub async fn can(
        &self,
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: &str,
    ) -> Result<bool, KubeApiError> {
        self.may(ResourceAttributes {
            namespace: Some(namespace.into()),
            verb: Some(verb.into()),
            resource: Some(resource.into()),
            subresource: subresource.map(Into::into),
            ..Default::default()
        })
        .await
    }

    /// SelfSubjectAccessReview of a cluster-scoped `certificates.k8s.io`
    /// action: what an X.509 user needs (create CSRs, update their approval,
    /// `approve` on the signer `kubernetes.io/kube-apiserver-client`).
    pub async fn can_certificates(
        &self,
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
        name: Option<&str>,
    ) -> Result<bool, KubeApiError> {
        self.may(ResourceAttributes {
            group: Some("certificates.k8s.io".into()),
            verb: Some(verb.into()),
            resource: Some(resource.into()),
            subresource: subresource.map(Into::into),
            name: name.map(Into::into),
            ..Default::default()
        })
        .await
    }

    async fn may(&self, attributes: ResourceAttributes) -> Result<bool, KubeApiError> {
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let review = SelfSubjectAccessReview {
            metadata: ObjectMeta::default(),
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(attributes),
                ..Default::default()
            },
            status: None,
        };
        let out = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(self.map(Action {
                hint_404: "the server does not serve authorization.k8s.io/v1".into(),
                ..Action::global("create", "selfsubjectaccessreviews")
            }))?;
        Ok(out.status.map(|s| s.allowed).unwrap_or(false))
    }

    /// TokenReview: does the server accept this token?
    pub async fn token_review(
        &self,
        token: &Token,
        audiences: &[String],
    ) -> Result<TokenReviewResult, KubeApiError> {
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
            .map_err(self.map(Action::global("create", "tokenreviews")))?;
        let st = out.status.unwrap_or_default();
        Ok(TokenReviewResult {
            authenticated: st.authenticated.unwrap_or(false),
            user: st.user,
            error: st.error,
        })
    }
}
