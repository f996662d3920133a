//! Shared test harness: a [`TestEnv`] gives every test its own HOME, XDG
//! directories and KUBECONFIG, and removes this tool's environment variables,
//! so no test sees the developer's keyring, cache or clusters.

// Used by the end-to-end tests (Linux) only.
#[cfg(target_os = "linux")]
pub mod broker;
#[cfg(target_os = "linux")]
pub mod cluster;
pub mod fake_api;
#[cfg(target_os = "linux")]
pub mod proxy;
#[cfg(target_os = "linux")]
pub mod user;
#[cfg(target_os = "linux")]
pub mod vault;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test: cargo's build of it, or the optimized one that
/// tests/run.sh builds and names in KUBE_SA_TOKEN_TEST_BIN.
pub static BIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("KUBE_SA_TOKEN_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kube-sa-token").to_string())
});

/// Copies the program `built` (the front binary kubectl runs) and the full
/// program beside it (`kube-sa-token-full`, which it runs for everything
/// but a cache hit) into `dir`, the front as `name`; returns its path.
#[cfg(unix)]
pub fn copy_program(built: &str, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(built, &to).unwrap();
    let full = Path::new(built).with_file_name(format!(
        "kube-sa-token-full{}",
        std::env::consts::EXE_SUFFIX
    ));
    std::fs::copy(&full, dir.join(full.file_name().unwrap())).unwrap();
    to
}

/// Variables of ours (and of the protocol) that must not leak into a test.
const SCRUBBED: &[&str] = &[
    "KUBE_SA_TOKEN_CHAIN",
    "KUBERNETES_EXEC_INFO",
    "KUBECONFIG",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "KUBE_SA_TOKEN_TEST_BIN",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_CACERT",
    "VAULT_NAMESPACE",
    "BAO_ADDR",
    "BAO_TOKEN",
    "BAO_CACERT",
    "ALL_PROXY",
    "all_proxy",
];

pub struct TestEnv {
    dir: tempfile::TempDir,
    /// The env's own memory-backed runtime directory (its
    /// XDG_RUNTIME_DIR): a private tmpfs directory, as logind gives a
    /// session, so that envs do not share their stores' bookkeeping.
    runtime: tempfile::TempDir,
    pub home: PathBuf,
    pub kubeconfig: PathBuf,
    /// Extra environment for every command run in this env.
    pub env: Vec<(String, String)>,
}

pub struct TestEnvBuilder {
    kubeconfig: Option<String>,
}

impl TestEnvBuilder {
    /// The content of the env's KUBECONFIG file.
    pub fn kubeconfig(mut self, yaml: impl Into<String>) -> Self {
        self.kubeconfig = Some(yaml.into());
        self
    }

    pub fn build(self) -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("kst-test-")
            .tempdir()
            .unwrap();
        let home = dir.path().join("home");
        for d in [".cache", ".config", ".local/share", ".kube"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        let kubeconfig = home.join(".kube/config");
        if let Some(k) = self.kubeconfig {
            std::fs::write(&kubeconfig, k).unwrap();
        }
        #[cfg(target_os = "linux")]
        let runtime = tempfile::Builder::new()
            .prefix("kst-run-")
            .tempdir_in("/dev/shm")
            .unwrap();
        #[cfg(not(target_os = "linux"))]
        let runtime = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        TestEnv {
            dir,
            runtime,
            home,
            kubeconfig,
            env: Vec::new(),
        }
    }
}

impl TestEnv {
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder { kubeconfig: None }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Applies the env's isolation to any command.
    pub fn isolate(&self, cmd: &mut Command) {
        for v in SCRUBBED {
            cmd.env_remove(v);
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("KUBECONFIG", &self.kubeconfig)
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::null());
    }

