//! `cache clear`, and the expiry column `cache list` and `logout` show.

use std::io::Write;

use time::OffsetDateTime;

use crate::cache::{self, Cache, CacheKey, Record};
use crate::clock::{human, rfc3339};
use crate::error::Error;
use crate::options::{DEFAULT_LOCK_WAIT, ParseGet, Who};

use super::identity::options_of;
use super::request::{admin_cluster, entry_key};

/// When the entry's token expires, for people.
pub(super) fn expiry(r: &Record, now: i64) -> String {
    match r.expires_at {
        None => "never (legacy token)".into(),
        Some(t) if t <= now => format!("expired {} ago", human(now - t)),
        Some(t) => format!(
            "{} (in {})",
            OffsetDateTime::from_unix_timestamp(t)
                .map(rfc3339)
                .unwrap_or_default(),
            human(t - now)
        ),
    }
}

/// `cache clear KEY` or `cache clear --all` (key `None`).
pub fn clear(target: Option<&str>, parse_get: ParseGet, out: &mut dyn Write) -> Result<(), Error> {
    let targets: Vec<(CacheKey, Record)> = match target {
        None => cache::list()?,
        Some(t) => matching(t, parse_get)?,
    };
    let mut bound = Vec::new();
    let mut failed = Vec::new();
    for (k, r) in &targets {
        // One unreachable store (say, a locked keyring) must not stop the
        // rest. Under the entry's lock, as logout: a mint in flight finishes
        // first and nothing started before this clear puts it back.
        let removed = Cache::lock_to_clear(k, DEFAULT_LOCK_WAIT).and_then(|_lock| {
            // Every store the record names: the index may be gone, and
            // with it what `Cache::remove` would look up.
            r.stores()
                .try_for_each(|kind| Cache::of_kind(kind).and_then(|c| c.remove(k)).map(drop))
        });
        if let Err(e) = removed {
            failed.push(format!("{k} ({}): {e}", r.store));
            continue;
        }
        if let Some(s) = &r.bound_secret {
            bound.push(format!("{}/{}", r.namespace, s));
        }
    }
    if target.is_none() {
        // Also entries the index lost track of, in the file store.
        cache::remove_untracked_files()?;
    }
    let removed = targets.len() - failed.len();
    writeln!(
        out,
        "removed {removed} cache entr{}",
        if removed == 1 { "y" } else { "ies" }
    )?;
    if !bound.is_empty() {
        writeln!(
            out,
            "the removed tokens stay valid on the server until they expire; to revoke them now, delete their bound Secrets: {}",
            bound.join(", ")
        )?;
    }
    if let Some(first) = failed.first() {
        return Err(Error::CheckFailed(format!(
            "{} entr{} could not be removed (first: {first}); make that store reachable and run `cache clear` again",
            failed.len(),
            if failed.len() == 1 { "y" } else { "ies" }
        )));
    }
    Ok(())
}

/// The entries `target` names: a key, or its first characters (at least 4,
/// naming one entry); who they are for (`NS/SA`, `user:NAME`, as `cache
/// list` shows them); or a kubeconfig context whose exec entry runs `get`.
fn matching(target: &str, parse_get: ParseGet) -> Result<Vec<(CacheKey, Record)>, Error> {
    let all = cache::list()?;
    let hex = target.len() >= 4 && target.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        let found: Vec<_> = all
            .iter()
            .filter(|(k, _)| k.as_str().starts_with(&target.to_ascii_lowercase()))
            .cloned()
            .collect();
        match found.len() {
            1 => return Ok(found),
            0 => {}
            n => {
                return Err(Error::Usage(format!(
                    "{target:?} starts {n} cache keys; give more of the key (`kube-sa-token cache list` shows them)"
                )));
            }
        }
    }
    let by_who: Vec<_> = all
        .iter()
        .filter(|(_, r)| r.label() == target)
        .cloned()
        .collect();
    if !by_who.is_empty() {
        return Ok(by_who);
    }
    let context = Who::Context {
        name: Some(target.to_string()),
        kubeconfig: None,
        parse_get,
    };
    if let Ok(opts) = options_of(&context)
        && let Ok(cluster) = admin_cluster(&opts.spec)
    {
        let key = entry_key(&opts.spec, &cluster);
        let found: Vec<_> = all.into_iter().filter(|(k, _)| *k == key).collect();
        if !found.is_empty() {
            return Ok(found);
        }
        return Err(Error::Usage(format!(
            "nothing is cached for context {target:?} ({}); `kube-sa-token cache list` shows what is",
            opts.spec.label()
        )));
    }
    Err(Error::Usage(format!(
        "no cache entry matches {target:?}: give a key (or its first characters), NS/SA, user:NAME or a context name; `kube-sa-token cache list` shows them"
    )))
}
