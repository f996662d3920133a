//! The process that ran this one (kubectl, helm, a kube-rs program): its pid
//! and start time, so that a reused pid is another process. client-go runs
//! the plugin again, from the same process, right after a request failed
//! with 401; seeing the same parent again before the credential it got has
//! expired is how `get` notices (see `app::get_token`).

use serde::{Deserialize, Serialize};

/// A running process, identified across pid reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    pub pid: u32,
    /// Its start time in clock ticks since boot (Linux); 0 where unknown.
    pub start: u64,
}

/// The parent of this process; `None` for an orphan. Parent pid 1 is a
/// caller only when it holds the other end of our stdout (kubectl as a
/// container's entrypoint reads what we print); an orphan's adoptive init
/// does not.
pub fn current() -> Option<Parent> {
    #[cfg(unix)]
    {
        let pid = std::os::unix::process::parent_id();
        if pid == 0 || (pid == 1 && !holds_our_stdout(1)) {
            return None;
        }
        Some(Parent {
            pid,
            start: start_time(pid).unwrap_or(0),
        })
    }
    #[cfg(not(unix))]
    None
}

/// Who a message on stderr reaches: the calling process and the stderr it
/// gave us. One kubectl command runs the plugin once per request it tries
/// (up to six), each time from the same process with the same stderr; two
/// commands are two processes, and a test harness gives each run a pipe
/// of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    pub parent: Parent,
    /// Device and inode of our stderr (a terminal, a pipe, a file).
    pub stderr: (u64, u64),
}

/// This run's audience, when its caller is `parent` (and stderr is open).
pub fn audience(parent: Option<Parent>) -> Option<Audience> {
    let parent = parent?;
    #[cfg(unix)]
    {
        // SAFETY: fstat into a zeroed stat of our own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(2, &mut st) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)]
        Some(Audience {
            parent,
            stderr: (st.st_dev as u64, st.st_ino as u64),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = parent;
        None
    }
}

/// Whether process `pid` has our stdout's pipe or socket open (Linux; only
/// asked when the parent pid is 1). Another user's init cannot be looked
/// into: then it is not our caller either.
#[cfg(unix)]
fn holds_our_stdout(pid: u32) -> bool {
    let Ok(ours) = std::fs::read_link("/proc/self/fd/1") else {
        return false;
    };
    let s = ours.to_string_lossy();
    if !(s.starts_with("pipe:") || s.starts_with("socket:")) {
        return false;
    }
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == ours))
        })
        .unwrap_or(false)
}

#[cfg(unix)]
/// Field 22 of `/proc/<pid>/stat` (after the command name, which may hold
/// spaces and parentheses).
fn start_time(pid: u32) -> Option<u64> {
    // One read into a buffer the line fits in (a few hundred bytes).
    let mut buf = [0u8; 1024];
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = std::io::Read::read(&mut f, &mut buf).ok()?;
    parse_start(std::str::from_utf8(&buf[..n]).ok()?)
}

#[cfg(any(unix, test))]
fn parse_start(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_time_after_any_command_name() {
        let stat = "4242 (kube ctl) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start(stat), Some(987654));
        assert_eq!(parse_start("garbage"), None);
    }

    // Off Unix the parent is not looked up (see `current`).
    #[cfg(unix)]
    #[test]
    fn the_parent_of_a_test_is_known() {
        let p = current().expect("the test runner");
        assert_eq!(p, current().unwrap(), "stable");
        #[cfg(target_os = "linux")]
        assert_ne!(p.start, 0);
    }
}
