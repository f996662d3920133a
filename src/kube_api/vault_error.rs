//! [`VaultError`]: what went wrong between us and a Vault (or OpenBao)
//! server, in one line with what to do. Vault's own error text is shown
//! only for answers that are not mapped to a cause, cut short and without
//! control characters; nothing here ever holds the Vault token or a minted
//! token.

use std::path::PathBuf;

/// Errors of the Vault source ([`super::vault`]).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No Vault token anywhere it is looked for.
    #[error(
        "no Vault token for {address}: log in (`bao login` or `vault login` write ~/.vault-token), or set VAULT_TOKEN (or BAO_TOKEN)"
    )]
    NoToken { address: String },
    /// `~/.vault-token` (or the file a variable names) could not be read.
    #[error("cannot read the Vault token file {}: {detail}", path.display())]
    TokenFile { path: PathBuf, detail: String },
    /// A machine login's input (the JWT, the AppRole ids) is missing.
    #[error("Vault at {address}: {detail}")]
    LoginInput { address: String, detail: String },
    /// Vault refused a machine login.
    #[error(
        "Vault at {address} refused the {method} login at auth/{mount}/: {message}; check --vault-login-role and that the JWT (or the AppRole's secret id) is current"
    )]
    LoginRefused {
        address: String,
        method: &'static str,
        mount: String,
        message: String,
    },
    /// A person's login needs the person and this call may not ask.
    #[error(
        "Vault at {address}: the {login} needs {needs}, and this call cannot ask for it (no terminal, or a background refresh): run a kubectl command of this context in a terminal (the exec entry says interactiveMode: IfAvailable), or `kube-sa-token setup` again; `{bao_login}` works too (~/.vault-token is used first)"
    )]
    LoginNeeded {
        address: String,
        /// [`crate::options::VaultLogin::label`].
        login: String,
        needs: &'static str,
        bao_login: String,
    },
    /// Vault refused a person's password.
    #[error(
        "Vault at {address} refused the {method} login as {username} at auth/{mount}/: {message}; check --vault-username and the password"
    )]
    PasswordRefused {
        address: String,
        method: &'static str,
        mount: String,
        username: String,
        message: String,
    },
    /// The client could not be set up (the CA bundle, a proxy).
    #[error("Vault at {address}: {detail}")]
    Config { address: String, detail: String },
    #[error(
        "cannot reach Vault at {address}: {detail}; check --vault-addr (VAULT_ADDR) and that the server runs"
    )]
    Unreachable { address: String, detail: String },
    #[error(
        "TLS failure talking to Vault at {address}: {detail}; check --vault-ca (VAULT_CACERT or BAO_CACERT names the CA of Vault's certificate) and --vault-addr"
    )]
    Tls { address: String, detail: String },
    /// HTTP 403: the token's policies, or a token that expired or was revoked.
    #[error(
        "Vault at {address} refused to {action}: permission denied (the Vault token expired or was revoked, or its policies lack it: {needs}); log in again (`bao login`, `vault login`) or ask the Vault operator for the policy (docs/vault.md)"
    )]
    Denied {
        address: String,
        action: String,
        /// The capability on the path the call needs.
        needs: String,
    },
    #[error(
        "Vault at {address} has no role {role:?} on the Kubernetes secrets engine at {mount}/: check --vault-role and --vault-mount (`bao list {mount}/roles`)"
    )]
    UnknownRole {
        address: String,
        mount: String,
        role: String,
    },
    #[error(
        "Vault role {role:?} at {address} does not allow namespace {namespace:?}: pick a namespace in its allowed_kubernetes_namespaces (`bao read {mount}/roles/{role}`) or ask the Vault operator to add it"
    )]
    NamespaceNotAllowed {
        address: String,
        mount: String,
        role: String,
        namespace: String,
    },
    #[error(
        "no Kubernetes secrets engine at {mount}/ on Vault at {address}: check --vault-mount (`bao secrets list`)"
    )]
    NoEngine { address: String, mount: String },
    /// The engine's mount config does not say which cluster it mints for.
    #[error(
        "the Kubernetes secrets engine at {mount}/ on Vault at {address} {detail}: kube-sa-token checks that its tokens are for kubectl's cluster before asking for one; have the Vault operator set kubernetes_host and kubernetes_ca_cert (`bao write {mount}/config ...`, docs/vault.md)"
    )]
    EngineConfig {
        address: String,
        mount: String,
        detail: String,
    },
    /// The API server refused the engine's own ServiceAccount.
    #[error(
        "Vault at {address} could not mint: the API server refused the Kubernetes secrets engine at {mount}/ ({detail}); the Vault operator grants the engine's ServiceAccount what its roles need (docs/vault.md, \"The engine's ServiceAccount\")"
    )]
    EngineRefused {
        address: String,
        mount: String,
        detail: String,
    },
    /// The engine's TokenRequest was refused for its lifetime.
    #[error(
        "Vault at {address} could not mint: the API server refuses tokens shorter than 10 minutes; raise --duration (and the role's token_max_ttl if it caps it)"
    )]
    TooShort { address: String },
    /// Any other error answer.
    #[error("Vault at {address}: {action} failed: HTTP {code}: {message}")]
    Failed {
        address: String,
        action: String,
        code: u16,
        message: String,
    },
    /// An answer that is not what the API says.
    #[error("Vault at {address} gave an unexpected answer to {action}: {detail}")]
    BadAnswer {
        address: String,
        action: String,
        detail: String,
    },
}

