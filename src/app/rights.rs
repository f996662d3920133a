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
        // Vault's engine mints with its own ServiceAccount: the admin
        // context (there is none) needs nothing.
        Principal::ServiceAccount(_) if spec.source == SourceKind::Vault => {}
        Principal::ServiceAccount(_) => {
            v.push(GET_SA);
            match spec.source {
                SourceKind::TokenRequest | SourceKind::Vault => v.push(CREATE_TOKEN),
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

    /// `verb what in namespace "ns"`, or `(certificates.k8s.io)` for the
    /// CSR API.
    pub(super) fn phrase(&self, ns: &str) -> String {
        match self.scope {
            Scope::Namespace => format!("{} {} in namespace {ns:?}", self.verb, self.what()),
            Scope::Certificates => format!("{} {} (certificates.k8s.io)", self.verb, self.what()),
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
}

/// `setup`'s refusal when the admin context lacks `missing` (exit code 4, as
/// `get` meeting a missing right): every one of them at once.
pub(super) fn refusal(missing: &[Right], admin_context: &str, ns: &str) -> Error {
    let list: Vec<String> = missing.iter().map(|r| r.phrase(ns)).collect();
    let fix = "the same setup command with --print-rbac prints the Role/ClusterRole and bindings that grant exactly these: pipe it to `kubectl apply -f -` as someone who may grant them";
    let users = if missing.iter().any(|r| r.scope == Scope::Certificates) {
        "; for a user, --no-approve leaves the approval to someone else"
    } else {
        ""
    };
    Error::Forbidden(format!(
        "admin context {admin_context:?} may not {} (SelfSubjectAccessReview said no); {fix}, or use another --admin-context{users}",
        list.join(", ")
    ))
}

/// The RBAC objects that grant `missing` to `subject` (the admin context's
/// username, as SelfSubjectReview gives it): a Role and RoleBinding in `ns`
/// for its rights there, a ClusterRole and ClusterRoleBinding for the CSR
/// API. One rule per right: nothing more is granted. `kubectl apply` takes
/// them again unchanged.
pub(super) fn manifest(missing: &[Right], ns: &str, subject: &str) -> String {
    let subjects = match subject
        .strip_prefix("system:serviceaccount:")
        .and_then(|s| s.split_once(':'))
    {
        Some((sa_ns, sa)) => {
            format!("- kind: ServiceAccount\n  name: {sa}\n  namespace: {sa_ns}\n")
        }
        None => format!(
            "- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: {}\n",
            yaml_str(subject)
        ),
    };
    let rules = |scope: Scope| -> String {
        missing
            .iter()
            .filter(|r| r.scope == scope)
            .map(|r| {
                let group = if scope == Scope::Namespace {
                    "\"\""
                } else {
                    "certificates.k8s.io"
                };
                let resource = match r.sub {
                    Some(s) => format!("{}/{s}", r.resource),
                    None => r.resource.to_string(),
                };
                let names = r
                    .name
                    .map(|n| format!("  resourceNames: [{}]\n", yaml_str(n)))
                    .unwrap_or_default();
                format!(
                    "- apiGroups: [{group}]\n  resources: [{resource}]\n  verbs: [{}]\n{names}",
                    r.verb
                )
            })
            .collect()
    };
    let of = |scope: Scope| {
        missing
            .iter()
            .filter(|r| r.scope == scope)
            .collect::<Vec<_>>()
    };
    let role = object_name("minter", subject, &of(Scope::Namespace));
    let cluster_role = object_name("csr", subject, &of(Scope::Certificates));
    let mut docs = Vec::new();
    let namespaced = rules(Scope::Namespace);
    if !namespaced.is_empty() {
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {role}\n  namespace: {ns}\nrules:\n{namespaced}"
        ));
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {role}\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {role}\nsubjects:\n{subjects}"
        ));
    }
    let cluster = rules(Scope::Certificates);
    if !cluster.is_empty() {
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {cluster_role}\nrules:\n{cluster}"
        ));
        docs.push(format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {cluster_role}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {cluster_role}\nsubjects:\n{subjects}"
        ));
    }
    docs.join("---\n")
}

/// The objects' name: what they are, then 8 hex digits of a hash over the
/// subject and the rights they grant. Never the name of a role someone
/// wrote (docs/users.md's `kube-sa-token-user-signer`), and never the name
/// of an earlier grant with other rights, which `kubectl apply` would
/// replace (taking rights away); the same grant again is the same object.
fn object_name(what: &str, subject: &str, rights: &[&Right]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(subject.as_bytes());
    for r in rights {
        h.update(format!("\0{}\0{}\0{:?}\0{:?}", r.verb, r.resource, r.sub, r.name).as_bytes());
    }
    let hex: String = crate::hex::hex(&h.finalize()[..4]);
    format!("kube-sa-token-{what}-{hex}")
}

/// `s` as a YAML double-quoted scalar.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
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

    /// The objects `setup` prints grant exactly the missing rights, to the
    /// admin context's own identity (a ServiceAccount or a user).
    #[test]
    fn the_manifest_grants_exactly_what_is_missing() {
        let missing = [CREATE_TOKEN, GET_SA, APPROVE_CSR, APPROVE_SIGNER];
        for (subject, kind) in [
            ("system:serviceaccount:ops:minter", "ServiceAccount"),
            ("alice@example.com", "User"),
        ] {
            let text = manifest(&missing, "team", subject);
            let docs: Vec<serde_yaml::Value> = text
                .split("---\n")
                .map(|d| serde_yaml::from_str(d).unwrap())
                .collect();
            let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
            assert_eq!(
                kinds,
                ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
            );
            assert_eq!(docs[0]["metadata"]["namespace"], "team");
            let rules = |d: &serde_yaml::Value| d["rules"].as_sequence().unwrap().clone();
            assert_eq!(rules(&docs[0]).len(), 2, "{text}");
            assert_eq!(rules(&docs[0])[0]["resources"][0], "serviceaccounts/token");
            assert_eq!(rules(&docs[0])[0]["verbs"][0], "create");
            assert_eq!(rules(&docs[0])[0]["apiGroups"][0], "");
            assert_eq!(rules(&docs[2]).len(), 2, "{text}");
            assert_eq!(rules(&docs[2])[1]["resourceNames"][0], SIGNER);
            for binding in [&docs[1], &docs[3]] {
                assert_eq!(binding["subjects"][0]["kind"], kind, "{text}");
            }
        }
        assert_eq!(
            manifest(&[CREATE_TOKEN], "team", "u").split("---").count(),
            2,
            "no cluster objects for namespace rights"
        );
        // One object per grant: another set of rights never replaces an
        // earlier grant (nor the documented ClusterRole); the same set is
        // the same object.
        let name = |m: &[Right]| {
            let d: serde_yaml::Value =
                serde_yaml::from_str(manifest(m, "team", "u").split("---\n").next().unwrap())
                    .unwrap();
            d["metadata"]["name"].as_str().unwrap().to_string()
        };
        assert_eq!(name(&[CREATE_TOKEN]), name(&[CREATE_TOKEN]));
        assert_ne!(name(&[CREATE_TOKEN]), name(&[CREATE_SECRETS]));
        assert!(name(&[CREATE_TOKEN]).starts_with("kube-sa-token-minter-"));
        assert!(name(&[APPROVE_CSR]).starts_with("kube-sa-token-csr-"));
    }
}
