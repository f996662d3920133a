//! The verdict on a cached entry: serve it (until when, and is it due for a
//! refresh ahead of time?), revalidate it (a legacy token), or mint anew.
//! Judged in the server's time with the clock offset stored at the mint.

use time::OffsetDateTime;

use crate::cache::Entry;
use crate::clock::shift;
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::jwt::{self, Fresh, Stale, Want};
use crate::options::{GetOptions, Principal, TokenSpec};
use crate::x509;

/// What to do with a cached entry.
pub(super) enum Verdict {
    /// Emit it until this local instant; `refresh_due`: past the middle of
    /// its serve window (see refresh-ahead).
    Serve {
        until: OffsetDateTime,
        refresh_due: bool,
    },
    /// A legacy token due for a check with the server.
    Revalidate,
    /// Mint a new one.
    Mint(String),
}

pub(super) fn judge(
    entry: &Entry,
    opts: &GetOptions,
    target: &ClusterIdentity,
    now: OffsetDateTime,
) -> Result<Verdict, Error> {
    // Cluster binding: the key holds the cluster's identity, so this only
    // trips on a damaged or foreign entry; it is the last line before a
    // token leaves.
    if let Some(why) = entry.cluster.mismatch(target) {
        return Err(Error::Refused(format!(
            "cluster binding: refusing to send the cached token: {why}"
        )));
    }
    if let Some(why) = outlives(entry, opts) {
        return Ok(Verdict::Mint(why));
    }
    let offset = entry.clock_offset;
    let server_now = shift(now, offset);
    let what = format!("cached {}", entry.credential.kind());
    match judge_credential(&entry.credential, &opts.spec, server_now, false) {
        Ok(Judged {
            fresh: Fresh::Until(t),
            issued,
            ..
        }) => {
            // Half of the window from issue to the end of serving has passed.
            let refresh_due = issued.is_some_and(|iat| {
                let end = t.unix_timestamp();
                server_now.unix_timestamp() > iat.saturating_add(end.saturating_sub(iat) / 2)
            });
            Ok(Verdict::Serve {
                until: shift(t, -offset),
                refresh_due,
            })
        }
        Ok(Judged {
            fresh: Fresh::NoExpiry,
            ..
        }) => {
            let due = entry
                .checked_at
                .saturating_add(opts.revalidate.as_secs() as i64);
            if now.unix_timestamp() < due {
                Ok(Verdict::Serve {
                    until: OffsetDateTime::from_unix_timestamp(due).unwrap_or(now),
                    // Legacy tokens are not refreshed ahead: they do not expire.
                    refresh_due: false,
                })
            } else {
                Ok(Verdict::Revalidate)
            }
        }
        Err(why) => Ok(Verdict::Mint(why.describe(&what))),
    }
}

/// Why a cached credential lives longer than the entry now asks
/// (`--duration` was lowered), if it does: then it is not served. Judged by
/// the duration asked at the mint (a server may shorten or lengthen what it
/// grants; that must not cause a mint per call), else, for entries written
/// before that was kept, by the credential's own lifetime with a minute of
/// slack.
fn outlives(entry: &Entry, opts: &GetOptions) -> Option<String> {
    if !opts.asks_duration() {
        return None;
    }
    let wanted = opts.duration.as_secs();
    let had = match entry.asked_secs {
        Some(asked) => asked,
        None => {
            let (_, lifetime) = entry.validity()?;
            u64::try_from(lifetime).ok()?.checked_sub(60)?
        }
    };
    (had > wanted).then(|| {
        format!(
            "the cached {} was minted for {}s, longer than --duration now asks ({wanted}s)",
            entry.credential.kind(),
            had
        )
    })
}

/// A credential this close to its expiry is not handed out even while a
/// background refresh is late.
const STILL_VALID_FLOOR_SECS: i64 = 30;

/// Until when (local time) a cached credential past its serve window still
/// works: it is the one asked for, bound to `target`, and expires more than
/// [`STILL_VALID_FLOOR_SECS`] from now (that much is kept back).
pub(super) fn still_valid_until(
    entry: &Entry,
    opts: &GetOptions,
    target: &ClusterIdentity,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if entry.cluster.mismatch(target).is_some() {
        return None;
    }
    let server_now = shift(now, entry.clock_offset);
    match judge_credential(&entry.credential, &opts.spec, server_now, false) {
        Err(Stale::Expiring { secs_left, .. }) if secs_left > STILL_VALID_FLOOR_SECS => {
            Some(shift(
                server_now,
                secs_left - STILL_VALID_FLOOR_SECS - entry.clock_offset,
            ))
        }
        _ => None,
    }
}

