//! Who was last served an entry, and until when: one line per entry in
//! `<cache dir>/served/<key>`, never a secret. `get` compares the next caller
//! with it to notice a client that runs the plugin again after a 401.

use std::path::PathBuf;

use super::error::CacheError;
use super::key::CacheKey;
use super::paths::{self, io_err, private_dir};
use crate::parent::Parent;

/// The last serve of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub parent: Parent,
    /// Unix seconds of the serve.
    pub at: i64,
    /// The expirationTimestamp the caller got (unix seconds, local time).
    pub until: i64,
    /// Unix seconds the token was last checked with the server for this
    /// caller (0: never).
    pub checked: i64,
}

fn dir() -> Result<PathBuf, CacheError> {
    Ok(super::state::bookkeeping_dir()?.join("served"))
}

fn parse(text: &str) -> Option<Served> {
    let mut f = text.split_whitespace();
    let served = Served {
        parent: Parent {
            pid: f.next()?.parse().ok()?,
            start: f.next()?.parse().ok()?,
        },
        at: f.next()?.parse().ok()?,
        until: f.next()?.parse().ok()?,
        checked: f.next()?.parse().ok()?,
    };
    f.next().is_none().then_some(served)
}

/// The last serve of `key`, if it was recorded (and is readable). One
/// open and one read: this is on the path of every cache hit.
pub fn load(key: &CacheKey) -> Option<Served> {
    let path = dir().ok()?.join(key.as_str());
    let mut f = crate::fsutil::no_follow(std::fs::OpenOptions::new().read(true))
        .open(path)
        .ok()?;
    let mut buf = [0u8; 128];
    let n = std::io::Read::read(&mut f, &mut buf).ok()?;
    parse(std::str::from_utf8(&buf[..n]).ok()?)
}

/// Records a serve of `key`.
pub fn store(key: &CacheKey, s: &Served) -> Result<(), CacheError> {
    let dir = dir()?;
    // Checked every time (a link, another user's directory), created once.
    let cache_dir = dir.parent().unwrap_or(&dir);
    if !(paths::existing_dir(cache_dir)? && paths::existing_dir(&dir)?) {
        private_dir(cache_dir)?;
        private_dir(&dir)?;
    }
    let path = dir.join(key.as_str());
    let line = format!(
        "{} {} {} {} {}\n",
        s.parent.pid, s.parent.start, s.at, s.until, s.checked
    );
    // One short write: a torn record parses as none, which costs at most a
    // missed check, never a wrong one.
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    crate::fsutil::no_follow(&mut opts);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    std::io::Write::write_all(
        &mut opts.open(&path).map_err(io_err(&path))?,
        line.as_bytes(),
    )
    .map_err(io_err(&path))
}

/// Forgets the serves of `key`, or of every entry.
pub fn forget(key: Option<&CacheKey>) {
    let Ok(dir) = dir() else { return };
    match key {
        Some(k) => {
            let _ = std::fs::remove_file(dir.join(k.as_str()));
        }
        None => {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_back_and_garbage_is_none() {
        let s = Served {
            parent: Parent { pid: 7, start: 99 },
            at: 1_000,
            until: 4_000,
            checked: 0,
        };
        assert_eq!(parse("7 99 1000 4000 0\n"), Some(s));
        assert_eq!(parse("7 99 1000 4000"), None);
        assert_eq!(parse("7 99 1000 4000 0 5"), None);
        assert_eq!(parse("a b c d e"), None);
    }
}