impl VaultError {
    /// Whether the failure is this machine's set-up (no token, a CA file)
    /// rather than an answer of the server's or the network.
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            VaultError::NoToken { .. }
                | VaultError::TokenFile { .. }
                | VaultError::Config { .. }
                | VaultError::LoginInput { .. }
                // A person at a terminal tries again at once; Vault's own
                // lockout guards the password.
                | VaultError::LoginNeeded { .. }
                | VaultError::PasswordRefused { .. }
        )
    }
}

/// Vault's `errors` of an error answer, joined, cut to 300 characters,
/// control characters (the engine's multi-line wrapping) replaced.
pub(super) fn message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<String>,
    }
    let joined = match serde_json::from_slice::<Errors>(body) {
        Ok(e) if !e.errors.is_empty() => e.errors.join("; "),
        // Not Vault's error shape (a proxy's page): never shown.
        _ => return "(an answer that is not Vault's)".into(),
    };
    let flat: String = joined
        .split(|c: char| c.is_control())
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*")
        .collect::<Vec<_>>()
        .join(" ");
    let flat = redacted(&flat.replace("1 error occurred: * ", ""));
    if flat.chars().count() > 300 {
        flat.chars().take(300).collect::<String>() + "…"
    } else {
        flat
    }
}

/// `text` with every word that looks like a credential (a JWT, a Vault
/// token) replaced: Vault's messages are not expected to quote one, and
/// this makes sure they never show one.
fn redacted(text: &str) -> String {
    let secret = |w: &str| {
        w.len() >= 20
            && (w.starts_with("eyJ")
                || ["hvs.", "hvb.", "hvr.", "s.", "b."]
                    .iter()
                    .any(|p| w.starts_with(p)))
    };
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(if secret(word) { "[REDACTED]" } else { word });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vaults_errors_are_flattened_and_cut() {
        let body = br#"{"errors":["1 error occurred:\n\t* open /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: no such file or directory\n\n"]}"#;
        assert_eq!(
            message(body),
            "open /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: no such file or directory"
        );
        assert_eq!(message(br#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(
            message(b"<html>secret page</html>"),
            "(an answer that is not Vault's)"
        );
        let quoted = br#"{"errors":["invalid token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln for hvs.CAESIJ0123456789abcdefghij, role \"ci\""]}"#;
        assert_eq!(
            message(quoted),
            r#"invalid token [REDACTED] for [REDACTED], role "ci""#
        );
        let long = format!(r#"{{"errors":["{}"]}}"#, "x".repeat(400));
        assert_eq!(message(long.as_bytes()).chars().count(), 301);
    }
}
