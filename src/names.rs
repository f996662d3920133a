//! What a request may name, checked in one place for every path that takes
//! it from outside: `get`'s flags (`get_flags/given.rs`) and the broker's
//! requests (`broker/wire.rs`). A namespace and a ServiceAccount name go
//! into API paths, a user's name and groups into a certificate's subject,
//! a lifetime into the TokenRequest or CSR: a value refused here never
//! reaches the API server, a log line or the policy.

use std::time::Duration;

use crate::duration;

/// The API server refuses TokenRequests and CSRs shorter than this.
pub const MIN_LIFETIME: Duration = Duration::from_secs(600);
/// The longest lifetime any option takes (`duration::parse`'s bound).
pub const MAX_LIFETIME: Duration = Duration::from_secs(duration::MAX_SECS);

/// A value refused, and the rule it broke. Displayed without the value
/// (the broker's answers never echo a request); [`Invalid::quoting`] adds
/// it for the command line, where the person typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    what: &'static str,
    rule: &'static str,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}: {}", self.what, self.rule)
    }
}

impl Invalid {
    /// The error with the refused value quoted ([`quoted`]).
    pub fn quoting(&self, v: &str) -> String {
        format!("invalid {} {}: {}", self.what, quoted(v), self.rule)
    }
}

fn check(ok: bool, what: &'static str, rule: &'static str) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(Invalid { what, rule })
    }
}

/// A namespace: a DNS-1123 label (at most 63 lowercase letters, digits and
/// '-', starting and ending with a letter or digit), as the API server
/// requires of namespaces.
pub fn namespace(s: &str) -> Result<(), Invalid> {
    check(
        s.len() <= 63 && is_label(s),
        "namespace",
        "a namespace is at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
    )
}

/// A ServiceAccount's name: a DNS-1123 subdomain (labels joined by '.', at
/// most 253 characters), as the API server requires of object names.
pub fn service_account(s: &str) -> Result<(), Invalid> {
    check(
        s.len() <= 253 && s.split('.').all(is_label),
        "ServiceAccount name",
        "use lowercase letters, digits, '-' and '.' (at most 253), starting and ending with a letter or digit",
    )
}

/// An X.509 user's name or group (`what`), as the API server reads CN and
/// each O: not empty, at most 256 bytes, no control characters.
pub fn x509(what: &'static str, s: &str) -> Result<(), Invalid> {
    check(
        plain(s),
        what,
        "it must not be empty, longer than 256 bytes or hold control characters",
    )
}

/// A token audience: the same rule as an X.509 name.
pub fn audience(s: &str) -> Result<(), Invalid> {
    x509("audience", s)
}

/// A credential's lifetime: at least the API server's minimum, at most
/// ten years.
pub fn lifetime(d: Duration) -> Result<(), String> {
    if d < MIN_LIFETIME {
        return Err(format!(
            "duration {} is too short: the API server's minimum is {}",
            duration::flag(d),
            duration::flag(MIN_LIFETIME)
        ));
    }
    if d > MAX_LIFETIME {
        return Err(format!(
            "duration {}s is too long: at most 3650d",
            d.as_secs()
        ));
    }
    Ok(())
}

/// A Vault role's name (`--vault-role`): letters, digits, '-', '_' and
/// '.', at most 128, not all dots. It goes into a Vault path.
pub fn vault_role(s: &str) -> Result<(), Invalid> {
    check(
        vault_segment(s) && s.len() <= 128,
        "Vault role",
        "use letters, digits, '-', '_' and '.' (at most 128)",
    )
}

/// Where a Vault secrets engine is mounted (`--vault-mount`): segments of
/// [`vault_role`]'s characters joined by '/', at most 256 bytes.
pub fn vault_mount(s: &str) -> Result<(), Invalid> {
    check(
        s.len() <= 256 && s.split('/').all(vault_segment),
        "Vault mount",
        "use segments of letters, digits, '-', '_' and '.' joined by '/' (no leading, trailing or double '/', no \"..\")",
    )
}

/// A Vault login's user name (`--vault-username`): at most 256 printable
/// characters, no space and no '/' (an LDAP name such as `alice@corp` or
/// `CORP\alice` is fine); it goes into the login path as one
/// percent-escaped segment.
pub fn vault_username(s: &str) -> Result<(), Invalid> {
    check(
        !s.is_empty()
            && s.len() <= 256
            && s.chars()
                .all(|c| !c.is_control() && !c.is_whitespace() && c != '/')
            && s != "."
            && s != "..",
        "Vault user name",
        "use at most 256 characters without spaces or '/'",
    )
}

/// A Vault namespace (`--vault-namespace`, `VAULT_NAMESPACE`): segments of
/// [`vault_role`]'s characters joined by '/' (slashes at its ends are
/// dropped), at most 256 bytes. The namespace as it is used.
pub fn vault_namespace(s: &str) -> Result<String, Invalid> {
    let trimmed = s.trim_matches('/');
    check(
        trimmed.len() <= 256 && trimmed.split('/').all(vault_segment),
        "Vault namespace",
        "use segments of letters, digits, '-', '_' and '.' joined by '/'",
    )?;
    Ok(trimmed.to_string())
}

fn vault_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().any(|b| b != b'.')
}

