//! Runs the admin context's exec plugin (gcloud, `aws eks get-token`,
//! kubelogin, ...) once, the way client-go runs it, and hands kube the
//! credential it printed. kube-rs would run the plugin three times for every
//! client it builds (TLS identity, auth layer, expiry) and quote its output
//! in errors; here it runs once per process, and no message ever holds what
//! the plugin printed on stdout.

use std::io::IsTerminal;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use kube::config::{Cluster, ExecConfig, ExecInteractiveMode};
use serde::Deserialize;

use crate::protocol::{EXEC_INFO_ENV, V1, V1BETA1};
use crate::secret::Token;

/// What an exec plugin authenticates with.
pub(super) enum Credential {
    Token(Token),
    /// PEM certificate and key.
    Certificate {
        cert: String,
        key: Token,
    },
}

#[derive(Deserialize)]
struct Output {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Status {
    token: Option<Token>,
    #[serde(rename = "clientCertificateData")]
    client_certificate_data: Option<String>,
    #[serde(rename = "clientKeyData")]
    client_key_data: Option<Token>,
}

/// The `spec.cluster` the plugin gets with `provideClusterInfo: true`.
fn cluster_info(cluster: &Cluster, ca_pem: Option<&[u8]>) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let config = cluster
        .extensions
        .iter()
        .flatten()
        .find(|e| e.name == "client.authentication.k8s.io/exec")
        .map(|e| e.extension.clone());
    serde_json::json!({
        "server": cluster.server,
        "tls-server-name": cluster.tls_server_name,
        "insecure-skip-tls-verify": cluster.insecure_skip_tls_verify.unwrap_or(false),
        "certificate-authority-data": ca_pem.map(|p| b64.encode(p)),
        "proxy-url": cluster.proxy_url,
        "disable-compression": cluster.disable_compression.unwrap_or(false),
        "config": config,
    })
}

/// Runs `exec` for the admin context and returns its credential. `chain`
/// (the recursion guard's) goes into the plugin's environment only. The
/// plugin's stderr is the user's, as with kubectl; `Err` is a one-line
/// description without the plugin's output. `headless` (a background
/// refresh or the broker, which nobody watches): a plugin that may prompt
/// is not run, and one still running at that deadline is ended with its
/// process group.
pub(super) fn run(
    exec: &ExecConfig,
    cluster: &Cluster,
    ca_pem: Option<&[u8]>,
    chain: Option<&str>,
    headless: Option<Instant>,
) -> Result<Credential, String> {
    let command = exec
        .command
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or("its exec entry has no command")?;
    // kubectl's credential plugin policy: a plugin kubectl would not run,
    // we do not run either (refused in kubectl's words).
    if let Some(policy) = crate::kuberc::load().map_err(|e| e.to_string())? {
        policy.check(command)?;
    }
    let api_version = match exec.api_version.as_deref() {
        Some(v @ (V1 | V1BETA1)) => v,
        other => {
            return Err(format!(
                "its exec entry's apiVersion {:?} is not supported; use {V1}",
                other.unwrap_or_default()
            ));
        }
    };
    let mode = match (&exec.interactive_mode, api_version) {
        (Some(m), _) => m.clone(),
        (None, V1) => {
            return Err(
                "its exec entry (apiVersion v1) must set interactiveMode (Never, IfAvailable or Always)"
                    .into(),
            );
        }
        (None, _) => ExecInteractiveMode::IfAvailable,
    };
    if headless.is_some() && !matches!(mode, ExecInteractiveMode::Never) {
        // A device-code or browser login would wait unseen, holding the
        // entry's lock: only `interactiveMode: Never` runs in the background.
        return Err(format!(
            "its exec plugin may prompt (interactiveMode: {}), so a background refresh does not run it; the next mint runs in the foreground, where its prompt is seen (set interactiveMode: Never if it never prompts)",
            match mode {
                ExecInteractiveMode::Always => "Always",
                _ if exec.interactive_mode.is_none() => "unset, so IfAvailable",
                _ => "IfAvailable",
            }
        ));
    }
    let terminal = std::io::stdin().is_terminal();
    let interactive = match mode {
        ExecInteractiveMode::Never => false,
        ExecInteractiveMode::IfAvailable => terminal,
        ExecInteractiveMode::Always if terminal => true,
        ExecInteractiveMode::Always => {
            return Err(
                "its exec plugin needs a terminal (interactiveMode: Always) and there is none; log in with it once in a terminal, or use an admin context that can run headless"
                    .into(),
            );
        }
    };
    let mut spec = serde_json::json!({ "interactive": interactive });
    if exec.provide_cluster_info {
        spec["cluster"] = cluster_info(cluster, ca_pem);
    }
    let info = serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": spec,
    });

    let mut cmd = Command::new(command);
    cmd.args(exec.args.iter().flatten());
    for var in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (var.get("name"), var.get("value")) {
            cmd.env(name, value);
        }
    }
    cmd.env(EXEC_INFO_ENV, info.to_string());
    if let Some(chain) = chain {
        cmd.env(crate::guard::CHAIN_ENV, chain);
    }
    cmd.stdin(if interactive {
        Stdio::inherit()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    tracing::debug!(command, "running the admin context's exec plugin");
    let out = match headless {
        None => cmd.output(),
        Some(deadline) => match output_until(&mut cmd, deadline) {
            Ok(out) => Ok(out),
            Err(Late::Io(e)) => Err(e),
            Err(Late::Killed(after)) => {
                return Err(format!(
                    "its exec plugin {command:?} did not finish within {}s; it was ended, with its process group",
                    after.as_secs()
                ));
            }
        },
    };
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = exec
                .install_hint
                .as_deref()
                .map(|h| format!(" ({})", h.split_whitespace().collect::<Vec<_>>().join(" ")))
                .unwrap_or_default();
            return Err(format!("its exec plugin {command:?} was not found{hint}"));
        }
        Err(e) => {
            return Err(format!(
                "its exec plugin {command:?} could not be started: {e}"
            ));
        }
    };
    if !out.status.success() {
        let status = match out.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "a signal".into(),
        };
        return Err(format!(
            "its exec plugin {command:?} failed with {status} (its own messages, if any, are above)"
        ));
    }
    let parsed: Output = match serde_json::from_slice(&out.stdout) {
        Ok(o) => o,
        Err(json) => serde_yaml::from_slice(&out.stdout).map_err(|_| {
            format!(
                "its exec plugin {command:?} did not print an ExecCredential on stdout ({})",
                crate::parse_error::json(&json)
            )
        })?,
    };
    if parsed.kind.as_deref() != Some("ExecCredential") {
        return Err(format!(
            "its exec plugin {command:?} printed a {:?}, not an ExecCredential",
            parsed.kind.unwrap_or_default()
        ));
    }
    if parsed.api_version.as_deref() != Some(api_version) {
        return Err(format!(
            "its exec plugin {command:?} answered in apiVersion {:?}, but its exec entry asks for {api_version}",
            parsed.api_version.unwrap_or_default()
        ));
    }
    let status = parsed
        .status
        .ok_or_else(|| format!("its exec plugin {command:?} returned no status"))?;
    match (
        status.token,
        status.client_certificate_data,
        status.client_key_data,
    ) {
        (_, Some(cert), Some(key)) => Ok(Credential::Certificate { cert, key }),
        (_, Some(_), None) | (_, None, Some(_)) => Err(format!(
            "its exec plugin {command:?} returned only a certificate or only a key, not both"
        )),
        (Some(token), None, None) if !token.expose().is_empty() => Ok(Credential::Token(token)),
        _ => Err(format!(
            "its exec plugin {command:?} returned neither a token nor a certificate and key"
        )),
    }
}