    /// Our binary.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&*BIN);
        c.args(args);
        self.isolate(&mut c);
        c
    }

    /// Our binary with its wall clock moved by `offset` ("+2m", "-5m"); see
    /// [`faketime`].
    pub fn cmd_at(&self, offset: &str, args: &[&str]) -> Command {
        let (bin, env) = faketime(offset);
        let mut c = Command::new(bin);
        c.args(args);
        self.isolate(&mut c);
        c.envs(env);
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out::from(self.cmd(args).output().unwrap())
    }

    /// [`TestEnv::run`] with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Out {
        use std::io::Write;
        let mut c = self.cmd(args);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        Out::from(child.wait_with_output().unwrap())
    }

    /// `get` with a KUBERNETES_EXEC_INFO value (None: variable unset).
    pub fn get(&self, exec_info: Option<&str>, args: &[&str]) -> Out {
        let mut full = vec!["get"];
        full.extend_from_slice(args);
        let mut c = self.cmd(&full);
        if let Some(info) = exec_info {
            c.env("KUBERNETES_EXEC_INFO", info);
        }
        Out::from(c.output().unwrap())
    }

    /// `get` under libfaketime, its clock moved by `offset` ("+2m", "-5m").
    pub fn get_at(&self, offset: &str, exec_info: &str, args: &[&str]) -> Out {
        let mut c = self.cmd_at(offset, &[&["get"][..], args].concat());
        c.env("KUBERNETES_EXEC_INFO", exec_info);
        Out::from(c.output().unwrap())
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home.join(".cache/kube-sa-token")
    }

    /// The env's memory-backed directory (`--cache tmpfs`, and the
    /// bookkeeping of every store).
    pub fn runtime_dir(&self) -> PathBuf {
        self.runtime.path().join("kube-sa-token")
    }

    /// Every file under the cache dir and the runtime dir with its content,
    /// for "left intact" checks.
    pub fn cache_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        fn walk(d: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            let Ok(rd) = std::fs::read_dir(d) else { return };
            for e in rd.flatten() {
                let p = e.path();
                // Failure records (backoff) are bookkeeping of failed
                // calls, not cache content: left out, like locks.
                if p.is_dir() && p.file_name().is_some_and(|n| n == "failed") {
                    continue;
                }
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_none_or(|x| x != "lock") {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        walk(&self.cache_dir(), &mut out);
        walk(&self.runtime_dir(), &mut out);
        out.sort();
        out
    }
}

/// Our binary and the environment that move its wall clock by `offset`
/// ("+25m", "-5m") with libfaketime (Debian package faketime), its monotonic
/// clock left alone.
///
/// libfaketime is preloaded, so it needs the dynamic loader: the installed
/// build (static-pie, [`BIN`] under tests/run.sh) has none and would run at
/// the real time. These tests run cargo's build of the same code instead,
/// which is linked dynamically ([`FAKETIME_BIN`]).
///
/// The library is preloaded directly rather than through the `faketime`
/// command, which waits for every descendant of the program: a detached
/// background refresh would hold it, and kubectl behind it, open. (The
/// wrapper also names a semaphore in /dev/shm after its PID and fails when a
/// wrapper killed earlier left one under a PID now reused.)
pub fn faketime(offset: &str) -> (&'static str, [(&'static str, String); 3]) {
    (
        FAKETIME_BIN,
        [
            ("LD_PRELOAD", libfaketime().to_string()),
            ("FAKETIME", offset.to_string()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
        ],
    )
}

/// Our binary as cargo builds it for the tests: dynamically linked, so that
/// libfaketime can be preloaded into it.
pub const FAKETIME_BIN: &str = env!("CARGO_BIN_EXE_kube-sa-token");

/// The path of libfaketime.so.1, for preloading.
pub fn libfaketime() -> &'static str {
    static LIB: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let found = std::fs::read_dir("/usr/lib")
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.path().join("faketime/libfaketime.so.1"))
            .find(|p| p.exists());
        found
            .expect("libfaketime.so.1 under /usr/lib/*/faketime (Debian package libfaketime)")
            .display()
            .to_string()
    });
    &LIB
}

/// A finished process, with its output as text.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Out {
    /// The part of stdout a script printed after its `--- NAME` line, up
    /// to the next `---` (empty when there is none).
    #[cfg(target_os = "linux")]
    pub fn section(&self, name: &str) -> String {
        let text = self
            .stdout
            .split(&format!("--- {name}\n"))
            .nth(1)
            .unwrap_or_default();
        text.split("---").next().unwrap_or_default().to_string()
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(&self, needle: &str) -> &Self {
        assert_ne!(
            self.code, 0,
            "expected failure\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {}",
            self.stderr
        );
        assert_eq!(
            self.stderr.trim().lines().count(),
            1,
            "errors are one line: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "nothing on stdout on failure: {}",
            self.stdout
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Mints a real RS256 JWT with the test key.
pub fn jwt(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "../../fixtures/test-signing-key.pem"
    ))
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test".into());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A command prefix that runs its arguments on a private session bus where
/// gnome-keyring is ready (tests/integration/support/secret-service.sh): its login
/// collection unlocked, or locked with `locked`. Isolate it with a TestEnv.
#[cfg(target_os = "linux")]
pub fn secret_service(locked: bool) -> Command {
    let mut c = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/support/secret-service.sh"
    ));
    if locked {
        c.arg("--locked");
    }
    c.arg("--");
    c
}

/// Runs its arguments with keyctl blocked by seccomp, as containers do
/// (`no-keyctl.py [--errno ENOSYS] COMMAND...`).
#[cfg(target_os = "linux")]
pub const NO_KEYCTL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/integration/support/no-keyctl.py"
);

/// KUBERNETES_EXEC_INFO for `server` with the CA in `ca` (a PEM file), as
/// kubectl sends it with `provideClusterInfo: true`.
#[cfg(target_os = "linux")]
pub fn exec_info_with_ca(version: &str, server: &str, ca: &Path) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(std::fs::read(ca).unwrap());
    serde_json::json!({"kind": "ExecCredential", "apiVersion": format!("client.authentication.k8s.io/{version}"),
        "spec": {"interactive": false, "cluster": {"server": server, "certificate-authority-data": data}}})
    .to_string()
}

pub fn exec_info(version: &str, server: Option<&str>) -> String {
    let cluster = server
        .map(|s| format!(r#","cluster":{{"server":"{s}","config":null}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/{version}","spec":{{"interactive":false{cluster}}}}}"#
    )
}
