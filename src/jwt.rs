//! JWT claims and freshness: may a cached token be handed out again?
//!
//! Claims are decoded without checking the signature (the API server checks
//! it); `inspect --verify` is the place that verifies signatures.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::options::TokenSpec;
use crate::secret::Token;

/// Tolerated clock skew for `nbf`/`iat` in the future.
pub const SKEW_SECS: i64 = 30;
/// Smallest refresh margin: a token is refreshed at least this long before `exp`.
pub const MIN_MARGIN_SECS: i64 = 120;

/// Errors decoding a token's claims.
#[derive(Debug, thiserror::Error)]
pub enum ClaimsError {
    /// Not a JWT at all, or its payload is not JSON.
    #[error("token is not a decodable JWT ({0}); expected a ServiceAccount token")]
    NotJwt(String),
}

/// `aud` may be a string or an array.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Audience::None => vec![],
            Audience::One(a) => vec![a.clone()],
            Audience::Many(v) => v.clone(),
        }
    }
}

/// The claims of a ServiceAccount token, legacy or bound.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "is_no_audience")]
    pub aud: Audience,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Everything else (`kubernetes.io`, the legacy flat claims, ...).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn is_no_audience(a: &Audience) -> bool {
    matches!(a, Audience::None)
}

impl Claims {
    /// A legacy Secret-based token: no `exp`.
    pub fn is_legacy(&self) -> bool {
        self.exp.is_none()
    }

    /// What the token names: its ServiceAccount and what it is bound to, from
    /// the bound (`kubernetes.io`) or the legacy (flat) claims.
    pub fn service_account(&self) -> ServiceAccountClaims {
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
        if let Some(k) = self.other.get("kubernetes.io") {
            let sa = k.get("serviceaccount");
            let bound = [("pod", "Pod"), ("secret", "Secret"), ("node", "Node")]
                .into_iter()
                .find_map(|(claim, kind)| {
                    let o = k.get(claim)?;
                    Some(BoundObject {
                        kind,
                        name: text(o.get("name")),
                        uid: text(o.get("uid")),
                    })
                });
            return ServiceAccountClaims {
                namespace: text(k.get("namespace")),
                name: text(sa.and_then(|s| s.get("name"))),
                uid: text(sa.and_then(|s| s.get("uid"))),
                bound,
                legacy_secret: None,
            };
        }
        let legacy = |f: &str| text(self.other.get(&format!("kubernetes.io/serviceaccount/{f}")));
        ServiceAccountClaims {
            namespace: legacy("namespace"),
            name: legacy("service-account.name"),
            uid: legacy("service-account.uid"),
            bound: None,
            legacy_secret: legacy("secret.name"),
        }
    }

    /// Token lifetime from `iat` (or `nbf`) to `exp`, if both are known.
    pub fn lifetime_secs(&self) -> Option<i64> {
        Some(self.exp?.saturating_sub(self.iat.or(self.nbf)?))
    }
}

/// The object a bound token is bound to (`kubernetes.io.pod|secret|node`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundObject {
    pub kind: &'static str,
    pub name: Option<String>,
    pub uid: Option<String>,
}

/// The ServiceAccount a token names, and what ties the token to the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
    /// A bound token's bound object.
    pub bound: Option<BoundObject>,
    /// A legacy token's token Secret.
    pub legacy_secret: Option<String>,
}

/// The JOSE header, as far as this tool reads it. `alg` stays a string: an
/// algorithm some JWT library does not list (ES512, for clusters with P-521
/// keys) must not make a token's claims unreadable.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Header {
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
}

/// Decodes header and claims without verifying the signature.
pub fn decode(token: &Token) -> Result<(Header, Claims), ClaimsError> {
    use base64::Engine;
    let mut parts = token.expose().split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ClaimsError::NotJwt("not three dot-separated parts".into()));
    };
    let part = |what: &str, text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| ClaimsError::NotJwt(format!("its {what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&part("header", header)?).map_err(|e| {
        ClaimsError::NotJwt(format!("its header: {}", crate::parse_error::json(&e)))
    })?;
    let claims: Claims = serde_json::from_slice(&part("payload", payload)?).map_err(|e| {
        ClaimsError::NotJwt(format!("its claims: {}", crate::parse_error::json(&e)))
    })?;
    Ok((header, claims))
}

/// What the caller asked for; a token is fresh only for exactly this.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    pub namespace: &'a str,
    pub service_account: &'a str,
    pub audiences: &'a [String],
}

