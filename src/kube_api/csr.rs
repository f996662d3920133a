//! X.509 users through the CertificateSigningRequest API
//! (`certificates.k8s.io/v1`): create a CSR for the signer
//! `kubernetes.io/kube-apiserver-client`, approve it (or wait for someone
//! else to), wait for the certificate, delete the CSR object.

use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, PostParams};

use super::admin::Admin;
use super::error::Action;
use super::error::KubeApiError;
use super::timed;

/// The signer of client certificates the API server trusts.
pub const SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// Annotation naming the user a CSR of ours is for.
const USER_ANNOTATION: &str = "kube-sa-token/user";

/// A signed certificate and the server's clock at its request.
pub struct Signed {
    /// PEM, as `status.certificate` holds it.
    pub certificate: String,
    /// The server's clock minus ours (seconds).
    pub clock_offset: Option<i64>,
}

/// How a CSR ended when it did not end with a certificate.
fn denied(csr: &CertificateSigningRequest) -> Option<(String, String)> {
    let conditions = csr.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| (c.type_ == "Denied" || c.type_ == "Failed") && c.status == "True")
        .map(|c| {
            // The reason is a CamelCase word set by whoever denied it; any
            // other text of the answer is not repeated.
            let reason = c
                .reason
                .as_deref()
                .filter(|r| {
                    !r.is_empty() && r.len() <= 64 && r.bytes().all(|b| b.is_ascii_alphanumeric())
                })
                .unwrap_or("no reason given")
                .to_string();
            (c.type_.to_lowercase(), reason)
        })
}

fn approved(csr: &CertificateSigningRequest) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Approved" && c.status == "True")
        })
}

fn certificate(csr: &CertificateSigningRequest) -> Option<String> {
    let bytes = &csr.status.as_ref()?.certificate.as_ref()?.0;
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned())
}

