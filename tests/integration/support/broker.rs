//! The broker for the end-to-end tests: `kube-sa-token serve` run as root
//! (this test process), with the admin kubeconfig 0600 in a directory only
//! root may enter, its socket under /run, its store in a tmpfs directory of
//! its own. The clients are ordinary users (`support::user`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::Cluster;
use super::user::OrdinaryUser;

pub struct Broker {
    /// 0700, root's: the admin kubeconfig, the policy, the logs.
    pub dir: PathBuf,
    pub socket: PathBuf,
    pub policy: PathBuf,
    pub audit: PathBuf,
    pub admin: PathBuf,
    runtime: PathBuf,
    child: Option<Child>,
    /// Handed its socket as systemd does (`LISTEN_FDS`), not making it.
    activated: bool,
    /// The binary `serve` runs, and variables besides HOME and
    /// XDG_RUNTIME_DIR (libfaketime's).
    bin: PathBuf,
    env: Vec<(String, String)>,
    /// Run as this ordinary user instead of root (uid, gid).
    run_as: Option<(u32, u32)>,
    /// How it mints: the admin context of its admin kubeconfig, or a
    /// Vault role.
    mints: Vec<String>,
}

/// What systemd does for a socket unit: bind and listen, then run the
/// service with the socket as descriptor 3 and LISTEN_PID/LISTEN_FDS set.
const ACTIVATE: &str = r#"
import os, socket, sys
path = sys.argv[1]
os.makedirs(os.path.dirname(path), exist_ok=True)
# DirectoryMode=0755 and SocketMode=0666, whatever the umask (as systemd).
os.chmod(os.path.dirname(path), 0o755)
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o666)
s.listen(64)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execv(sys.argv[2], sys.argv[2:])
"#;

/// A hostile local caller (issue 32), run as a user through setpriv so the
/// kernel names that uid: `ask` sends stdin's bytes and prints the answer
/// line; `flood SECS` connects, asks for the status and reads the answer
/// in a loop for SECS seconds, printing how many answers it got; `idle N
/// SECS` opens N connections, sends nothing, and after SECS seconds prints
/// how many were closed by the broker meanwhile, then the answers' codes.
const HOSTILE: &str = include_str!("hostile.py");

impl Broker {
    /// Starts a broker named `name` with `policy` (YAML), ready to answer.
    pub fn start(c: &Cluster, name: &str, policy: &str) -> Broker {
        Broker::make(c, name, policy, false)
    }

