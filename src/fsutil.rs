//! File-system helpers shared by the cache, the kubeconfig editor, `setup`
//! and the broker: private directories, atomic writes, and whether another
//! local user could change a path. They return plain `io::Error`s (or a
//! reason); each caller wraps them in its own error with the path and the
//! fix that fits it.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` and any missing parents 0700, and makes `dir` itself 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// Opens never follow a symlink at the last path component: a link planted
/// in a directory this tool writes to cannot redirect a write or a read.
pub fn no_follow(opts: &mut fs::OpenOptions) -> &mut fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW);
    }
    opts
}

/// Reads a file, refusing a symlink in its place.
pub fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = no_follow(fs::OpenOptions::new().read(true)).open(path)?;
    let mut out = Vec::new();
    io::Read::read_to_end(&mut f, &mut out)?;
    Ok(out)
}

/// A name for a temporary file no other writer uses: this process, a
/// counter, and the time.
fn temp_name(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        ".{name}.{}.{}.{nanos}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes `bytes` to `path` atomically: a new temporary file (created
/// exclusively, never through a link) with `mode` in the same directory,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, true)
}

/// [`write_atomic`] without the flush to disk, for bookkeeping that a crash
/// may lose (it costs an fsync, milliseconds, on a path kubectl waits for).
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(path, bytes, mode, false)
}

fn replace(path: &Path, bytes: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(temp_name(&name));
    let mut created = false;
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        no_follow(&mut opts);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f = opts.open(&tmp)?;
        created = true;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() && created {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// How a sticky directory every user may write (/tmp) counts above a path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sticky {
    /// Safe: only an entry's owner can move it, and the owner is checked
    /// next (a file read now, as the broker's policy).
    Passes,
    /// Unsafe: once the path is cleaned up, anyone can create it again (a
    /// path written down to be run later, as an exec entry's command).
    Fails,
}

/// Why a local user other than root and us could change what `path` holds
/// (issue 32, findings 8 and 10), or `None`: the file or a directory above
/// it, as written and as resolved, is owned by another uid, or writable by
/// every user or by a group not our own; or lies under a sticky directory
/// every user may write, when `sticky` says that counts.
#[cfg(unix)]
pub fn changeable_by_others(path: &Path, sticky: Sticky) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid and getegid cannot fail.
    let (me, my_group) = unsafe { (libc::geteuid(), libc::getegid()) };
    let resolved = path.canonicalize().ok();
    let mut seen: Vec<&Path> = Vec::new();
    for p in std::iter::once(path).chain(resolved.as_deref()) {
        for a in p.ancestors().filter(|a| !a.as_os_str().is_empty()) {
            if seen.contains(&a) {
                continue;
            }
            seen.push(a);
            let Ok(m) = fs::metadata(a) else {
                continue;
            };
            let shown = a.display();
            if m.uid() != 0 && m.uid() != me {
                return Some(format!("{shown} is owned by uid {}", m.uid()));
            }
            let all_write = m.mode() & 0o002 != 0;
            if m.is_dir() && all_write && m.mode() & 0o1000 != 0 {
                if sticky == Sticky::Passes {
                    continue;
                }
                return Some(format!(
                    "it lies under {shown}, a sticky directory every user may write: once it is cleaned up, anyone can put their own there"
                ));
            }
            if all_write {
                return Some(format!(
                    "{shown} is writable by every user (mode {:o})",
                    m.mode() & 0o7777
                ));
            }
            if m.mode() & 0o020 != 0 && m.gid() != my_group {
                return Some(format!(
                    "{shown} is writable by its group (gid {})",
                    m.gid()
                ));
            }
        }
    }
    None
}

#[cfg(not(unix))]
pub fn changeable_by_others(_: &Path, _: Sticky) -> Option<String> {
    None
}