/// A Vault server's address (`--vault-addr`, `VAULT_ADDR`): `https://HOST[:PORT]`,
/// or `http://` to a loopback host only (a dev server: the Vault token
/// would cross a network in the clear otherwise); no user, path or query.
/// The address as it is used: without a trailing slash.
pub fn vault_address(s: &str) -> Result<String, Invalid> {
    const WHAT: &str = "Vault address";
    let uri: http::Uri = s.parse().map_err(|_| Invalid {
        what: WHAT,
        rule: "give a URL such as https://vault.example.com:8200",
    })?;
    let host = uri.host().unwrap_or("");
    let plain_ok = matches!(host, "localhost" | "[::1]" | "::1")
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => plain_ok,
        _ => false,
    };
    check(
        scheme_ok,
        WHAT,
        "use https:// (http:// only to a loopback address: the Vault token would cross the network in the clear)",
    )?;
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    check(
        !host.is_empty()
            && !authority.contains('@')
            && matches!(uri.path(), "" | "/")
            && uri.query().is_none(),
        WHAT,
        "give the scheme, host and port only (no user, path or query)",
    )?;
    Ok(format!(
        "{}://{authority}",
        uri.scheme_str().unwrap_or("https")
    ))
}

fn plain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
}

/// One DNS-1123 label, its length left to the caller.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A refused value, quoted for the error with its control characters
/// escaped, unless it may be a credential pasted in the wrong place (a JWT,
/// a PEM block, or longer than any name): errors never show one.
pub fn quoted(v: &str) -> String {
    if v.starts_with("eyJ") || v.starts_with("-----BEGIN") || v.len() > 63 {
        "(not shown: it looks like a token or key, or is too long)".into()
    } else {
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_dns_labels() {
        for ok in ["a", "team", "ci-a", "a1", &"a".repeat(63)] {
            assert!(namespace(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a.b",
            "a/b",
            "ci-a/serviceaccounts/admin/token?x=",
            "a b",
            "a\nb",
            "..",
            "%2e",
            &"a".repeat(64),
        ] {
            assert!(namespace(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn service_account_names_are_dns_subdomains() {
        for ok in ["viewer", "a.b", "a-1.b-2", &format!("{}.b", "a".repeat(63))] {
            assert!(service_account(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a.",
            "a/b",
            "deployer/token",
            "..",
            "a?x=",
            "a%2fb",
            "A",
            "a\u{0}",
            &"a".repeat(254),
        ] {
            assert!(service_account(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn x509_names_and_audiences() {
        assert!(x509("user name", "alice@example.com/ou").is_ok());
        assert!(x509("group", &"g".repeat(256)).is_ok());
        for bad in ["", "a\nb", "a\u{1b}[31m", &"g".repeat(257)] {
            assert!(x509("group", bad).is_err(), "{bad:?}");
            assert!(audience(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn vault_names_stay_in_their_path_segment() {
        for ok in ["deployer", "team-a_ro.v2", "A1"] {
            assert!(vault_role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "r?x=1",
            "r%2F",
            &"r".repeat(129),
        ] {
            assert!(vault_role(bad).is_err(), "{bad}");
        }
        assert_eq!(vault_namespace("team-a/").unwrap(), "team-a");
        assert_eq!(vault_namespace("/a/b.c").unwrap(), "a/b.c");
        for bad in ["", "/", "a//b", "a/../b", "a b", "a\nb"] {
            assert!(vault_namespace(bad).is_err(), "{bad}");
        }
        for ok in ["alice", "alice@corp.example", r"CORP\alice", "a?b%2F"] {
            assert!(vault_username(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "a\nb", &"u".repeat(257)] {
            assert!(vault_username(bad).is_err(), "{bad}");
        }
        for ok in ["kubernetes", "k8s/prod", "team-a/k8s.v2"] {
            assert!(vault_mount(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/kubernetes",
            "kubernetes/",
            "a//b",
            "a/../sys",
            "..",
            "a/./b",
            "sys?x",
        ] {
            assert!(vault_mount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vault_addresses_are_https_or_loopback_http() {
        assert_eq!(
            vault_address("https://vault.example.com:8200/").unwrap(),
            "https://vault.example.com:8200"
        );
        assert_eq!(
            vault_address("http://127.0.0.1:8200").unwrap(),
            "http://127.0.0.1:8200"
        );
        assert_eq!(
            vault_address("http://[::1]:8200").unwrap(),
            "http://[::1]:8200"
        );
        assert_eq!(
            vault_address("http://localhost:8200").unwrap(),
            "http://localhost:8200"
        );
        for bad in [
            "http://vault.example.com:8200",
            "http://10.0.0.1:8200",
            "ftp://127.0.0.1",
            "vault.example.com",
            "https://user:pw@vault.example.com",
            "https://vault.example.com/v1/sys",
            "https://vault.example.com/?x=1",
            "",
        ] {
            assert!(vault_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifetimes_between_ten_minutes_and_ten_years() {
        assert!(lifetime(Duration::from_secs(600)).is_ok());
        assert!(lifetime(MAX_LIFETIME).is_ok());
        let short = lifetime(Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            short,
            "duration 1s is too short: the API server's minimum is 10m"
        );
        assert!(lifetime(MAX_LIFETIME + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn refused_values_are_quoted_escaped_or_not_at_all() {
        // Shown without the value (the broker's answers), or quoted with
        // its control characters escaped (the command line).
        let e = namespace("zz\nq").unwrap_err();
        assert!(e.to_string().starts_with("invalid namespace: "), "{e}");
        assert!(!e.to_string().contains("zz"), "{e}");
        let e = namespace("a\nb").unwrap_err();
        assert!(
            e.quoting("a\nb")
                .starts_with("invalid namespace \"a\\nb\": ")
        );
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
        assert!(quoted("eyJhbGciOi").starts_with("(not shown"));
        assert!(quoted(&"x".repeat(64)).starts_with("(not shown"));
    }
}
