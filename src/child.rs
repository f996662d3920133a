//! A command run as a child, its end passed on (`exec`, `shell`): it keeps
//! our stdin, stdout, stderr and terminal (it is in our process group, so
//! the terminal's ^C, ^\ and ^Z reach it directly, and job control works);
//! SIGINT, SIGQUIT, SIGTERM and SIGHUP that another process sends us (`kill`,
//! a supervisor, a CI runner's timeout) are passed to it, so that it can end
//! cleanly and we can clean up after it. Before it runs, any of them ends
//! us at once, what was prepared for it removed. Its status comes back as a
//! shell gives it: its exit code, or 128 + the number of the signal that
//! ended it.

use std::path::PathBuf;
use std::process::{Command, ExitStatus};

/// The status a shell would give `status`.
fn shell_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    status.code().unwrap_or(1)
}

/// The signals' relay for one child.
pub struct Relay {
    #[cfg(unix)]
    state: std::sync::Arc<std::sync::Mutex<State>>,
    /// What to remove when a signal ends us before the child runs.
    #[cfg(not(unix))]
    _dir: (),
}

#[cfg(unix)]
#[derive(Default)]
struct State {
    child: Option<libc::pid_t>,
    /// The child was waited for: nothing more is sent (its pid may be
    /// another process's after it is reaped).
    ended: bool,
    dir: Option<PathBuf>,
}

#[cfg(unix)]
const PASSED_ON: [libc::c_int; 4] = [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
impl Relay {
    /// Blocks the signals in this thread and starts the relay. Call it
    /// before any other thread starts (threads inherit the mask; one that
    /// had not blocked them could be handed one and end the process without
    /// the clean-up). The child starts with an empty mask (std resets it).
    pub fn start() -> Relay {
        let set = signal_set();
        // SAFETY: `set` is initialised; the old mask is not needed.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        let state = std::sync::Arc::new(std::sync::Mutex::new(State::default()));
        let relay = std::sync::Arc::clone(&state);
        std::thread::spawn(move || {
            loop {
                let Some((sig, sender)) = wait_for(&set) else {
                    continue;
                };
                let st = relay.lock().unwrap_or_else(|p| p.into_inner());
                match st.child {
                    _ if st.ended => {}
                    Some(pid) => {
                        // From another process (not the terminal's, which
                        // reached the child directly; not the child's own).
                        if sender.is_some_and(|s| s != pid) {
                            // SAFETY: the child is not reaped yet (`run`).
                            unsafe { libc::kill(pid, sig) };
                        }
                    }
                    None => {
                        if let Some(d) = &st.dir {
                            let _ = std::fs::remove_dir_all(d);
                        }
                        std::process::exit(128 + sig);
                    }
                }
            }
        });
        Relay { state }
    }

    /// `dir` goes if a signal ends us before the child runs.
    pub fn remove_on_signal(&self, dir: PathBuf) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).dir = Some(dir);
    }

    /// Runs `cmd` to its end; its status as a shell gives it. `Err` when
    /// it could not be started.
    pub fn run(&self, cmd: &mut Command) -> std::io::Result<i32> {
        let mut child = {
            // Started under the lock: the relay sees the child, or none.
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let child = cmd.spawn()?;
            st.child = Some(child.id() as libc::pid_t);
            child
        };
        let pid = child.id() as libc::pid_t;
        // Waited for without reaping: until it is reaped, the pid stays the
        // child's, so the relay can never signal another process.
        // SAFETY: a zeroed siginfo_t for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        loop {
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                break;
            }
        }
        self.state.lock().unwrap_or_else(|p| p.into_inner()).ended = true;
        Ok(shell_code(child.wait()?))
    }
}

#[cfg(unix)]
fn signal_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        for s in PASSED_ON {
            libc::sigaddset(&mut set, s);
        }
    }
    set
}

/// The next signal of `set`, and the process that sent it (`None`: the
/// kernel's, such as the terminal's ^C).
#[cfg(target_os = "linux")]
fn wait_for(set: &libc::sigset_t) -> Option<(libc::c_int, Option<libc::pid_t>)> {
    // SAFETY: a zeroed siginfo_t for sigwaitinfo to fill in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
    if sig < 0 {
        return None;
    }
    // si_code <= 0: sent by a process (kill, sigqueue, tkill); the
    // terminal's come from the kernel (SI_KERNEL).
    // SAFETY: si_pid is set for signals a process sent.
    let sender = (info.si_code <= 0).then(|| unsafe { info.si_pid() });
    Some((sig, sender))
}

/// Elsewhere (no sigwaitinfo): the sender is not known, so SIGTERM alone is
/// taken to come from another process (no terminal sends it).
#[cfg(all(unix, not(target_os = "linux")))]
fn wait_for(set: &libc::sigset_t) -> Option<(libc::c_int, Option<libc::pid_t>)> {
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is initialised and `sig` is written by sigwait.
    if unsafe { libc::sigwait(set, &mut sig) } != 0 {
        return None;
    }
    Some((sig, (sig == libc::SIGTERM).then_some(0)))
}

/// Off Unix: no signals to relay; the child runs to its end.
#[cfg(not(unix))]
impl Relay {
    pub fn start() -> Relay {
        Relay { _dir: () }
    }
    pub fn remove_on_signal(&self, _dir: PathBuf) {}
    pub fn run(&self, cmd: &mut Command) -> std::io::Result<i32> {
        Ok(shell_code(cmd.status()?))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_signals_come_back_as_a_shell_gives_them() {
        assert_eq!(
            shell_code(Command::new("sh").args(["-c", "exit 7"]).status().unwrap()),
            7
        );
        assert_eq!(shell_code(Command::new("true").status().unwrap()), 0);
        let killed = Command::new("sh")
            .args(["-c", "kill -KILL $$"])
            .status()
            .unwrap();
        assert_eq!(shell_code(killed), 128 + 9);
    }
}
