//! `cache list --check`: asks the server about every cached token (with the
//! token itself, a SelfSubjectReview) and says which are dead and why. For
//! clients that never re-run the plugin after a 401 (the Python client,
//! kube-rs), this is how a dead entry is found before its expiry.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::cache::{BROKER_PREFIX, Cache, CacheKey, Record};
use crate::options::BrokerRef;
use crate::protocol::{ExecInfo, V1};

use super::admin_session::AdminSession;
use super::broker_cluster;
use super::kube_minter::KubeMinter;
use super::ports::{Minter, Review};

/// What the server said about one cached token.
pub enum Check {
    /// Accepted, as this user.
    Ok(String),
    /// Rejected, and why.
    Dead(String),
    /// Not asked, and why (unreachable, store locked, another cluster now).
    Unknown(String),
}

impl Check {
    pub fn is_dead(&self) -> bool {
        matches!(self, Check::Dead(_))
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Check::Unknown(_))
    }

    /// The CHECK column: a short reason (the whole one is in `-o json`, and
    /// on stderr with -v).
    pub fn text(&self, key: &str) -> String {
        match self {
            Check::Ok(user) => format!("ok ({user})"),
            Check::Dead(why) => format!(
                "DEAD: {}; kube-sa-token cache clear {key} (or kubectl again: it replaces it after the 401)",
                summary(why)
            ),
            Check::Unknown(why) => format!("not checked: {}", summary(why)),
        }
    }

    /// The whole reason, for -v.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Check::Ok(_) => None,
            Check::Dead(why) | Check::Unknown(why) => Some(why),
        }
    }

    pub fn json(&self) -> Value {
        match self {
            Check::Ok(user) => json!({"state": "ok", "username": user}),
            Check::Dead(why) => json!({"state": "dead", "reason": why}),
            Check::Unknown(why) => json!({"state": "unknown", "reason": why}),
        }
    }
}

/// What failed, without what to do about it (the part after "; ") and,
/// when still long, without the details after its last ": " that fits.
fn summary(why: &str) -> &str {
    const LONG: usize = 100;
    let what = why.split("; ").next().unwrap_or(why);
    let Some((end, _)) = what.char_indices().nth(LONG) else {
        return what;
    };
    match what[..end].rfind(": ") {
        Some(at) => &what[..at],
        None => &what[..end],
    }
}

/// Checks every entry, one admin login per admin context.
pub fn check_all(entries: &[(CacheKey, Record)]) -> Vec<Check> {
    let mut sessions: HashMap<(Option<String>, String), AdminSession<'_>> = HashMap::new();
    entries
        .iter()
        .map(|(key, r)| {
            let session = sessions
                .entry((r.kubeconfig.clone(), r.admin_context.clone()))
                .or_insert_with(|| {
                    AdminSession::new(r.kubeconfig.as_deref().map(Path::new), &r.admin_context)
                });
            check_one(session, key, r)
        })
        .collect()
}

fn check_one(session: &AdminSession<'_>, key: &CacheKey, r: &Record) -> Check {
    let entry = match Cache::of_kind(r.store).and_then(|c| c.load(key)) {
        Ok(Some(e)) => e,
        Ok(None) => {
            return Check::Unknown(format!("the {} store has no credential for it", r.store));
        }
        Err(e) => return Check::Unknown(e.to_string()),
    };
    // The same review `get` makes: never sent to a cluster it was not
    // minted on (then "not known", with the binding's reason).
    // A broker's entry: its cluster, asked with the credential alone.
    let cluster = match r.admin_context.strip_prefix(BROKER_PREFIX) {
        None => None,
        Some(socket) => {
            let broker = BrokerRef {
                socket: socket.into(),
                owner: r.broker_owner.clone(),
            };
            match broker_cluster::of(&broker) {
                Ok(c) => Some(c.info),
                Err(e) => return Check::Unknown(e.to_string()),
            }
        }
    };
    let info = ExecInfo {
        api_version: V1,
        interactive: false,
        cluster,
    };
    let minter = KubeMinter { session };
    let expected = match &r.user {
        Some(user) => user.clone(),
        None => format!(
            "system:serviceaccount:{}:{}",
            r.namespace, r.service_account
        ),
    };
    match minter.review(&entry, &info, "") {
        Ok(Review::Accepted(user)) if user.as_deref() == Some(expected.as_str()) => {
            Check::Ok(expected)
        }
        Ok(Review::Accepted(user)) => Check::Dead(format!(
            "the server says it belongs to {:?}",
            user.unwrap_or_default()
        )),
        Ok(Review::Rejected) => Check::Dead(minter.why_rejected(&entry, "")),
        Ok(Review::Unknown(e)) => Check::Unknown(e.to_string()),
        Err(e) => Check::Unknown(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 33, item 20: the table's reason fits a row; the whole one is
    /// kept for -v and JSON.
    #[test]
    fn the_column_says_what_failed_in_short() {
        let why = "cannot reach the API server https://127.0.0.1:1: connection refused; check that it is running and the kubeconfig's server URL is right";
        let c = Check::Unknown(why.into());
        assert_eq!(
            c.text("abcd1234"),
            "not checked: cannot reach the API server https://127.0.0.1:1: connection refused"
        );
        assert_eq!(c.reason(), Some(why));
        let long = "cluster binding: not sending the token of team/viewer to https://10.0.0.1:6443: the kubeconfig skips TLS verification for it; nothing was sent";
        assert_eq!(
            Check::Unknown(long.into()).text("k"),
            "not checked: cluster binding: not sending the token of team/viewer to https://10.0.0.1:6443"
        );
        assert!(Check::Unknown(String::new()).is_unknown());
    }
}
