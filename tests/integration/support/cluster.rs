//! The real test control plane started by tests/cluster/up.sh, as the
//! end-to-end tests see it (through the `env` file's variables).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Out, TestEnv};

pub const IGNORE_REASON: &str = "needs the test control plane: run tests/run.sh, or tests/cluster/up.sh then `. target/test-cluster/env && cargo test --test integration -- --include-ignored --test-threads=1 e2e::`";

pub struct Cluster {
    pub dir: PathBuf,
    pub server: String,
    /// Directory of kubectl, kube-apiserver, kube-controller-manager, etcd.
    pub bin: PathBuf,
    pub admin_kubeconfig: PathBuf,
}

/// A second control plane (its own CA, serving certificate and
/// service-account signing key), started by tests/cluster/up.sh into its own
/// state directory and stopped when dropped.
pub struct SecondCluster {
    pub cluster: Cluster,
}

impl SecondCluster {
    pub fn start(name: &str) -> SecondCluster {
        let first = Cluster::get();
        let dir = first.dir.with_file_name(format!(
            "{}-{name}",
            first.dir.file_name().unwrap().to_string_lossy()
        ));
        let up = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/up.sh");
        let out = Command::new(&up)
            .env("TEST_CLUSTER_DIR", &dir)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "second cluster did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let var = |k: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {k}='"))?.strip_suffix('\''))
                .unwrap_or_else(|| panic!("{k} missing in {}", dir.display()))
                .to_string()
        };
        SecondCluster {
            cluster: Cluster {
                server: var("TEST_CLUSTER_SERVER"),
                bin: PathBuf::from(var("TEST_CLUSTER_BIN")),
                admin_kubeconfig: dir.join("admin.kubeconfig"),
                dir,
            },
        }
    }
}

impl Drop for SecondCluster {
    fn drop(&mut self) {
        let down = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/down.sh");
        let _ = Command::new(down)
            .env("TEST_CLUSTER_DIR", &self.cluster.dir)
            .output();
    }
}