impl<'a> Want<'a> {
    /// What a token for `spec` must be.
    pub fn of(spec: &'a TokenSpec) -> Want<'a> {
        Want {
            namespace: &spec.namespace,
            service_account: spec.service_account().unwrap_or_default(),
            audiences: &spec.audiences,
        }
    }
}

/// Why a token may not be handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    WrongSubject(String),
    /// A certificate whose groups (subject O) are not the ones asked for.
    WrongGroups(Vec<String>),
    MissingAudience(String),
    Expiring {
        secs_left: i64,
        margin: i64,
    },
    NotYetValid,
    Undecodable,
}

impl Stale {
    /// The reason as a clause about `what` ("the cached token", ...).
    pub fn describe(&self, what: &str) -> String {
        match self {
            Stale::WrongSubject(sub) => format!("{what} is for {sub:?}"),
            Stale::WrongGroups(g) => format!("{what} is for groups {g:?}"),
            Stale::MissingAudience(a) => format!("{what} lacks audience {a:?}"),
            Stale::Expiring { secs_left, margin } => {
                format!("{what} has {secs_left}s left (margin {margin}s)")
            }
            Stale::NotYetValid => format!("{what} is not yet valid (clock skew?)"),
            Stale::Undecodable => format!("{what} cannot be decoded"),
        }
    }
}

/// The verdict on a fresh token: when the client must come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// A bound token: emit with this expirationTimestamp (`exp` minus the margin).
    Until(OffsetDateTime),
    /// A legacy token without `exp`: the caller applies revalidation.
    NoExpiry,
}

/// The refresh margin: the larger of 2 minutes and 20% of the lifetime.
pub fn margin_secs(claims: &Claims) -> i64 {
    margin_for_lifetime(claims.lifetime_secs().unwrap_or(0))
}

/// The refresh margin of a credential valid for `lifetime` seconds (tokens
/// and client certificates alike).
pub fn margin_for_lifetime(lifetime: i64) -> i64 {
    (lifetime / 5).max(MIN_MARGIN_SECS)
}

/// Decides whether `token` may be handed out at `now` for `want`.
#[cfg(test)]
pub fn check(token: &Token, want: &Want<'_>, now: OffsetDateTime) -> Result<Fresh, Stale> {
    let (_, claims) = decode(token).map_err(|_| Stale::Undecodable)?;
    check_claims(&claims, want, now)
}

/// Like [`check`], for claims already decoded; `now` in the server's time.
pub fn check_claims(claims: &Claims, want: &Want<'_>, now: OffsetDateTime) -> Result<Fresh, Stale> {
    judge(claims, want, now, true)
}

/// Like [`check_claims`], for a token the server has just issued: it is valid
/// by the server's clock, so its `iat`/`nbf` are not held against it.
pub fn check_new(claims: &Claims, want: &Want<'_>, now: OffsetDateTime) -> Result<Fresh, Stale> {
    judge(claims, want, now, false)
}

