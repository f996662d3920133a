//! The broker's Unix socket on Linux (the one platform gate of the broker:
//! its declaration in `broker/mod.rs`): listening safely, connecting with
//! the server's identity checked, and who a peer is as the kernel tells it
//! (SO_PEERCRED, SO_PEERGROUPS, /proc/PID/exe; never the request).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::BrokerError;
use super::policy::Caller;

pub type Conn = UnixStream;

/// A listening socket; the file is removed when dropped (unless systemd
/// made it).
pub struct Listener {
    inner: UnixListener,
    made: Option<PathBuf>,
}

impl Listener {
    pub fn accept(&self) -> io::Result<Conn> {
        self.inner.accept().map(|(s, _)| s)
    }

    /// The socket file this process made (removed when it stops).
    pub fn made(&self) -> Option<&Path> {
        self.made.as_deref()
    }

    /// Where it listens, for logs.
    pub fn describe(&self) -> String {
        match &self.made {
            Some(p) => p.display().to_string(),
            None => "the socket systemd passed (LISTEN_FDS)".into(),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(p) = &self.made {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn setup(what: String) -> BrokerError {
    BrokerError::Setup(what)
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The account this process runs as: its uid, and its name where the user
/// database has one.
pub fn own_account() -> (u32, Option<String>) {
    let uid = euid();
    (uid, user_name(uid))
}

/// The first directory on the way to `path` that other accounts may not
/// pass through (no search bit for others): they cannot reach a socket
/// there, whatever its own mode.
pub fn closed_to_others(path: &Path) -> Option<PathBuf> {
    path.ancestors().skip(1).find_map(|dir| {
        let mode = std::fs::metadata(dir).ok()?.mode();
        (mode & 0o001 == 0).then(|| dir.to_path_buf())
    })
}

/// Listens at `path`, or on the socket systemd passed (socket activation:
/// `LISTEN_FDS=1` for this process). The directory is created 0755 when
/// missing (never through a link); an existing one must be a directory of
/// this user's or root's that nobody else may write to (or sticky, like
/// /tmp). A stale socket of ours is replaced; a live broker, or anything
/// else at the path, is refused. Anyone may connect: the policy decides.
pub fn listen(path: &Path) -> Result<Listener, BrokerError> {
    if let Some(l) = from_systemd() {
        return Ok(Listener {
            inner: l,
            made: None,
        });
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .ok_or_else(|| {
            setup(format!(
                "--socket {}: give an absolute path",
                path.display()
            ))
        })?;
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        // 0755 whatever the umask (a service's may be 077): callers must
        // reach the socket.
        Ok(()) => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(|e| {
                setup(format!(
                    "cannot open the socket directory {} to callers: {e}",
                    dir.display()
                ))
            })?
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(setup(format!(
                "cannot create the socket directory {}: {e}",
                dir.display()
            )));
        }
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| {
        setup(format!(
            "cannot read the socket directory {}: {e}",
            dir.display()
        ))
    })?;
    let me = euid();
    let sticky = meta.mode() & 0o1000 != 0;
    if !meta.file_type().is_dir() {
        return Err(setup(format!(
            "the socket directory {} is not a directory (a link?): remove it, or pick another --socket",
            dir.display()
        )));
    }
    if (meta.uid() != me && meta.uid() != 0) || (meta.mode() & 0o022 != 0 && !sticky) {
        return Err(setup(format!(
            "the socket directory {} may be changed by other users (owner uid {}, mode {:o}): use a directory only this account or root can write to",
            dir.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(setup(format!("cannot read {}: {e}", path.display()))),
        Ok(m) if m.file_type().is_socket() && m.uid() == me => {
            if UnixStream::connect(path).is_ok() {
                return Err(setup(format!(
                    "another broker is serving {}: stop it first, or pick another --socket",
                    path.display()
                )));
            }
            std::fs::remove_file(path).map_err(|e| {
                setup(format!(
                    "cannot remove the stale socket {}: {e}",
                    path.display()
                ))
            })?;
        }
        Ok(m) => {
            return Err(setup(format!(
                "{} exists and is not a socket of this account (owner uid {}): remove it, or pick another --socket",
                path.display(),
                m.uid()
            )));
        }
    }
    let inner = UnixListener::bind(path)
        .map_err(|e| setup(format!("cannot listen on {}: {e}", path.display())))?;
    // The directory is ours and closed to others: nobody swaps the file
    // between bind and chmod.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|e| setup(format!("cannot open {} to callers: {e}", path.display())))?;
    Ok(Listener {
        inner,
        made: Some(path.to_path_buf()),
    })
}

/// The socket systemd passed, when it passed exactly one to this process.
fn from_systemd() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    if pid != std::process::id() || fds != 1 {
        return None;
    }
    const FIRST: RawFd = 3;
    // SAFETY: fstat into a zeroed stat of our own.
    let is_socket = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(FIRST, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        tracing::warn!(
            "LISTEN_FDS names this process, but descriptor 3 is not a socket; listening on --socket instead"
        );
        return None;
    }
    // SAFETY: systemd hands this process descriptor 3 (LISTEN_PID is ours),
    // a socket (checked); nothing else in this process owns it.
    let l = unsafe { UnixListener::from_raw_fd(FIRST) };
    // SAFETY: FD_CLOEXEC on our own descriptor.
    unsafe { libc::fcntl(FIRST, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(l)
}

/// Connects to the broker at `path` and checks, from the kernel, that the
/// process serving it runs as one of `trusted` (root, or --broker-owner).
pub fn connect(path: &Path, trusted: u32, timeout: Duration) -> Result<Conn, BrokerError> {
    let conn = UnixStream::connect(path).map_err(|e| BrokerError::Down {
        path: path.to_path_buf(),
        detail: match e.kind() {
            io::ErrorKind::NotFound => "no socket there".into(),
            io::ErrorKind::ConnectionRefused => "nothing listens on the socket".into(),
            _ => e.to_string(),
        },
    })?;
    let (uid, _, _) = peer_cred(conn.as_raw_fd()).map_err(|e| BrokerError::Broken {
        path: path.to_path_buf(),
        detail: format!("cannot ask the kernel who serves the socket: {e}"),
    })?;
    if uid != 0 && uid != trusted {
        let name = |u| user_name(u).map_or(format!("uid {u}"), |n| format!("uid {u} ({n})"));
        return Err(BrokerError::Impostor {
            path: path.to_path_buf(),
            served_by: name(uid),
            owner: user_name(uid).unwrap_or_else(|| uid.to_string()),
            trusted: if trusted == 0 {
                "root".into()
            } else {
                format!("root or {}", name(trusted))
            },
        });
    }
    let _ = conn.set_read_timeout(Some(timeout));
    let _ = conn.set_write_timeout(Some(timeout));
    Ok(conn)
}

/// `--broker-owner`: a user name or a uid.
pub fn owner_uid(owner: Option<&str>) -> Result<u32, BrokerError> {
    let Some(owner) = owner else { return Ok(0) };
    if let Ok(uid) = owner.parse() {
        return Ok(uid);
    }
    uid_of(owner).ok_or_else(|| BrokerError::UnknownOwner(owner.into()))
}

/// Who is at the other end of `conn`: uid, groups and pid from the kernel,
/// names from the user database, the executable where /proc shows it.
pub fn caller(conn: &Conn) -> io::Result<Caller> {
    let fd = conn.as_raw_fd();
    let (uid, gid, pid) = peer_cred(fd)?;
    let mut gids = vec![gid];
    for g in peer_groups(fd).unwrap_or_default() {
        if !gids.contains(&g) {
            gids.push(g);
        }
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string());
    Ok(Caller {
        uid,
        groups: gids.iter().filter_map(|g| group_name(*g)).collect(),
        gids,
        pid,
        user: user_name(uid),
        exe,
    })
}

fn peer_cred(fd: RawFd) -> io::Result<(u32, u32, i32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a ucred and `len` its size, as SO_PEERCRED wants.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.uid, cred.gid, cred.pid))
}

/// The peer's supplementary groups (Linux 4.13+; none before).
fn peer_groups(fd: RawFd) -> io::Result<Vec<u32>> {
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
    // SAFETY: the buffer holds `len` bytes of gid_t.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERGROUPS,
            groups.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    groups.truncate(len as usize / std::mem::size_of::<libc::gid_t>());
    Ok(groups)
}

/// A user's name, from the user database (/etc/passwd; NSS where the C
/// library has it).
pub fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: zeroed passwd is a valid out-parameter.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: buffers sized as passed; `out` points into `pw` on success.
    let rc =
        unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr().cast(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: pw_name is a NUL-terminated string in `buf`.
    Some(
        unsafe { CStr::from_ptr(pw.pw_name) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn uid_of(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: as in user_name.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: as in user_name.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut out,
        )
    };
    (rc == 0 && !out.is_null()).then_some(pw.pw_uid)
}

fn group_name(gid: u32) -> Option<String> {
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: zeroed group is a valid out-parameter.
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut out = std::ptr::null_mut();
    // SAFETY: buffers sized as passed.
    let rc =
        unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr().cast(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: gr_name is a NUL-terminated string in `buf`.
    Some(
        unsafe { CStr::from_ptr(gr.gr_name) }
            .to_string_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_known_from_the_kernel() {
        let (a, b) = UnixStream::pair().unwrap();
        let c = caller(&a).unwrap();
        assert_eq!(c.uid, euid());
        assert_eq!(c.pid as u32, std::process::id());
        assert!(c.exe.is_some());
        drop(b);
    }

    #[test]
    fn listen_refuses_what_is_not_ours_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("b/broker.sock");
        let l = listen(&sock).unwrap();
        let mode = std::fs::metadata(dir.path().join("b")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o755);
        // A second broker on the same path is refused while the first lives.
        let e = listen(&sock).err().unwrap().to_string();
        assert!(e.contains("another broker is serving"), "{e}");
        let conn = connect(&sock, euid(), Duration::from_secs(1));
        assert!(conn.is_ok());
        drop(conn);
        drop(l);
        assert!(!sock.exists());
        // A plain file at the path is not replaced.
        std::fs::write(&sock, b"x").unwrap();
        let e = listen(&sock).err().unwrap().to_string();
        assert!(e.contains("is not a socket"), "{e}");
        // A link as the directory is refused.
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(dir.path().join("b"), &link).unwrap();
        let e = listen(&link.join("s.sock")).err().unwrap().to_string();
        assert!(e.contains("not a directory"), "{e}");
        // A directory others may write to is refused.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = listen(&open.join("s.sock")).err().unwrap().to_string();
        assert!(e.contains("may be changed by other users"), "{e}");
    }

    #[test]
    fn down_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let e = connect(&dir.path().join("none.sock"), 0, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("is not running (no socket there)"), "{e}");
        assert_eq!(owner_uid(Some("0")).unwrap(), 0);
        assert_eq!(owner_uid(Some("root")).unwrap(), 0);
        assert!(owner_uid(Some("no-such-user-here")).is_err());
    }
}
