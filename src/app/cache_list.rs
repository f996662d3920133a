//! `cache list [-o wide] [--check]`: the entries people can tell apart, never a token
//! or key. Each row says who, for which kubeconfig contexts, on which
//! server through which admin context, how it was asked for (source,
//! audience, bound Secret), where it is kept and until when. Keys are
//! shortened like git's (unique prefixes, at least 8 characters); `cache
//! clear` takes any unique prefix. JSON has the schema of `inspect` and
//! `whoami`: camelCase names, times as {time, unix, relative}.

use std::io::Write;

use serde_json::{Value, json};

use crate::cache::{self, CacheKey, Record, StoreKind};
use crate::clock::{Clock, time_json};
use crate::error::Error;
use crate::options::{Format, ParseGet};
use crate::wording::counted;

use super::cache_check::{Check, check_all};
use super::cache_cmd::expiry;
use super::identity::context_keys;

/// The shortest prefix length, at least 8, that tells every key apart.
pub(super) fn short_len(keys: &[&CacheKey]) -> usize {
    (8..32)
        .find(|&n| {
            let mut seen = std::collections::HashSet::new();
            keys.iter()
                .all(|k| seen.insert(&k.as_str()[..n.min(k.as_str().len())]))
        })
        .unwrap_or(32)
}

/// One listed entry and what is known around it.
struct Row<'a> {
    key: &'a CacheKey,
    record: &'a Record,
    contexts: Vec<String>,
    check: Option<&'a Check>,
}

/// `cache list [--check]`; `wide`: with each credential's id in the API
/// server's audit log.
pub fn list(
    format: Format,
    wide: bool,
    check: bool,
    parse_get: ParseGet,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let entries = cache::list()?;
    let now = clock.now().unix_timestamp();
    let checks = check.then(|| check_all(&entries));
    let used_by = context_keys(parse_get);
    let rows: Vec<Row<'_>> = entries
        .iter()
        .enumerate()
        .map(|(i, (key, record))| Row {
            key,
            record,
            contexts: used_by
                .iter()
                .filter(|(_, k)| k == key)
                .map(|(c, _)| c.clone())
                .collect(),
            check: checks.as_ref().map(|c| &c[i]),
        })
        .collect();
    let short = short_len(&entries.iter().map(|(k, _)| k).collect::<Vec<_>>());
    match format {
        Format::Json | Format::Yaml => {
            let v: Vec<Value> = rows.iter().map(|r| row_json(r, short, now)).collect();
            format.write_document(&Value::Array(v), out)?;
        }
        Format::Text if rows.is_empty() => writeln!(out, "no cached entries")?,
        Format::Text => write_table(&rows, short, checks.is_some(), wide, now, out)?,
    }
    let checks = checks.unwrap_or_default();
    for (c, (key, _)) in checks.iter().zip(&entries) {
        if let Some(why) = c.reason() {
            tracing::info!("{}: {why}", &key.as_str()[..short.min(key.as_str().len())]);
        }
    }
    let dead = checks.iter().filter(|c| c.is_dead()).count();
    if dead > 0 {
        return Err(Error::CheckFailed(format!(
            "{} rejected by the server (see CHECK); clear {} with `kube-sa-token cache clear KEY`",
            counted(dead, "cached credential"),
            if dead == 1 { "it" } else { "them" }
        )));
    }
    // A check that could not be made is not a pass (scripts test the exit
    // status).
    let unknown = checks.iter().filter(|c| c.is_unknown()).count();
    if unknown > 0 {
        return Err(Error::CheckFailed(format!(
            "{} could not be checked (see CHECK; -v prints each whole reason); fix what it says and run `kube-sa-token cache list --check` again",
            counted(unknown, "cached credential")
        )));
    }
    Ok(())
}

