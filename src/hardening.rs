//! Process hardening, before any secret is read: no core dump of this
//! process may hold a token or a user's private key, and no other process of
//! the same user may read its memory (ptrace, /proc/PID/mem) without
//! privileges. A few system calls; the flag does not reach exec'd children (the
//! dumpable flag is reset by execve), so the admin's exec plugin is unchanged.

/// Marks the process non-dumpable and sets its soft core size limit to 0.
pub fn no_core_dumps() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) and setrlimit(RLIMIT_CORE) take plain
    // integers and a valid struct; they cannot harm memory safety.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    // The soft limit only: children (the admin's exec plugin) may raise it.
    #[cfg(unix)]
    // SAFETY: as above; getrlimit writes into a valid struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_CORE, &mut lim) == 0 {
            lim.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
        }
    }
}