/// What a credential's own times and names say.
pub(super) struct Judged {
    pub fresh: Fresh,
    /// `iat` of a token, NotBefore of a certificate (server time).
    pub issued: Option<i64>,
    /// `exp` of a token, NotAfter of a certificate (server time).
    pub expires: Option<i64>,
}

/// Is `credential` the one `spec` asks for, and fresh at `server_now`?
/// `new`: just issued, so valid by the server's clock whatever ours says
/// (`iat`/`nbf`/NotBefore are not held against it).
pub(super) fn judge_credential(
    credential: &Credential,
    spec: &TokenSpec,
    server_now: OffsetDateTime,
    new: bool,
) -> Result<Judged, Stale> {
    match (credential, &spec.principal) {
        (Credential::Token(token), Principal::ServiceAccount(_)) => {
            let (_, claims) = jwt::decode(token).map_err(|_| Stale::Undecodable)?;
            let want = Want::of(spec);
            let fresh = if new {
                jwt::check_new(&claims, &want, server_now)
            } else {
                jwt::check_claims(&claims, &want, server_now)
            }?;
            Ok(Judged {
                fresh,
                issued: claims.iat,
                expires: claims.exp,
            })
        }
        (Credential::Certificate(cert), Principal::User { name, groups }) => {
            let info = x509::parse(&cert.certificate).map_err(|_| Stale::Undecodable)?;
            let want = x509::WantUser { name, groups };
            Ok(Judged {
                fresh: x509::check(&info, &want, server_now, new)?,
                issued: Some(info.not_before),
                expires: Some(info.not_after),
            })
        }
        // A damaged entry or a foreign one: never served.
        (other, _) => Err(Stale::WrongSubject(format!("a {}", other.kind()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry_json() -> impl Strategy<Value = String> {
        let text = prop_oneof![".{0,40}", "[0-9a-f]{0,70}", Just(String::new())];
        let token = prop_oneof![
            ".{0,60}",
            "[A-Za-z0-9_-]{1,30}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,10}",
            Just(
                crate::testing::bound("team", "viewer", &[], 1_000_000, 1_003_600)
                    .expose()
                    .to_string()
            ),
        ];
        let credential = prop_oneof![
            token.prop_map(|t| serde_json::json!({"token": t})),
            (".{0,80}", ".{0,40}")
                .prop_map(|(c, k)| serde_json::json!({"certificate": c, "key": k})),
        ];
        (
            credential,
            text.clone(),
            proptest::option::of(text.clone()),
            proptest::option::of(text.clone()),
            any::<bool>(),
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
            proptest::option::of(text.clone()),
            proptest::collection::vec(text, 0..3),
        )
            .prop_map(
                |(cred, server, ca, tls, insecure, offset, minted, checked, user, groups)| {
                    let mut v = serde_json::json!({
                        "cluster": {"server": server, "ca": ca, "tls_server_name": tls, "insecure": insecure},
                        "clock_offset": offset,
                        "namespace": "team",
                        "service_account": "viewer",
                        "user": user,
                        "groups": groups,
                        "minted_at": minted,
                        "checked_at": checked,
                    });
                    for (k, x) in cred.as_object().unwrap() {
                        v[k] = x.clone();
                    }
                    v.to_string()
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]
        /// Issue 17, finding 15: no stored byte may panic. Every entry that
        /// decodes goes through everything that reads a cached entry.
        #[test]
        fn no_stored_entry_panics(text in entry_json(), now in any::<i32>()) {
            let Ok(entry) = crate::cache::decode_entry(text.as_bytes()) else {
                return Ok(());
            };
            let now = OffsetDateTime::from_unix_timestamp(i64::from(now)).unwrap();
            let mut opts = crate::testing::opts();
            let targets = [
                entry.cluster.clone(),
                ClusterIdentity::new("https://127.0.0.1:6443", None, None, false).unwrap(),
                ClusterIdentity { ca: Some("0123456789abcdef".into()), ..entry.cluster.clone() },
                ClusterIdentity { insecure: !entry.cluster.insecure, ..entry.cluster.clone() },
            ];
            for principal in [
                Principal::ServiceAccount("viewer".into()),
                Principal::User { name: "alice".into(), groups: vec!["dev".into()] },
            ] {
                opts.spec.principal = principal;
                for target in &targets {
                    let _ = entry.cluster.mismatch(target).map(|m| m.len());
                    let _ = target.mismatch(&entry.cluster).map(|m| m.len());
                    let _ = judge(&entry, &opts, target, now);
                    let _ = still_valid_until(&entry, &opts, target, now);
                }
            }
            let _ = (entry.label(), entry.validity(), entry.credential.kind());
        }
    }
}