impl Admin {
    /// Sends the CSR `csr_pem` for `user` (its subject is CN=user, O=groups),
    /// approves it unless `approve` is false (then someone else must), waits
    /// up to `wait` for the certificate and deletes the CSR object, whatever
    /// the outcome.
    pub async fn sign_user(
        &self,
        user: &str,
        csr_pem: &str,
        duration: Duration,
        approve: bool,
        wait: Duration,
    ) -> Result<Signed, KubeApiError> {
        let csr = CertificateSigningRequest {
            metadata: ObjectMeta {
                generate_name: Some("kube-sa-token-".into()),
                annotations: Some([(USER_ANNOTATION.to_string(), user.to_string())].into()),
                ..Default::default()
            },
            spec: CertificateSigningRequestSpec {
                request: ByteString(csr_pem.as_bytes().to_vec()),
                signer_name: SIGNER.into(),
                usages: Some(vec!["digital signature".into(), "client auth".into()]),
                expiration_seconds: Some(duration.as_secs().min(i32::MAX as u64) as i32),
                ..Default::default()
            },
            status: None,
        };
        let create = || Action {
            hint_404: "the certificates.k8s.io/v1 API needs Kubernetes 1.19+".into(),
            ..Action::global("create", "certificatesigningrequests")
        };
        let body = serde_json::to_vec(&csr).map_err(|e| self.bad_answer(e.to_string()))?;
        let http_req =
            kube::core::Request::new("/apis/certificates.k8s.io/v1/certificatesigningrequests")
                .create(&PostParams::default(), body)
                .map_err(|e| self.map(create())(kube::Error::BuildRequest(e)))?;
        let (created, clock_offset): (CertificateSigningRequest, _) =
            timed::request(&self.client, http_req)
                .await
                .map_err(self.map(create()))?;
        let name =
            created.metadata.name.clone().ok_or_else(|| {
                self.bad_answer("a created CertificateSigningRequest without a name")
            })?;
        tracing::debug!(csr = %name, "created a CertificateSigningRequest");
        let api: Api<CertificateSigningRequest> = Api::all(self.client.clone());
        // Ctrl-C, SIGTERM or a hang-up while waiting (an approval by someone
        // else can take minutes): the CSR is deleted below before the
        // process ends, not left pending on the server. (SIGKILL cannot be.)
        let outcome = tokio::select! {
            r = self.approve_and_wait(&api, created, &name, approve, wait) => r,
            signal = interrupted() => Err(KubeApiError::CsrInterrupted {
                name: name.clone(),
                signal,
            }),
        };
        // The key never leaves this process: an abandoned CSR is useless to
        // anyone, a signed one has served its purpose.
        if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
            tracing::warn!(
                "could not delete CertificateSigningRequest {name} ({}); delete it with `kubectl delete csr {name}`",
                self.map(Action::global("delete", "certificatesigningrequests"))(e)
            );
        }
        Ok(Signed {
            certificate: outcome?,
            clock_offset,
        })
    }

    async fn approve_and_wait(
        &self,
        api: &Api<CertificateSigningRequest>,
        mut csr: CertificateSigningRequest,
        name: &str,
        approve: bool,
        wait: Duration,
    ) -> Result<String, KubeApiError> {
        let start = Instant::now();
        if approve {
            self.approve(api, &mut csr, name).await?;
        } else {
            // kubectl shows the plugin's stderr: whoever approves needs the name.
            tracing::warn!(
                "waiting up to {}s for someone to approve CertificateSigningRequest {name}: kubectl certificate approve {name}",
                wait.as_secs()
            );
        }
        let mut pause = Duration::from_millis(10);
        loop {
            if let Some((how, reason)) = denied(&csr) {
                return Err(KubeApiError::CsrDenied {
                    name: name.into(),
                    how,
                    reason,
                });
            }
            if let Some(cert) = certificate(&csr) {
                return Ok(cert);
            }
            if start.elapsed() >= wait {
                return Err(KubeApiError::CsrTimeout {
                    name: name.into(),
                    waited: wait,
                    approved: approved(&csr),
                });
            }
            tokio::time::sleep(pause.min(wait.saturating_sub(start.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_millis(500));
            csr = api
                .get(name)
                .await
                .map_err(self.map(Action::global("get", "certificatesigningrequests")))?;
        }
    }

    /// Adds the `Approved` condition through the `approval` subresource (what
    /// `kubectl certificate approve` does: an update, retried on a conflict).
    async fn approve(
        &self,
        api: &Api<CertificateSigningRequest>,
        csr: &mut CertificateSigningRequest,
        name: &str,
    ) -> Result<(), KubeApiError> {
        let action = || Action {
            hint_404: String::new(),
            ..Action::global("update", "certificatesigningrequests/approval")
        };
        for _ in 0..5 {
            let status = csr.status.get_or_insert_with(Default::default);
            status.conditions.get_or_insert_with(Vec::new).push(
                CertificateSigningRequestCondition {
                    type_: "Approved".into(),
                    status: "True".into(),
                    reason: Some("KubeSaTokenApprove".into()),
                    message: Some("approved by kube-sa-token get through the admin context".into()),
                    last_update_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
                    last_transition_time: None,
                },
            );
            match api
                .replace_subresource("approval", name, &PostParams::default(), &*csr)
                .await
            {
                Ok(updated) => {
                    *csr = updated;
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    *csr = api
                        .get(name)
                        .await
                        .map_err(self.map(Action::global("get", "certificatesigningrequests")))?;
                    if approved(csr) || denied(csr).is_some() {
                        return Ok(());
                    }
                }
                // Either right may be missing; the answer does not say which.
                Err(kube::Error::Api(s)) if s.code == 403 => {
                    return Err(KubeApiError::ApproveForbidden {
                        who: self.who.clone(),
                        server: self.server.clone(),
                    });
                }
                Err(e) => return Err(self.map(action())(e)),
            }
        }
        Err(self.bad_answer(format!(
            "CertificateSigningRequest {name} kept changing while it was being approved"
        )))
    }
}

/// The first of SIGINT, SIGTERM and SIGHUP, once handlers for them are in
/// place; never, where they cannot be installed.
#[cfg(unix)]
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    }
}

#[cfg(not(unix))]
async fn interrupted() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::certificates::v1::CertificateSigningRequestStatus;

    fn with(
        conditions: Vec<(&str, &str, Option<&str>)>,
        cert: Option<&str>,
    ) -> CertificateSigningRequest {
        CertificateSigningRequest {
            status: Some(CertificateSigningRequestStatus {
                conditions: Some(
                    conditions
                        .into_iter()
                        .map(|(t, s, r)| CertificateSigningRequestCondition {
                            type_: t.into(),
                            status: s.into(),
                            reason: r.map(str::to_string),
                            message: Some("a message is never repeated".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                certificate: cert.map(|c| ByteString(c.as_bytes().to_vec())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn denied_and_failed_end_it_with_a_safe_reason() {
        assert_eq!(denied(&with(vec![], None)), None);
        assert_eq!(denied(&with(vec![("Approved", "True", None)], None)), None);
        assert_eq!(
            denied(&with(vec![("Denied", "True", Some("NotOurUser"))], None)),
            Some(("denied".into(), "NotOurUser".into()))
        );
        assert_eq!(
            denied(&with(
                vec![("Failed", "True", Some("has spaces: and text"))],
                None
            )),
            Some(("failed".into(), "no reason given".into()))
        );
        assert!(approved(&with(vec![("Approved", "True", None)], None)));
        assert!(!approved(&with(vec![("Approved", "False", None)], None)));
    }

    #[test]
    fn an_empty_certificate_is_not_one_yet() {
        assert_eq!(certificate(&with(vec![], Some(""))), None);
        assert_eq!(certificate(&with(vec![], Some("PEM"))), Some("PEM".into()));
    }
}
