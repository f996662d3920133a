//! The RBAC rights the admin context needs, listed once: `setup` checks
//! those its options need before it writes anything, `doctor` reports on
//! every one of them. docs/users.md and docs/troubleshooting.md show them as
//! Roles.

use crate::error::Error;
use crate::kube_api::{Admin, KubeApiError, SIGNER};
use crate::options::{GetOptions, Principal, SourceKind};

/// Where a right applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// In the ServiceAccount's namespace (core API group).
    Namespace,
    /// Cluster-wide, in certificates.k8s.io (X.509 users).
    Certificates,
}

/// One right: `verb` on `resource[/sub]` (or the object `name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Right {
    pub(super) verb: &'static str,
    pub(super) resource: &'static str,
    pub(super) sub: Option<&'static str>,
    pub(super) name: Option<&'static str>,
    pub(super) scope: Scope,
    /// Which options need it, for `doctor`.
    pub(super) needed_by: &'static str,
    /// Needed by `setup`'s defaults (a TokenRequest for a ServiceAccount):
    /// `doctor` fails without it, and only warns without the others.
    pub(super) default: bool,
}

const fn ns(
    verb: &'static str,
    resource: &'static str,
    sub: Option<&'static str>,
    needed_by: &'static str,
    default: bool,
) -> Right {
    Right {
        verb,
        resource,
        sub,
        name: None,
        scope: Scope::Namespace,
        needed_by,
        default,
    }
}

const fn csr(verb: &'static str, sub: Option<&'static str>, needed_by: &'static str) -> Right {
    Right {
        verb,
        resource: "certificatesigningrequests",
        sub,
        name: None,
        scope: Scope::Certificates,
        needed_by,
        default: false,
    }
}

const GET_SA: Right = ns(
    "get",
    "serviceaccounts",
    None,
    "setup and --source secret",
    true,
);
const CREATE_TOKEN: Right = ns(
    "create",
    "serviceaccounts",
    Some("token"),
    "--source token-request",
    true,
);
const LIST_SECRETS: Right = ns("list", "secrets", None, "--source secret", false);
const GET_SECRETS: Right = ns("get", "secrets", None, "--source secret", false);
const CREATE_SECRETS: Right = ns(
    "create",
    "secrets",
    None,
    "--create-secret and --bind-secret",
    false,
);
const CREATE_CSR: Right = csr("create", None, "--user");
// Waiting for the certificate, and removing the request after it.
const GET_CSR: Right = csr("get", None, "--user");
const DELETE_CSR: Right = csr("delete", None, "--user");
const APPROVE_CSR: Right = csr("update", Some("approval"), "--user without --no-approve");
const APPROVE_SIGNER: Right = Right {
    verb: "approve",
    resource: "signers",
    sub: None,
    name: Some(SIGNER),
    scope: Scope::Certificates,
    needed_by: "--user without --no-approve",
    default: false,
};

/// Every right, for `doctor`.
pub(super) const ALL: [Right; 10] = [
    CREATE_TOKEN,
    GET_SA,
    LIST_SECRETS,
    GET_SECRETS,
    CREATE_SECRETS,
    CREATE_CSR,
    GET_CSR,
    DELETE_CSR,
    APPROVE_CSR,
    APPROVE_SIGNER,
];

/// The rights minting for `opts` needs.
pub(super) fn needed(opts: &GetOptions) -> Vec<Right> {
    let spec = &opts.spec;
    let mut v = Vec::new();
    match &spec.principal {
        Principal::User { .. } => {
            v.extend([CREATE_CSR, GET_CSR, DELETE_CSR]);
            if opts.approve {
                v.extend([APPROVE_CSR, APPROVE_SIGNER]);
            }
        }
        Principal::ServiceAccount(_) => {
            v.push(GET_SA);
            match spec.source {
                SourceKind::TokenRequest => v.push(CREATE_TOKEN),
                SourceKind::Secret => {
                    v.extend([LIST_SECRETS, GET_SECRETS]);
                    if opts.create_secret {
                        v.push(CREATE_SECRETS);
                    }
                }
            }
            if spec.bind_secret {
                v.push(CREATE_SECRETS);
            }
        }
    }
    v
}

impl Right {
    /// `resource/sub`, `resource "name"` or `resource`.
    pub(super) fn what(&self) -> String {
        match (self.sub, self.name) {
            (Some(s), _) => format!("{}/{s}", self.resource),
            (None, Some(n)) => format!("{} {n:?}", self.resource),
            (None, None) => self.resource.to_string(),
        }
    }

    /// Whether the admin context has it (in namespace `ns` where it
    /// applies there): a SelfSubjectAccessReview.
    pub(super) async fn held(&self, admin: &Admin, ns: &str) -> Result<bool, KubeApiError> {
        match self.scope {
            Scope::Namespace => admin.can(self.verb, self.resource, self.sub, ns).await,
            Scope::Certificates => {
                admin
                    .can_certificates(self.verb, self.resource, self.sub, self.name)
                    .await
            }
        }
    }

    /// What to do without it, for `setup`'s refusal (exit code 4, as `get`
    /// meeting the same missing right).
    pub(super) fn refusal(&self, admin_context: &str, ns: &str) -> Error {
        let (verb, what) = (self.verb, self.what());
        Error::Forbidden(match self.scope {
            Scope::Namespace => format!(
                "admin context {admin_context:?} may not {verb} {what} in namespace {ns:?} (SelfSubjectAccessReview said no); grant it, e.g. `kubectl create role sa-token-minter -n {ns} --verb={verb} --resource={what}` plus a rolebinding, or use another --admin-context"
            ),
            Scope::Certificates => format!(
                "admin context {admin_context:?} may not {verb} {what} (certificates.k8s.io; SelfSubjectAccessReview said no); grant it with a ClusterRole and ClusterRoleBinding (see docs/users.md), use --no-approve to have someone else approve, or use another --admin-context"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `setup` checks is in what `doctor` reports on, for every
    /// combination of options.
    #[test]
    fn doctor_reports_on_every_right_setup_checks() {
        let mut o = crate::testing::opts();
        let mut cases = Vec::new();
        for (source, create, bind) in [
            (SourceKind::TokenRequest, false, false),
            (SourceKind::TokenRequest, false, true),
            (SourceKind::Secret, false, false),
            (SourceKind::Secret, true, false),
        ] {
            o.spec.source = source;
            o.create_secret = create;
            o.spec.bind_secret = bind;
            cases.push(o.clone());
        }
        o.spec.principal = Principal::User {
            name: "alice".into(),
            groups: vec![],
        };
        for approve in [true, false] {
            o.approve = approve;
            cases.push(o.clone());
        }
        for c in &cases {
            for r in needed(c) {
                assert!(ALL.contains(&r), "{r:?}");
            }
        }
        let defaults = needed(&crate::testing::opts());
        assert!(
            ALL.iter()
                .filter(|r| r.default)
                .all(|r| defaults.contains(r))
        );
    }
}
