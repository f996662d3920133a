//! Recursion guard. Minting runs the admin context's credentials, which may
//! be another exec plugin, possibly this one. Each mint hands the chain of
//! mints so far, plus itself, to the admin context's exec plugins in an
//! environment variable (see `kube_api::Admin::connect_minting`); a child that finds
//! itself already in the chain fails at once instead of looping or waiting
//! on its own lock.

/// The variable that carries the chain to the admin context's exec plugins.
pub const CHAIN_ENV: &str = "KUBE_SA_TOKEN_CHAIN";
const MAX_DEPTH: usize = 8;
const SEP: &str = " -> ";

/// A mint that would loop.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// This mint is already in the chain (or the chain is too deep).
    #[error(
        "recursion: minting {me} re-entered kube-sa-token (chain: {chain}); the admin context must have its own credentials (a client certificate, a token or another plugin), not this plugin's exec entry for the same ServiceAccount: pick another --admin-context"
    )]
    Recursion { me: String, chain: String },
}

/// The identity of a mint: which admin context mints for which SA.
pub fn identity(admin_context: &str, who: &str) -> String {
    format!("{who} via context {admin_context:?}")
}

/// Checks the inherited chain and returns the chain to hand to children.
pub fn enter(chain: Option<&str>, me: &str) -> Result<String, GuardError> {
    let links: Vec<&str> = chain
        .unwrap_or("")
        .split(SEP)
        .filter(|s| !s.is_empty())
        .collect();
    if links.contains(&me) || links.len() >= MAX_DEPTH {
        let mut shown = links.clone();
        shown.push(me);
        return Err(GuardError::Recursion {
            me: me.to_string(),
            chain: shown.join(SEP),
        });
    }
    let mut next = links;
    next.push(me);
    Ok(next.join(SEP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_entry_starts_a_chain() {
        let me = identity("admin", "team/viewer");
        assert_eq!(enter(None, &me).unwrap(), me);
    }

    #[test]
    fn same_identity_twice_is_refused_and_named() {
        let me = identity("sa-ctx", "team/viewer");
        let chain = enter(None, &me).unwrap();
        let err = enter(Some(&chain), &me).unwrap_err().to_string();
        assert!(
            err.contains("recursion") && err.contains("\"sa-ctx\""),
            "{err}"
        );
    }

    #[test]
    fn longer_loops_are_caught() {
        let a = identity("b-ctx", "n/a");
        let b = identity("a-ctx", "n/b");
        let chain = enter(None, &a).unwrap();
        let chain = enter(Some(&chain), &b).unwrap();
        assert!(enter(Some(&chain), &a).is_err());
    }
}