fn judge(
    claims: &Claims,
    want: &Want<'_>,
    now: OffsetDateTime,
    check_not_before: bool,
) -> Result<Fresh, Stale> {
    let expected = format!(
        "system:serviceaccount:{}:{}",
        want.namespace, want.service_account
    );
    let sub = claims.sub.clone().unwrap_or_default();
    let generated = want.service_account == crate::options::GENERATED_SA
        && sub
            .strip_prefix(&expected[..expected.len() - want.service_account.len()])
            .is_some_and(|name| !name.is_empty() && !name.contains(':'));
    if sub != expected && !generated {
        return Err(Stale::WrongSubject(sub));
    }
    let aud = claims.aud.to_vec();
    if let Some(missing) = want.audiences.iter().find(|a| !aud.contains(a)) {
        return Err(Stale::MissingAudience(missing.clone()));
    }
    let now_s = now.unix_timestamp();
    for t in [claims.nbf, claims.iat].into_iter().flatten() {
        if check_not_before && t > now_s.saturating_add(SKEW_SECS) {
            return Err(Stale::NotYetValid);
        }
    }
    let Some(exp) = claims.exp else {
        return Ok(Fresh::NoExpiry);
    };
    let margin = margin_secs(claims);
    let secs_left = exp.saturating_sub(now_s);
    if secs_left <= margin {
        return Err(Stale::Expiring { secs_left, margin });
    }
    let until = OffsetDateTime::from_unix_timestamp(exp.saturating_sub(margin))
        .map_err(|_| Stale::Undecodable)?;
    Ok(Fresh::Until(until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, FakeClock};
    use crate::testing::{bound, mint};

    fn want<'a>(aud: &'a [String]) -> Want<'a> {
        Want {
            namespace: "team",
            service_account: "viewer",
            audiences: aud,
        }
    }

    #[test]
    fn fresh_bound_token_until_exp_minus_margin() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = bound(
            "team",
            "viewer",
            &["https://kubernetes.default.svc"],
            1_000_000,
            1_003_600,
        );
        let got = check(&t, &want(&[]), clock.now()).unwrap();
        // 20% of 3600 s = 720 s > 120 s.
        assert_eq!(
            got,
            Fresh::Until(OffsetDateTime::from_unix_timestamp(1_003_600 - 720).unwrap())
        );
    }

    #[test]
    fn margin_is_at_least_two_minutes() {
        let c = Claims {
            iat: Some(0),
            exp: Some(300),
            ..Default::default()
        };
        assert_eq!(margin_secs(&c), 120);
        let c = Claims {
            iat: Some(0),
            exp: Some(86_400),
            ..Default::default()
        };
        assert_eq!(margin_secs(&c), 17_280);
    }

    #[test]
    fn expiring_within_margin_is_stale() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = bound("team", "viewer", &[], 1_000_000, 1_000_600);
        assert!(check(&t, &want(&[]), clock.now()).is_ok());
        clock.advance(600 - 120);
        assert_eq!(
            check(&t, &want(&[]), clock.now()),
            Err(Stale::Expiring {
                secs_left: 120,
                margin: 120
            })
        );
    }

    #[test]
    fn expired_is_stale() {
        let clock = FakeClock::at_unix(2_000_000);
        let t = bound("team", "viewer", &[], 1_000_000, 1_003_600);
        assert!(matches!(
            check(&t, &want(&[]), clock.now()),
            Err(Stale::Expiring { .. })
        ));
    }

    #[test]
    fn other_subject_is_stale() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = bound("team", "admin", &[], 1_000_000, 1_003_600);
        assert_eq!(
            check(&t, &want(&[]), clock.now()),
            Err(Stale::WrongSubject(
                "system:serviceaccount:team:admin".into()
            ))
        );
    }

    #[test]
    fn requested_audience_must_be_present() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = bound("team", "viewer", &["a", "b"], 1_000_000, 1_003_600);
        assert!(check(&t, &want(&["b".into()]), clock.now()).is_ok());
        assert_eq!(
            check(&t, &want(&["vault".into()]), clock.now()),
            Err(Stale::MissingAudience("vault".into()))
        );
    }

    #[test]
    fn string_audience_is_accepted() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = mint(
            serde_json::json!({"sub": "system:serviceaccount:team:viewer", "aud": "vault",
            "iat": 1_000_000, "exp": 1_003_600}),
        );
        assert!(check(&t, &want(&["vault".into()]), clock.now()).is_ok());
    }

    #[test]
    fn issued_in_the_future_beyond_skew_is_stale() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = bound("team", "viewer", &[], 1_000_000 + SKEW_SECS + 5, 1_003_600);
        assert_eq!(check(&t, &want(&[]), clock.now()), Err(Stale::NotYetValid));
        let t = bound("team", "viewer", &[], 1_000_000 + SKEW_SECS - 5, 1_003_600);
        assert!(check(&t, &want(&[]), clock.now()).is_ok());
    }

    #[test]
    fn legacy_token_has_no_expiry() {
        let clock = FakeClock::at_unix(1_000_000);
        let t = mint(serde_json::json!({"iss": "kubernetes/serviceaccount",
            "sub": "system:serviceaccount:team:viewer",
            "kubernetes.io/serviceaccount/namespace": "team",
            "kubernetes.io/serviceaccount/secret.name": "viewer-token",
            "kubernetes.io/serviceaccount/service-account.name": "viewer"}));
        assert_eq!(check(&t, &want(&[]), clock.now()), Ok(Fresh::NoExpiry));
        let (_, claims) = decode(&t).unwrap();
        assert!(claims.is_legacy());
        assert_eq!(
            claims.other["kubernetes.io/serviceaccount/secret.name"],
            "viewer-token"
        );
    }

    #[test]
    fn garbage_is_undecodable() {
        let clock = FakeClock::at_unix(1_000_000);
        assert_eq!(
            check(&Token::new("nope"), &want(&[]), clock.now()),
            Err(Stale::Undecodable)
        );
    }
}