impl Cluster {
    /// The running cluster; panics with instructions when there is none.
    pub fn get() -> Cluster {
        let var = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: {IGNORE_REASON}"))
        };
        let dir = PathBuf::from(var("TEST_CLUSTER_DIR"));
        Cluster {
            server: var("TEST_CLUSTER_SERVER"),
            bin: PathBuf::from(var("TEST_CLUSTER_BIN")),
            admin_kubeconfig: dir.join("admin.kubeconfig"),
            dir,
        }
    }

    pub fn kubectl_path(&self) -> PathBuf {
        self.bin.join("kubectl")
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    /// kubectl as the cluster admin.
    pub fn admin(&self, args: &[&str]) -> Out {
        let mut c = Command::new(self.kubectl_path());
        c.arg("--kubeconfig").arg(&self.admin_kubeconfig).args(args);
        c.env_remove("KUBECONFIG");
        Out::from(c.output().unwrap())
    }

    /// A fresh namespace with ServiceAccount `viewer` bound to `view`.
    pub fn namespace(&self, prefix: &str) -> String {
        // Unique per run: the test cluster runs no namespace controller, so
        // namespaces are never deleted, only left behind.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let ns = format!("{prefix}-{}-{:x}", std::process::id(), nanos & 0xfff_fff);
        self.admin(&["create", "namespace", &ns]).ok();
        self.admin(&["-n", &ns, "create", "serviceaccount", "viewer"])
            .ok();
        self.admin(&[
            "-n",
            &ns,
            "create",
            "rolebinding",
            "viewer-view",
            "--clusterrole=view",
            "--serviceaccount",
            &format!("{ns}:viewer"),
        ])
        .ok();
        // The API server authorizes from an informer's copy of the
        // bindings: wait until it has this one, so that the first request
        // as the ServiceAccount is never refused for a binding still on
        // its way (bounded; the same authorizer answers `auth can-i`).
        let subject = format!("system:serviceaccount:{ns}:viewer");
        assert!(
            eventually(Duration::from_secs(20), || {
                self.admin(&[
                    "auth",
                    "can-i",
                    "list",
                    "serviceaccounts",
                    "-n",
                    &ns,
                    "--as",
                    &subject,
                ])
                .stdout
                .trim()
                    == "yes"
            }),
            "the view binding of {subject} did not take effect within 20 s"
        );
        ns
    }

    pub fn pki(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// The port of the API server.
    pub fn port(&self) -> u16 {
        self.server.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A bearer token with cluster-admin rights for an admin context that is
    /// not a client certificate: ServiceAccount `minter` in `ns`.
    pub fn minter_token(&self, ns: &str) -> String {
        self.admin(&["-n", ns, "create", "serviceaccount", "minter"])
            .ok();
        self.admin(&[
            "create",
            "clusterrolebinding",
            &format!("{ns}-minter"),
            "--clusterrole=cluster-admin",
            &format!("--serviceaccount={ns}:minter"),
        ])
        .ok();
        let out = self.admin(&["-n", ns, "create", "token", "minter", "--duration", "2h"]);
        out.ok();
        out.stdout.trim().to_string()
    }

    /// Stops the API server (SIGSTOP) until the guard is dropped: it accepts
    /// connections and answers nothing.
    pub fn freeze(&self) -> Frozen {
        let pids = std::fs::read_to_string(self.dir.join("pids")).unwrap();
        let pid = pids
            .lines()
            .find_map(|l| l.strip_prefix("kube-apiserver "))
            .expect("kube-apiserver in the pids file")
            .trim()
            .to_string();
        assert!(
            Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap()
                .success()
        );
        Frozen(pid)
    }

    /// TokenRequests the API server has answered so far (any code).
    pub fn token_requests(&self) -> u64 {
        self.requests("serviceaccounts", Some("token"), "POST")
    }

    /// Requests for `resource` (and `subresource`) with `verb` the API
    /// server has answered so far, any code (`apiserver_request_total`).
    pub fn requests(&self, resource: &str, subresource: Option<&str>, verb: &str) -> u64 {
        let out = self.admin(&["get", "--raw", "/metrics"]);
        out.ok();
        let resource = format!("resource=\"{resource}\"");
        let subresource = format!("subresource=\"{}\"", subresource.unwrap_or(""));
        let verb = format!("verb=\"{verb}\"");
        out.stdout
            .lines()
            .filter(|l| {
                l.starts_with("apiserver_request_total{")
                    && l.contains(&resource)
                    && l.contains(&subresource)
                    && l.contains(&verb)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// TokenRequests after the counter has settled.
    pub fn token_requests_settled(&self) -> u64 {
        settled(|| self.token_requests())
    }

    /// CertificateSigningRequests created so far, after the counter has settled.
    pub fn csr_creates_settled(&self) -> u64 {
        settled(|| self.requests("certificatesigningrequests", None, "POST"))
    }

    /// The admin kubeconfig as up.sh wrote it (context "admin"). Built
    /// here rather than copied: a user may have added entries to the file
    /// (the README quickstart runs `setup` on it).
    pub fn admin_yaml(&self) -> String {
        let pki = self.dir.join("pki");
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority: {}\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user:\n    client-certificate: {}\n    client-key: {}\n",
            self.server,
            pki.join("ca.crt").display(),
            pki.join("admin.crt").display(),
            pki.join("admin.key").display()
        )
    }

    /// An env whose kubeconfig is the admin kubeconfig.
    pub fn admin_env(&self) -> TestEnv {
        TestEnv::builder().kubeconfig(self.admin_yaml()).build()
    }

    /// An env whose kubeconfig is the admin kubeconfig plus a user + context
    /// `sa` whose exec entry runs `get` with `args`.
    pub fn env(&self, exec_version: &str, get_args: &[&str]) -> TestEnv {
        TestEnv::builder()
            .kubeconfig(self.kubeconfig_with_exec("sa", exec_version, get_args, &self.server))
            .build()
    }

    pub fn kubeconfig_with_exec(
        &self,
        name: &str,
        exec_version: &str,
        get_args: &[&str],
        server: &str,
    ) -> String {
        let admin = self.admin_yaml();
        let mut args = vec![
            "get",
            "--kubeconfig",
            self.admin_kubeconfig.to_str().unwrap(),
        ];
        args.extend_from_slice(get_args);
        let args_yaml: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&admin).unwrap();
        let extra: serde_yaml::Value = serde_yaml::from_str(&format!(
            r#"
cluster: {{name: {name}-cluster, cluster: {{server: "{server}", certificate-authority: "{ca}"}}}}
context: {{name: {name}, context: {{cluster: {name}-cluster, user: {name}}}}}
user:
  name: {name}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/{exec_version}
      command: "{bin}"
      args: [{args}]
      interactiveMode: Never
      provideClusterInfo: true
"#,
            ca = self.ca().display(),
            bin = &*super::BIN,
            args = args_yaml.join(", ")
        ))
        .unwrap();
        for (list, item) in [
            ("clusters", "cluster"),
            ("contexts", "context"),
            ("users", "user"),
        ] {
            doc[list]
                .as_sequence_mut()
                .unwrap()
                .push(extra[item].clone());
        }
        serde_yaml::to_string(&doc).unwrap()
    }

    /// kubectl (any binary) in `env`.
    pub fn kubectl_in(&self, env: &TestEnv, kubectl: &Path, args: &[&str]) -> Out {
        let mut c = Command::new(kubectl);
        c.args(args);
        env.isolate(&mut c);
        Out::from(c.output().unwrap())
    }

    /// `n` kubectl processes with `args` in `env`, all started before any
    /// is waited for.
    pub fn kubectl_concurrently(&self, env: &TestEnv, n: usize, args: &[&str]) -> Vec<Out> {
        let children: Vec<_> = (0..n)
            .map(|_| {
                let mut k = Command::new(self.kubectl_path());
                k.args(args);
                env.isolate(&mut k);
                k.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children
            .into_iter()
            .map(|child| Out::from(child.wait_with_output().unwrap()))
            .collect()
    }

    pub fn kubectl(&self, env: &TestEnv, args: &[&str]) -> Out {
        self.kubectl_in(env, &self.kubectl_path(), args)
    }
}

/// A stopped API server; continued when dropped (also when a test fails).
pub struct Frozen(String);

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0]).status();
    }
}

/// A request counter once it has settled (metrics are recorded as the
/// response is written, so wait until two reads agree).
fn settled(count: impl Fn() -> u64) -> u64 {
    let mut last = count();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = count();
        if now == last {
            return now;
        }
        last = now;
    }
}

/// Polls `f` until it returns true or `limit` passes.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    false
}
