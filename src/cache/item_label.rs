//! What an OS keyring item says about itself to a person (Seahorse,
//! KWallet, Keychain Access, Credential Manager) and to `cache list`: who
//! the credential is for and on which cluster.

use super::store::Entry;

/// Who an entry is for, as `cache list` names it: `NS/SA`, or
/// `user:NAME` with its groups in brackets.
pub fn entry_principal(entry: &Entry) -> String {
    match &entry.user {
        Some(u) if entry.groups.is_empty() => format!("user:{u}"),
        Some(u) => format!("user:{u} [{}]", entry.groups.join(",")),
        None => format!("{}/{}", entry.namespace, entry.service_account),
    }
}

/// The label of an entry's item: `kube-sa-token: team/viewer @ SERVER`.
pub fn item_label(entry: &Entry) -> String {
    label_for(&entry_principal(entry), &entry.cluster.server)
}

/// The label of an item for `principal` on `server` (`cache list` shows
/// the same).
pub fn label_for(principal: &str, server: &str) -> String {
    format!("kube-sa-token: {principal} @ {server}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_identity::ClusterIdentity;
    use crate::credential::Credential;
    use crate::secret::Token;

    fn entry(user: Option<&str>, groups: &[&str]) -> Entry {
        Entry {
            credential: Credential::Token(Token::new("t")),
            cluster: ClusterIdentity::new("https://api.example:6443", None, None, false).unwrap(),
            clock_offset: 0,
            namespace: "team".into(),
            service_account: if user.is_some() {
                String::new()
            } else {
                "viewer".into()
            },
            user: user.map(String::from),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            minted_at: 0,
            checked_at: 0,
            asked_secs: None,
            revalidate_secs: None,
            secret: None,
            cache_dir: None,
            lease: None,
        }
    }

    /// Issue 21: labels a person recognises in Seahorse or KWallet.
    #[test]
    fn items_are_labelled_with_who_and_where() {
        assert_eq!(
            item_label(&entry(None, &[])),
            "kube-sa-token: team/viewer @ https://api.example:6443"
        );
        assert_eq!(
            item_label(&entry(Some("alice"), &["dev", "qa"])),
            "kube-sa-token: user:alice [dev,qa] @ https://api.example:6443"
        );
        assert_eq!(
            item_label(&entry(Some("alice"), &[])),
            "kube-sa-token: user:alice @ https://api.example:6443"
        );
    }
}
