//! `cache list` and `cache clear`: the index of entries, never a token or key.

use std::io::Write;

use serde_json::json;
use time::OffsetDateTime;

use crate::cache::{self, Cache, CacheKey, Record};
use crate::clock::{Clock, human, rfc3339};
use crate::error::Error;
use crate::options::{DEFAULT_LOCK_WAIT, Format, ParseGet, Who};

use super::cache_check::check_all;
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

/// `cache list [--check]`.
pub fn list(
    format: Format,
    check: bool,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let entries = cache::list()?;
    let now = clock.now().unix_timestamp();
    let checks = check.then(|| check_all(&entries));
    if format == Format::Json {
        let v: Vec<_> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, r))| {
                let mut v = json!({"key": k, "identity": r.label(), "record": r, "kernelCopy": cache::in_kernel(k)});
                if r.user.is_none() {
                    v["serviceAccount"] = json!(r.label());
                }
                if let Some(c) = &checks {
                    v["check"] = c[i].json();
                }
                v
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("json"))?;
    } else if entries.is_empty() {
        writeln!(out, "no cached entries")?;
    } else {
        let mut header = vec![
            "KEY",
            "IDENTITY",
            "SERVER",
            "ADMIN CONTEXT",
            "STORE",
            "EXPIRES",
        ];
        if checks.is_some() {
            header.push("CHECK");
        }
        let rows: Vec<Vec<String>> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, r))| {
                let mut row = vec![
                    k.to_string(),
                    identity_column(r),
                    r.server.clone(),
                    r.admin_context.clone(),
                    store_column(k, r),
                    expiry(r, now),
                ];
                if let Some(c) = &checks {
                    row.push(c[i].text(k));
                }
                row
            })
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.len());
            }
        }
        let header: Vec<String> = header.into_iter().map(String::from).collect();
        for row in std::iter::once(header).chain(rows) {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            writeln!(out, "{}", line.join("  ").trim_end())?;
        }
    }
    let dead = checks.iter().flatten().filter(|c| c.is_dead()).count();
    if dead > 0 {
        return Err(Error::CheckFailed(format!(
            "{dead} cached credential{} rejected by the server (see CHECK); clear {} with `kube-sa-token cache clear KEY`",
            if dead == 1 { " is" } else { "s are" },
            if dead == 1 { "it" } else { "them" }
        )));
    }
    Ok(())
}

/// `NS/SA`, or `user:NAME [GROUP,...]`.
fn identity_column(r: &Record) -> String {
    if r.groups.is_empty() {
        r.label()
    } else {
        format!("{} [{}]", r.label(), r.groups.join(","))
    }
}

/// Where the entry is: its store, the kernel copy in front of it, and other
/// stores holding a copy under the same key.
fn store_column(k: &CacheKey, r: &Record) -> String {
    let mut s = r.store.to_string();
    if r.store != cache::StoreKind::Keyutils && cache::in_kernel(k) {
        s.push_str(" + kernel copy");
    }
    for other in &r.also_in {
        s.push_str(&format!(", also {other}"));
    }
    s
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
