//! The classic token Secret (`--source secret`), the Opaque Secret that
//! `--bind-secret` tokens are bound to, and the ServiceAccount lookup both use.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};

use super::admin::{Admin, Minted, segment};
use super::error::Action;
use super::error::KubeApiError;
use super::token_request::missing_sa_hint;
use crate::credential::Credential;
use crate::secret::Token;

const TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";

impl Admin {
    pub async fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ServiceAccount, KubeApiError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &segment(namespace));
        let e = match api.get(&segment(name)).await {
            Ok(sa) => return Ok(sa),
            Err(e) => self.map(Action {
                verb: "get",
                resource: "serviceaccounts",
                namespace: Some(namespace),
                name: Some(name),
                hint_404: missing_sa_hint(namespace, name),
            })(e),
        };
        // Not found: in a namespace that is missing too, creating the SA
        // there is not the next step (issue 33). Asked only when the admin
        // may read namespaces; otherwise the SA's own hint stands.
        if matches!(e, KubeApiError::NotFound { .. }) {
            let ns_api: Api<Namespace> = Api::all(self.client.clone());
            if let Ok(None) = ns_api.get_opt(&segment(namespace)).await {
                return Err(KubeApiError::NotFound {
                    what: format!("namespace {namespace}"),
                    server: self.server.clone(),
                    hint: format!(
                        "create it (`kubectl create namespace {namespace}`) and the ServiceAccount in it, or fix --namespace/--service-account"
                    ),
                });
            }
        }
        Err(e)
    }

    /// The uid of a ServiceAccount; `None` when it does not exist.
    pub async fn service_account_uid(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, KubeApiError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &segment(namespace));
        let sa = api.get_opt(&segment(name)).await.map_err(self.map(Action {
            verb: "get",
            resource: "serviceaccounts",
            namespace: Some(namespace),
            name: Some(name),
            hint_404: String::new(),
        }))?;
        Ok(sa.and_then(|s| s.metadata.uid))
    }

    /// The uid of a Secret; `None` when it does not exist.
    pub async fn secret_uid(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, KubeApiError> {
        let s = self
            .secrets(namespace)
            .get_metadata_opt(&segment(name))
            .await
            .map_err(self.map(self.secret_action("get", namespace, Some(name))))?;
        Ok(s.and_then(|s| s.metadata.uid))
    }

    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &segment(namespace))
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
    ) -> Result<Minted, KubeApiError> {
        let candidates = self.token_secrets(namespace, name).await?;
        if let Some(m) = candidates.iter().find_map(minted_from_secret) {
            return Ok(m);
        }
        let secret_name = match candidates.first().and_then(|s| s.metadata.name.clone()) {
            Some(pending) => pending,
            None if create => self.create_token_secret(namespace, name).await?,
            None => {
                return Err(KubeApiError::NoTokenSecret {
                    namespace: namespace.into(),
                    name: name.into(),
                });
            }
        };
        self.wait_for_token(namespace, &secret_name, wait).await
    }

    /// Fails as `get --source secret` (without `--create-secret`) would
    /// when the ServiceAccount has no token Secret, filled in or pending:
    /// `setup` checks it before writing.
    pub async fn require_token_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<(), KubeApiError> {
        if self.token_secrets(namespace, name).await?.is_empty() {
            return Err(KubeApiError::NoTokenSecret {
                namespace: namespace.into(),
                name: name.into(),
            });
        }
        Ok(())
    }

    /// The ServiceAccount's token Secrets, oldest first (like
    /// `.secrets[0]`): those `.secrets[]` names and those annotated with it.
    async fn token_secrets(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<Secret>, KubeApiError> {
        let sa = self.service_account(namespace, name).await?;
        let api = self.secrets(namespace);
        let mut candidates: Vec<Secret> = Vec::new();
        for r in sa.secrets.unwrap_or_default() {
            let Some(n) = r.name else { continue };
            match api
                .get_opt(&segment(&n))
                .await
                .map_err(self.map(self.secret_action("get", namespace, Some(&n))))?
            {
                Some(s) if is_token_secret_of(&s, name) => candidates.push(s),
                _ => {}
            }
        }
        let lp = ListParams::default().fields(&format!("type={TOKEN_SECRET_TYPE}"));
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
        candidates.sort_by_key(|s| s.metadata.creation_timestamp.as_ref().map(|t| t.0));
        Ok(candidates)
    }

    /// Creates a token Secret for `sa` with a generated name (a legacy token
    /// depends only on the Secret's name, so a fresh name gives a fresh token).
    async fn create_token_secret(&self, namespace: &str, sa: &str) -> Result<String, KubeApiError> {
        let secret = Secret {
            metadata: ObjectMeta {
                generate_name: Some(format!("{sa}-token-")),
                namespace: Some(namespace.into()),
                annotations: Some(BTreeMap::from([(
                    SA_NAME_ANNOTATION.to_string(),
                    sa.to_string(),
                )])),
                labels: Some(managed_by()),
                ..Default::default()
            },
            type_: Some(TOKEN_SECRET_TYPE.into()),
            ..Default::default()
        };
        let created = self
            .secrets(namespace)
            .create(&PostParams::default(), &secret)
            .await
            .map_err(self.map(self.secret_action("create", namespace, None)))?;
        created
            .metadata
            .name
            .ok_or_else(|| self.bad_answer("created Secret has no name"))
    }

    async fn wait_for_token(
        &self,
        namespace: &str,
        secret: &str,
        wait: Duration,
    ) -> Result<Minted, KubeApiError> {
        let api = self.secrets(namespace);
        let start = std::time::Instant::now();
        loop {
            let s = api
                .get(&segment(secret))
                .await
                .map_err(self.map(self.secret_action("get", namespace, Some(secret))))?;
            if let Some(m) = minted_from_secret(&s) {
                return Ok(m);
            }
            if start.elapsed() >= wait {
                return Err(KubeApiError::SecretTimeout {
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
    ) -> Result<(String, String), KubeApiError> {
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
                .get(&segment(name))
                .await
                .map_err(self.map(self.secret_action("get", namespace, Some(name))))?,
            Err(e) => return Err(self.map(self.secret_action("create", namespace, None))(e)),
        };
        let uid = s
            .metadata
            .uid
            .ok_or_else(|| self.bad_answer("Secret without uid"))?;
        Ok((name.to_string(), uid))
    }

    /// Deletes a Secret; `Ok(false)` when it was already gone.
    pub async fn delete_secret(&self, namespace: &str, name: &str) -> Result<bool, KubeApiError> {
        match self
            .secrets(namespace)
            .delete(&segment(name), &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(self.map(self.secret_action(
                "delete",
                namespace,
                Some(name),
            ))(e)),
        }
    }
}

fn managed_by() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "app.kubernetes.io/managed-by".to_string(),
        "kube-sa-token".to_string(),
    )])
}

fn is_token_secret_of(s: &Secret, sa: &str) -> bool {
    s.type_.as_deref() == Some(TOKEN_SECRET_TYPE)
        && s.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(SA_NAME_ANNOTATION))
            .map(String::as_str)
            == Some(sa)
}

fn minted_from_secret(s: &Secret) -> Option<Minted> {
    let data = s.data.as_ref()?;
    let token = String::from_utf8(data.get("token")?.0.clone())
        .ok()
        .filter(|t| !t.is_empty())?;
    Some(Minted {
        credential: Credential::Token(Token::new(token)),
        secret: s.metadata.name.clone(),
        ca_crt: data.get("ca.crt").map(|b| b.0.clone()),
        // A legacy token has no times of its own to judge.
        clock_offset: None,
        lease: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_secret_match() {
        let mut s = Secret {
            type_: Some(TOKEN_SECRET_TYPE.into()),
            ..Default::default()
        };
        s.metadata.annotations = Some(BTreeMap::from([(
            SA_NAME_ANNOTATION.into(),
            "viewer".into(),
        )]));
        assert!(is_token_secret_of(&s, "viewer"));
        assert!(!is_token_secret_of(&s, "other"));
        assert!(minted_from_secret(&s).is_none(), "not yet filled in");
    }
}
