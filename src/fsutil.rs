//! File-system helpers shared by the cache, the kubeconfig editor, `setup`
//! and the broker: private directories, atomic writes, and whether another
//! local user could change a path. They return plain `io::Error`s (or a
//! reason); each caller wraps them in its own error with the path and the
//! fix that fits it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `p` as exec entries, cache keys and the broker name it: absolute.
/// Windows' `GetFullPathNameW` (behind `std::path::absolute`) turns a path
/// such as `C:\x\aux.sock` into the device `\\.\aux` (Windows 10, Wine),
/// so there a path given absolute is kept exactly as given.
pub fn absolute(p: &Path) -> PathBuf {
    if cfg!(windows) && p.is_absolute() {
        return p.to_path_buf();
    }
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

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

/// Why the account `uid` (primary group `gid`) could not run the program
/// at `path`, or `None`: a directory on the way, as written or as resolved,
/// that it may not enter, or a file it may not execute. Supplementary
/// groups are not known here: a group's rights count for the primary one.
#[cfg(unix)]
pub fn not_runnable_by(path: &Path, uid: u32, gid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let allows = |m: &fs::Metadata| {
        let mode = m.mode();
        if uid == 0 {
            // Root enters any directory and runs what any x bit allows.
            return m.is_dir() || mode & 0o111 != 0;
        }
        let bit = if m.uid() == uid {
            0o100
        } else if m.gid() == gid {
            0o010
        } else {
            0o001
        };
        mode & bit != 0
    };
    let resolved = path.canonicalize().ok()?;
    for p in [path, resolved.as_path()] {
        for dir in p.ancestors().skip(1).filter(|a| !a.as_os_str().is_empty()) {
            let m = fs::metadata(dir).ok()?;
            if !allows(&m) {
                return Some(format!(
                    "{} is closed to it (mode {:o}, owner uid {})",
                    dir.display(),
                    m.mode() & 0o7777,
                    m.uid()
                ));
            }
        }
    }
    let m = fs::metadata(&resolved).ok()?;
    (!allows(&m)).then(|| {
        format!(
            "{} is not executable for it (mode {:o}, owner uid {})",
            resolved.display(),
            m.mode() & 0o7777,
            m.uid()
        )
    })
}

#[cfg(test)]
mod absolute_tests {
    use std::path::Path;

    /// An absolute path names the same file after `absolute`; on Windows a
    /// reserved device name in it (`aux`, `con`, `nul`...) stays a file name.
    #[test]
    fn absolute_paths_stay_as_given_and_relative_ones_join_the_working_dir() {
        let given = if cfg!(windows) {
            [r"C:\a\aux.sock", r"C:\nul\con.pem", r"C:\x\prn"]
        } else {
            ["/a/aux.sock", "/nul/con.pem", "/x/prn"]
        };
        for p in given {
            assert_eq!(super::absolute(Path::new(p)), Path::new(p));
        }
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(super::absolute(Path::new("k.yaml")), cwd.join("k.yaml"));
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::not_runnable_by;

    /// Issue 33, item 3: whether another account may run a program, by
    /// the directories on the way and the file's own bits.
    #[test]
    fn who_may_run_a_program() {
        let set = |p: &std::path::Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let tmp = tempfile::tempdir().unwrap();
        set(tmp.path(), 0o755);
        let dir = tmp.path().join("bin");
        std::fs::create_dir(&dir).unwrap();
        let prog = dir.join("prog");
        std::fs::write(&prog, "#!/bin/sh\n").unwrap();
        set(&dir, 0o755);
        set(&prog, 0o755);
        // SAFETY: geteuid and getegid cannot fail.
        let (me, my_group) = unsafe { (libc::geteuid(), libc::getegid()) };
        let other = me.wrapping_add(4242);
        // The temporary directory (/tmp) lets everyone in.
        assert_eq!(not_runnable_by(&prog, other, other), None);
        set(&prog, 0o750);
        assert!(
            not_runnable_by(&prog, other, other)
                .is_some_and(|w| w.contains("is not executable for it (mode 750")),
            "{:?}",
            not_runnable_by(&prog, other, other)
        );
        // The group's bit counts for an account of that group.
        assert_eq!(not_runnable_by(&prog, other, my_group), None);
        set(&prog, 0o755);
        set(&dir, 0o700);
        assert!(
            not_runnable_by(&prog, other, other).is_some_and(|w| w.contains("is closed to it")),
        );
        // Its owner may.
        assert_eq!(not_runnable_by(&prog, me, my_group), None);
    }
}
