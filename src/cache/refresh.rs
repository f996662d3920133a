//! Bookkeeping of refresh-ahead: when a background refresh of an entry was
//! last started (`<cache dir>/refresh/<key>`, a unix time), and what failed
//! (`<cache dir>/refresh.log`, the newest lines, for `doctor`). No secret.

use std::path::PathBuf;

use super::error::CacheError;
use super::key::CacheKey;
use super::paths::{self, private_dir};

/// How many lines of failures the log keeps.
const LOG_LINES: usize = 50;

fn dir() -> Result<PathBuf, CacheError> {
    Ok(super::state::bookkeeping_dir()?.join("refresh"))
}

fn log_path() -> Result<PathBuf, CacheError> {
    Ok(paths::cache_dir()?.join("refresh.log"))
}

/// When a background refresh of `key` was last started.
pub fn last_started(key: &CacheKey) -> Option<i64> {
    let bytes = paths::read(&dir().ok()?.join(key.as_str())).ok()??;
    std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
}

/// Records that a background refresh of `key` starts now.
pub fn note_started(key: &CacheKey, now: i64) -> Result<(), CacheError> {
    let dir = dir()?;
    private_dir(dir.parent().unwrap_or(&dir))?;
    private_dir(&dir)?;
    paths::write_bookkeeping(&dir.join(key.as_str()), format!("{now}\n").as_bytes())
}

/// Appends a failure of a background refresh, keeping the newest lines.
pub fn log_failure(line: &str) -> Result<(), CacheError> {
    let path = log_path()?;
    private_dir(path.parent().unwrap_or(&path))?;
    let mut lines: Vec<String> = paths::read(&path)?
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    lines.push(line.replace('\n', " "));
    let keep = lines.len().saturating_sub(LOG_LINES);
    let mut text = lines[keep..].join("\n");
    text.push('\n');
    paths::write_bookkeeping(&path, text.as_bytes())
}

/// The logged failures, oldest first.
pub fn failures() -> Vec<String> {
    log_path()
        .ok()
        .and_then(|p| paths::read(&p).ok().flatten())
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Forgets the refresh bookkeeping of `key`, or of every entry.
pub fn forget(key: Option<&CacheKey>) {
    let Ok(dir) = dir() else { return };
    let _ = match key {
        Some(k) => std::fs::remove_file(dir.join(k.as_str())),
        None => std::fs::remove_dir_all(dir),
    };
}
