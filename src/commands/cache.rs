//! `cache list`, `cache clear` and `logout`.

use std::io::Write;

use serde_json::json;
use time::OffsetDateTime;

use crate::cli::Format;
use crate::clock::{Clock, human, rfc3339};
use crate::error::Error;
use crate::get::{GetOptions, open_store};
use crate::source::Admin;
use crate::store::index::{Index, Record};
use crate::store::{self, CacheKey, StoreKind};

use super::runtime;

fn expiry(r: &Record, now: i64) -> String {
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

pub fn list(format: Format, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let entries = Index::open()?.list()?;
    let now = clock.now().unix_timestamp();
    if format == Format::Json {
        let v: Vec<_> = entries
            .iter()
            .map(|(k, r)| json!({"key": k, "serviceAccount": format!("{}/{}", r.namespace, r.service_account), "record": r}))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v).expect("json"))?;
        return Ok(());
    }
    if entries.is_empty() {
        writeln!(out, "no cached entries")?;
        return Ok(());
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|(k, r)| {
            [
                k.to_string(),
                format!("{}/{}", r.namespace, r.service_account),
                r.server.clone(),
                r.admin_context.clone(),
                r.store.to_string(),
                expiry(r, now),
            ]
        })
        .collect();
    let header = [
        "KEY",
        "SERVICE ACCOUNT",
        "SERVER",
        "ADMIN CONTEXT",
        "STORE",
        "EXPIRES",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    for row in std::iter::once(header.map(String::from)).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(())
}

/// Removes one entry from its store and the index.
fn remove(key: &CacheKey, kind: StoreKind) -> Result<bool, Error> {
    let removed = store::open(kind)?.remove(key)?;
    Index::open()?.remove(key)?;
    Ok(removed)
}

/// `cache clear KEY` or `cache clear --all` (key `None`).
pub fn clear(key: Option<&str>, out: &mut dyn Write) -> Result<(), Error> {
    let index = Index::open()?;
    let targets: Vec<(CacheKey, Record)> = match key {
        None => index.list()?,
        Some(k) => {
            let key = CacheKey::parse(k).ok_or_else(|| {
                Error::Usage(format!(
                    "{k:?} is not a cache key; `kube-sa-token cache list` shows them"
                ))
            })?;
            let record = index.get(&key)?.ok_or_else(|| {
                Error::Usage(format!(
                    "no cache entry {key}; `kube-sa-token cache list` shows them"
                ))
            })?;
            vec![(key, record)]
        }
    };
    let mut bound = Vec::new();
    let mut failed = Vec::new();
    for (k, r) in &targets {
        // One unreachable store (say, a locked keyring) must not stop the rest.
        if let Err(e) = remove(k, r.store) {
            failed.push(format!("{k} ({}): {e}", r.store));
            continue;
        }
        if let Some(s) = &r.bound_secret {
            bound.push(format!("{}/{}", r.namespace, s));
        }
    }
    if key.is_none() {
        // Also entries the index lost track of, in the file store.
        let dir = store::paths::cache_dir()?.join("tokens");
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
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

/// `logout`: forget one SA's token; revoke it when it is bound to a Secret.
pub fn logout(opts: &GetOptions, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let spec = &opts.spec;
    let server = spec.admin_server()?;
    let key = spec.key(&server);
    let record = Index::open()?.get(&key)?;
    let removed = match &record {
        Some(r) => remove(&key, r.store)?,
        None => match open_store(opts.cache)? {
            Some(s) => {
                let removed = s.remove(&key)?;
                Index::open()?.remove(&key)?;
                removed
            }
            None => false,
        },
    };
    let sa = format!("{}/{}", spec.namespace, spec.service_account);
    writeln!(
        out,
        "{} the cached token of {sa} on {server}",
        if removed { "removed" } else { "there was no" }
    )?;
    let bound = record
        .as_ref()
        .and_then(|r| r.bound_secret.clone())
        .or_else(|| spec.bind_secret.then(|| spec.bound_secret_name(&key)));
    match bound {
        Some(secret) => {
            let deleted = runtime()?.block_on(async {
                let admin = Admin::connect(spec.kubeconfig.as_deref(), &spec.admin_context).await?;
                admin.delete_secret(&spec.namespace, &secret).await
            })?;
            if deleted {
                writeln!(
                    out,
                    "revoked: deleted Secret {}/{secret}; the API server now rejects every token bound to it",
                    spec.namespace
                )?;
            } else {
                writeln!(
                    out,
                    "Secret {}/{secret} was already gone; tokens bound to it are not accepted",
                    spec.namespace
                )?;
            }
        }
        None if record.as_ref().is_some_and(|r| r.token_secret.is_some()) => {
            let secret = record
                .as_ref()
                .and_then(|r| r.token_secret.clone())
                .unwrap_or_default();
            writeln!(
                out,
                "note: the legacy token never expires; it stays valid until its Secret is deleted: kubectl -n {} delete secret {secret}",
                spec.namespace
            )?;
        }
        None => {
            let until = record
                .as_ref()
                .map(|r| expiry(r, clock.now().unix_timestamp()))
                .unwrap_or_else(|| "its expiry".into());
            writeln!(
                out,
                "note: the token itself stays valid on the server until {until}; mint with --bind-secret to make logout revoke it"
            )?;
        }
    }
    Ok(())
}