    /// Started with `admin_yaml` as its admin kubeconfig (an exec plugin
    /// instead of the admin's certificate, say), and `files` written into
    /// its directory first (0700: scripts).
    pub fn start_with_admin(
        name: &str,
        policy: &str,
        admin_yaml: &str,
        files: &[(&str, &str)],
    ) -> Broker {
        let tag = format!("kst-broker-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        for (file, text) in files {
            let path = dir.join(file);
            std::fs::write(&path, text.replace("$DIR", dir.to_str().unwrap())).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let admin = dir.join("admin.kubeconfig");
        let yaml = admin_yaml.replace("$DIR", dir.to_str().unwrap());
        std::fs::write(&admin, yaml).unwrap();
        std::fs::set_permissions(&admin, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut b = Broker::assemble(&tag, dir, admin, policy, false, None);
        b.run();
        b
    }

    /// Minting through a Vault role (`vault`: serve's `--vault-*` flags),
    /// with `env` (its Vault token): no admin kubeconfig at all.
    pub fn start_vault(name: &str, policy: &str, vault: &[&str], env: &[(&str, &str)]) -> Broker {
        let tag = format!("kst-broker-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let admin = dir.join("no-admin.kubeconfig");
        let mut b = Broker::assemble(&tag, dir, admin, policy, false, None);
        b.mints = vault.iter().map(|s| s.to_string()).collect();
        b.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        b.run();
        b
    }

    /// The hostile caller ([`HOSTILE`]) in `mode` as `user`, its output.
    pub fn hostile(&self, user: &OrdinaryUser, mode: &[&str], stdin: &[u8]) -> String {
        let mut child = self.hostile_spawn(user, mode);
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "hostile {mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The hostile caller started, not waited for (stdin piped).
    pub fn hostile_spawn(&self, user: &OrdinaryUser, mode: &[&str]) -> Child {
        Command::new("setpriv")
            .arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.uid))
            .args(["--init-groups", "--", "/usr/bin/python3", "-c", HOSTILE])
            .arg(&self.socket)
            .args(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// A request of `user` sent as `json` (one line), its answer.
    pub fn ask_as(&self, user: &OrdinaryUser, json: &serde_json::Value) -> serde_json::Value {
        let line = format!("{json}\n");
        let answer = self.hostile(user, &["ask"], line.as_bytes());
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
    }

    /// Started as a systemd socket unit starts it.
    pub fn start_activated(c: &Cluster, name: &str, policy: &str) -> Broker {
        Broker::make(c, name, policy, true)
    }

    fn make(c: &Cluster, name: &str, policy: &str, activated: bool) -> Broker {
        let tag = format!("kst-broker-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let admin = dir.join("admin.kubeconfig");
        std::fs::write(&admin, c.admin_yaml()).unwrap();
        std::fs::set_permissions(&admin, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut b = Broker::assemble(&tag, dir, admin, policy, activated, None);
        b.run();
        b
    }

    /// Run by an ordinary user (a person who lets an agent's uid ask),
    /// with the admin kubeconfig and its certificates in that user's
    /// directory, the socket in a directory of theirs under /tmp.
    pub fn start_as(c: &Cluster, name: &str, policy: &str, user: &OrdinaryUser) -> Broker {
        let tag = format!("kst-broker-{name}-{}", std::process::id());
        let dir = user.workdir(&tag);
        // The admin kubeconfig and its certificates, the user's own.
        for f in ["ca.crt", "admin.crt", "admin.key"] {
            user.copy_in(&c.pki().join(f), &dir);
        }
        let yaml = c
            .admin_yaml()
            .replace(c.pki().to_str().unwrap(), dir.to_str().unwrap());
        let admin = dir.join("admin.kubeconfig");
        std::fs::write(&admin, yaml).unwrap();
        user.give(&admin);
        let mut b = Broker::assemble(&tag, dir, admin, policy, false, Some(user));
        b.run();
        b
    }

    fn assemble(
        tag: &str,
        dir: PathBuf,
        admin: PathBuf,
        policy: &str,
        activated: bool,
        user: Option<&OrdinaryUser>,
    ) -> Broker {
        let policy_file = dir.join("policy.yaml");
        std::fs::write(&policy_file, policy).unwrap();
        let runtime = PathBuf::from("/dev/shm").join(tag);
        let _ = std::fs::remove_dir_all(&runtime);
        let socket_dir = match user {
            None => PathBuf::from("/run").join(tag),
            Some(_) => std::env::temp_dir().join(format!("{tag}-socket")),
        };
        let mints = vec![
            "--admin-context".into(),
            "admin".into(),
            "--kubeconfig".into(),
            admin.display().to_string(),
        ];
        let mut b = Broker {
            audit: dir.join("audit.jsonl"),
            dir,
            socket: socket_dir.join("broker.sock"),
            policy: policy_file,
            admin,
            runtime,
            child: None,
            activated,
            bin: PathBuf::from(&*super::BIN),
            env: Vec::new(),
            run_as: None,
            mints,
        };
        if let Some(u) = user {
            u.give(&b.policy);
            b.bin = u.binary_in(&b.dir);
            let _ = std::fs::remove_dir_all(&socket_dir);
            std::fs::create_dir_all(&socket_dir).unwrap();
            u.give(&socket_dir);
            std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            b.run_as = Some((u.uid, u.uid));
        }
        b
    }

    /// Restarts it with its store kept, running `bin` with `env` (cargo's
    /// dynamically linked build under libfaketime: its clock moved).
    pub fn restart_with(&mut self, bin: &str, env: &[(&str, &str)]) {
        self.stop();
        self.bin = PathBuf::from(bin);
        self.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.run();
    }

    /// Starts `serve` and waits (bounded) until it answers.
    fn run(&mut self) {
        std::fs::create_dir_all(&self.runtime).unwrap();
        std::fs::set_permissions(&self.runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&self.runtime, Some(uid), Some(gid)).unwrap();
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let mut cmd = if self.activated {
            let mut py = Command::new("python3");
            py.args(["-c", ACTIVATE]).arg(&self.socket).arg(&self.bin);
            py
        } else if let Some((uid, gid)) = self.run_as {
            // setpriv execs the program itself: the child is `serve`, and
            // SIGTERM reaches it.
            let mut sp = Command::new("setpriv");
            sp.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--init-groups")
                .arg("--")
                .arg(&self.bin);
            sp
        } else {
            Command::new(&self.bin)
        };
        // Activated, the path it is given is not where it listens.
        let socket = if self.activated {
            self.socket.with_extension("unused")
        } else {
            self.socket.clone()
        };
        // A hardened service's umask (systemd's UMask=0077): the socket
        // and its directory must still reach the clients.
        // SAFETY: umask is async-signal-safe; nothing else runs in the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::umask(0o077);
                Ok(())
            });
        }
        let child = cmd
            .args(["serve", "--cache", "tmpfs", "-v"])
            .args(&self.mints)
            .arg("--socket")
            .arg(&socket)
            .arg("--policy")
            .arg(&self.policy)
            .arg("--audit-log")
            .arg(&self.audit)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.dir)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        // Ready when it answers a status request (as root, its own account).
        let answers = |socket: &PathBuf| {
            let Ok(mut s) = UnixStream::connect(socket) else {
                return false;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            s.write_all(b"{\"v\":1,\"op\":\"status\"}\n").is_ok()
                && BufReader::new(s).read_line(&mut line).is_ok()
                && line.contains("\"status\"")
        };
        while !answers(&self.socket) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the broker did not listen within 20 s: {}",
                self.log()
            );
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the broker exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it as systemd would (SIGTERM) and waits for it to go.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "serve ended with {status}: {}",
                self.log()
            );
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Restarts it with an empty store: its next answer is a mint.
    pub fn restart_cold(&mut self) {
        self.stop();
        std::fs::remove_dir_all(&self.runtime).unwrap();
        self.run();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// The audit log's records.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// Sends `bytes` as they are and reads the answer line (bounded). A
    /// caller refused at the door is answered without being read: the
    /// write may then fail, and the answer is there all the same.
    pub fn raw(&self, bytes: &[u8]) -> serde_json::Value {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = s.write_all(bytes);
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.runtime);
        if let Some(d) = self.socket.parent() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
