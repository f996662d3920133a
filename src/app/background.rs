//! Starting the background refresh: this program again, detached (see
//! [`super::refresh_ahead`] for when and what it does).

use std::process::{Command, Stdio};

use crate::options::GetOptions;

use super::ports::Background;

/// How long a background refresh may take, admin login included: well
/// under the lock wait kubectl calls would spend behind it. Past it, the
/// refresh ends itself and its plugin (their whole process group).
pub const BACKGROUND_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// The background refresh's nice value (0 is kubectl's, 19 the lowest).
#[cfg(unix)]
const BACKGROUND_NICE: libc::c_int = 10;

/// Starts this program again, detached: `get` with the entry's own
/// arguments (whatever command found the refresh due: `get`, `whoami`,
/// `kubeconfig --embed-token`) plus `--refresh-in-background`, in a session
/// of its own, holding none of the caller's pipes or other descriptors
/// (kubectl, or a shell pipeline around it, waits for them to close).
pub struct SpawnSelf;

impl Background for SpawnSelf {
    fn start(&self, opts: &GetOptions) -> Result<(), String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(crate::get_flags::exec_args(opts))
            .arg("--refresh-in-background")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: setsid and setpriority are plain system calls
            // (async-signal-safe); nothing else runs in the child.
            unsafe {
                cmd.pre_exec(|| {
                    // Its own session: no terminal signal (Ctrl-C, hang-up)
                    // meant for kubectl reaches it.
                    libc::setsid();
                    // Below kubectl: on a small machine the refresh's start-up
                    // must not slow down the command that started it.
                    libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE);
                    close_inherited_on_exec();
                    Ok(())
                });
            }
        }
        cmd.spawn().map(drop).map_err(|e| e.to_string())
    }
}

/// Marks every descriptor above stderr close-on-exec: the refresh must not
/// keep a pipe of the caller's open (a pipeline around kubectl would wait for
/// the background mint). Only async-signal-safe system calls: it runs
/// between fork and exec.
#[cfg(unix)]
fn close_inherited_on_exec() {
    #[cfg(target_os = "linux")]
    {
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        // SAFETY: close_range only changes descriptor flags (Linux 5.11+).
        let done = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        } == 0;
        if done {
            return;
        }
    }
    // Older kernels and other systems: each possible descriptor.
    // SAFETY: getrlimit and fcntl are async-signal-safe system calls.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(65_536) as libc::c_int
        } else {
            1024
        };
        for fd in 3..max {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}