fn row_json(row: &Row<'_>, short: usize, now: i64) -> Value {
    let r = row.record;
    let mut v = json!({
        "key": row.key,
        "shortKey": &row.key.as_str()[..short.min(row.key.as_str().len())],
        "kind": if r.user.is_some() { "certificate" } else { "token" },
        "identity": r.label(),
        // The OS keyring item's label (Seahorse, KWallet show it).
        "label": cache::item_label_for(&identity_column(r), &r.server),
        "contexts": row.contexts,
        "server": r.server,
        "adminContext": r.admin_context,
        "kubeconfig": r.kubeconfig,
        "source": r.source,
        "audiences": r.audiences,
        "boundSecret": r.bound_secret,
        "tokenSecret": r.token_secret,
        "credentialId": r.credential_id,
        "vaultLease": r.lease,
        "store": r.store,
        "alsoIn": r.also_in,
        "kernelCopy": cache::in_kernel(row.key),
        "mintedAt": time_json(Some(r.minted_at), now),
        "expires": time_json(r.expires_at, now),
        "expired": r.expires_at.map(|t| t <= now),
    });
    match &r.user {
        Some(user) => {
            v["user"] = json!(user);
            v["groups"] = json!(r.groups);
        }
        None => {
            v["serviceAccount"] = json!({"namespace": r.namespace, "name": r.service_account});
        }
    }
    if let Some(c) = row.check {
        v["check"] = c.json();
    }
    v
}

fn write_table(
    rows: &[Row<'_>],
    short: usize,
    checked: bool,
    wide: bool,
    now: i64,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut header = vec![
        "KEY",
        "IDENTITY",
        "CONTEXTS",
        "SERVER",
        "ADMIN CONTEXT",
        "SOURCE",
        "STORE",
        "EXPIRES",
    ];
    if wide {
        header.push("CREDENTIAL ID");
    }
    if checked {
        header.push("CHECK");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let r = row.record;
            let key = &row.key.as_str()[..short.min(row.key.as_str().len())];
            let mut cells = vec![
                key.to_string(),
                identity_column(r),
                if row.contexts.is_empty() {
                    "-".into()
                } else {
                    row.contexts.join(",")
                },
                r.server.clone(),
                match &r.kubeconfig {
                    Some(k) => format!("{} ({k})", r.admin_context),
                    None => r.admin_context.clone(),
                },
                source_column(r, wide),
                store_column(row.key, r),
                expiry(r, now),
            ];
            if wide {
                cells.push(r.credential_id.clone().unwrap_or_else(|| "-".into()));
            }
            if let Some(c) = row.check {
                cells.push(c.text(key));
            }
            cells
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let header: Vec<String> = header.into_iter().map(String::from).collect();
    for row in std::iter::once(header).chain(cells) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
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

/// How it was asked for: the source, and what sets it apart from the
/// default (audiences, the Secret it is bound to or read from).
fn source_column(r: &Record, wide: bool) -> String {
    let mut s = r.source.clone();
    if !r.audiences.is_empty() {
        s.push_str(&format!(" aud={}", r.audiences.join(",")));
    }
    if let Some(b) = &r.bound_secret {
        s.push_str(&format!(" bound={b}"));
    }
    if let Some(t) = &r.token_secret {
        s.push_str(&format!(" secret={t}"));
    }
    if let Some(l) = r.lease.as_ref().filter(|_| wide) {
        s.push_str(&format!(" lease={l}"));
    }
    s
}

/// Where the entry is: its store, the kernel copy in front of it, and other
/// stores holding a copy under the same key.
fn store_column(k: &CacheKey, r: &Record) -> String {
    let mut s = r.store.to_string();
    if r.store != StoreKind::Keyutils && cache::in_kernel(k) {
        s.push_str(" + kernel copy");
    }
    for other in &r.also_in {
        s.push_str(&format!(", also {other}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_unique_prefixes_of_at_least_eight() {
        let k = |s: &str| CacheKey::parse(s).unwrap();
        let a = k("0123456789abcdef0123456789abcdef");
        let b = k("0123456789abcdef0123456789abcde0");
        let c = k("fedcba9876543210fedcba9876543210");
        assert_eq!(short_len(&[&a, &c]), 8);
        assert_eq!(short_len(&[&a]), 8);
        assert_eq!(short_len(&[]), 8);
        assert_eq!(short_len(&[&a, &b, &c]), 32);
        let d = k("0123456789abcdef0123456789000000");
        assert_eq!(short_len(&[&a, &d]), 27);
    }
}
