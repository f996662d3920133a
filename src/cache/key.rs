//! The cache key: a hash of everything that makes a token different, so two
//! clusters or two ServiceAccounts never share an entry.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cluster_identity::ClusterIdentity;
use crate::options::{Principal, TokenSpec};

/// Identifies one cache entry (32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CacheKey(String);

/// The fields a cache key is derived from.
#[derive(Debug, Clone)]
pub struct KeyParts<'a> {
    pub server: &'a str,
    /// The CA fingerprint, TLS server name and insecure flag of the cluster.
    pub ca: Option<&'a str>,
    pub tls_server_name: Option<&'a str>,
    pub insecure: bool,
    /// The kubeconfig file list the admin context was read from.
    pub kubeconfig: &'a str,
    pub admin_context: &'a str,
    pub namespace: &'a str,
    /// Whose credential: the ServiceAccount's name, or the user's.
    pub name: &'a str,
    /// A user's groups; `None` for a ServiceAccount.
    pub groups: Option<&'a [String]>,
    pub source: &'a str,
    pub audiences: &'a [String],
    pub bind_secret: bool,
}

impl CacheKey {
    /// The key of the token `spec` describes, for `cluster`, with the admin
    /// context read from the kubeconfig files `kubeconfig`.
    pub fn for_token(spec: &TokenSpec, cluster: &ClusterIdentity, kubeconfig: &str) -> CacheKey {
        let (namespace, who, groups) = match &spec.principal {
            Principal::ServiceAccount(sa) => (spec.namespace.as_str(), sa.as_str(), None),
            // A user's certificate does not depend on the namespace its
            // context defaults to.
            Principal::User { name, groups } => ("", name.as_str(), Some(groups.as_slice())),
        };
        CacheKey::new(&KeyParts {
            server: &cluster.server,
            ca: cluster.ca.as_deref(),
            tls_server_name: cluster.tls_server_name.as_deref(),
            insecure: cluster.insecure,
            kubeconfig,
            admin_context: &spec.admin_context,
            namespace,
            name: who,
            groups,
            source: spec.source.as_str(),
            audiences: &spec.audiences,
            bind_secret: spec.bind_secret,
        })
    }

    pub fn new(p: &KeyParts<'_>) -> CacheKey {
        let mut aud: Vec<&str> = p.audiences.iter().map(String::as_str).collect();
        aud.sort_unstable();
        aud.dedup();
        let mut groups: Vec<&str> = p
            .groups
            .unwrap_or_default()
            .iter()
            .map(String::as_str)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let mut h = Sha256::new();
        // Length-prefixed fields: no two different inputs hash the same text.
        // A user's key starts differently, then lists its groups.
        for field in [
            if p.groups.is_some() { "v2-user" } else { "v2" },
            p.server,
            p.ca.unwrap_or("system roots"),
            p.tls_server_name.unwrap_or(""),
            if p.insecure { "insecure" } else { "verified" },
            p.kubeconfig,
            p.admin_context,
            p.namespace,
            p.name,
            p.source,
            if p.bind_secret {
                "bound-secret"
            } else {
                "unbound"
            },
        ]
        .into_iter()
        .chain(aud)
        .chain(groups)
        {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        let digest = h.finalize();
        CacheKey(crate::hex::hex(&digest[..16]))
    }

    /// Accepts a key typed by the user (from `cache list`).
    pub fn parse(s: &str) -> Option<CacheKey> {
        (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| CacheKey(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(server: &'a str, sa: &'a str, aud: &'a [String]) -> KeyParts<'a> {
        KeyParts {
            server,
            ca: Some("ca-fingerprint"),
            tls_server_name: None,
            insecure: false,
            kubeconfig: "/home/u/.kube/config",
            admin_context: "admin",
            namespace: "team",
            name: sa,
            groups: None,
            source: "token-request",
            audiences: aud,
            bind_secret: false,
        }
    }

    fn user(groups: &[String]) -> KeyParts<'_> {
        KeyParts {
            groups: Some(groups),
            ..parts("https://a", "alice", &[])
        }
    }

    #[test]
    fn a_user_is_not_a_service_account_and_its_groups_count_as_a_set() {
        let none: Vec<String> = vec![];
        let sa = CacheKey::new(&parts("https://a", "alice", &none));
        let alice = CacheKey::new(&user(&none));
        assert_ne!(sa, alice);
        let dev = vec!["dev".to_string()];
        let dev_ops = vec!["dev".to_string(), "ops".to_string()];
        let ops_dev = vec!["ops".to_string(), "dev".to_string(), "dev".to_string()];
        assert_ne!(alice, CacheKey::new(&user(&dev)));
        assert_eq!(
            CacheKey::new(&user(&dev_ops)),
            CacheKey::new(&user(&ops_dev))
        );
        assert_ne!(CacheKey::new(&user(&dev)), CacheKey::new(&user(&dev_ops)));
    }

    #[test]
    fn key_differs_per_server_sa_and_audience() {
        let none: Vec<String> = vec![];
        let a = CacheKey::new(&parts("https://a:6443", "viewer", &none));
        let b = CacheKey::new(&parts("https://b:6443", "viewer", &none));
        let c = CacheKey::new(&parts("https://a:6443", "editor", &none));
        let d = CacheKey::new(&parts("https://a:6443", "viewer", &["vault".to_string()]));
        assert_eq!(a.as_str().len(), 32);
        let all = [&a, &b, &c, &d];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        let mut p = parts("https://a:6443", "viewer", &none);
        p.bind_secret = true;
        assert_ne!(CacheKey::new(&p), a);
        // The same URL with another CA, TLS name, verification or
        // kubeconfig is another cluster, or another way to it.
        for change in [
            (|p: &mut KeyParts| p.ca = Some("other-ca")) as fn(&mut KeyParts),
            |p| p.ca = None,
            |p| p.tls_server_name = Some("api"),
            |p| p.insecure = true,
            |p| p.kubeconfig = "/home/u/other",
        ] {
            let mut p = parts("https://a:6443", "viewer", &none);
            change(&mut p);
            assert_ne!(CacheKey::new(&p), a);
        }
    }

    #[test]
    fn key_ignores_audience_order_and_is_stable() {
        let ab = ["a".to_string(), "b".to_string()];
        let ba = ["b".to_string(), "a".to_string()];
        assert_eq!(
            CacheKey::new(&parts("https://a", "s", &ab)),
            CacheKey::new(&parts("https://a", "s", &ba))
        );
        // Fields are length-prefixed: moving a character between fields changes the key.
        let k1 = CacheKey::new(&KeyParts {
            namespace: "ab",
            name: "c",
            ..parts("s", "x", &[])
        });
        let k2 = CacheKey::new(&KeyParts {
            namespace: "a",
            name: "bc",
            ..parts("s", "x", &[])
        });
        assert_ne!(k1, k2);
    }

    #[test]
    fn parse_accepts_only_keys() {
        let k = CacheKey::new(&parts("https://a", "s", &[]));
        assert_eq!(CacheKey::parse(k.as_str()), Some(k));
        assert_eq!(CacheKey::parse("../../etc/passwd"), None);
        assert_eq!(CacheKey::parse("zz"), None);
    }
}