/// Why a headless plugin gave no output.
enum Late {
    /// Still running at the deadline (after so long): killed.
    Killed(Duration),
    Io(std::io::Error),
}

/// `cmd.output()`, in a process group of its own, until `deadline`: then the
/// whole group (the plugin and whatever it started) is killed.
fn output_until(cmd: &mut Command, deadline: Instant) -> Result<std::process::Output, Late> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(Late::Io)?;
    let mut stdout = child.stdout.take();
    // Read on a thread: a plugin that fills the pipe must not stall.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = std::io::Read::read_to_end(out, &mut buf);
        }
        let _ = tx.send(buf);
    });
    let stdout = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    loop {
        if let (Ok(stdout), Some(status)) = (&stdout, child.try_wait().map_err(Late::Io)?) {
            return Ok(std::process::Output {
                status,
                stdout: stdout.clone(),
                stderr: Vec::new(),
            });
        }
        if stdout.is_err() || Instant::now() >= deadline {
            kill_group(&mut child);
            return Err(Late::Killed(started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: signals the process group the child leads (made above).
        unsafe { libc::killpg(pid, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(mode: &str) -> ExecConfig {
        serde_yaml::from_str(&format!(
            "apiVersion: client.authentication.k8s.io/v1beta1\ncommand: /nonexistent/kube-sa-token-test-login\n{mode}"
        ))
        .unwrap()
    }

    /// Issue 32, finding 12: a headless plugin still running at its
    /// deadline is killed with everything it started (its process group).
    #[cfg(unix)]
    #[test]
    fn a_hung_plugin_is_ended_with_its_process_group() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("login");
        let child = dir.path().join("child.pid");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 300 &\necho $! > {}\nwait\n",
                child.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let exec: ExecConfig = serde_yaml::from_str(&format!(
            "apiVersion: client.authentication.k8s.io/v1\ncommand: {}\ninteractiveMode: Never\n",
            script.display()
        ))
        .unwrap();
        let started = Instant::now();
        let err = run(
            &exec,
            &Cluster::default(),
            None,
            None,
            Some(started + Duration::from_millis(700)),
        )
        .err()
        .unwrap();
        assert!(
            err.contains("did not finish within") && err.contains("process group"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid = std::fs::read_to_string(&child).unwrap();
        let gone = (0..200).any(|_| {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
            let done = stat.is_err()
                || stat
                    .unwrap()
                    .rsplit(')')
                    .next()
                    .unwrap()
                    .trim_start()
                    .starts_with('Z');
            if !done {
                std::thread::sleep(Duration::from_millis(10));
            }
            done
        });
        assert!(gone, "the plugin's child outlived the deadline");
    }

    /// Issue 17, finding 5: a background refresh never runs an admin login
    /// that may prompt; one that never prompts is run (here: not found).
    #[test]
    fn headless_runs_only_plugins_that_never_prompt() {
        let cluster = Cluster::default();
        for mode in [
            "interactiveMode: Always",
            "interactiveMode: IfAvailable",
            "",
        ] {
            let err = run(
                &exec(mode),
                &cluster,
                None,
                None,
                Some(Instant::now() + Duration::from_secs(5)),
            )
            .err()
            .unwrap();
            assert!(err.contains("may prompt"), "{mode}: {err}");
        }
        let err = run(
            &exec("interactiveMode: Never"),
            &cluster,
            None,
            None,
            Some(Instant::now() + Duration::from_secs(5)),
        )
        .err()
        .unwrap();
        assert!(err.contains("was not found"), "{err}");
    }
}
