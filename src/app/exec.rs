//! `exec IDENTITY -- COMMAND` and `shell`: any program as a ServiceAccount
//! (or X.509 user), without touching the user's kubeconfig. The credential
//! is obtained first (a refusal shows before COMMAND runs, with `get`'s
//! exit code); then COMMAND runs with `KUBECONFIG` naming a kubeconfig of
//! its own: one cluster, one user (the exec entry `setup` would write, so
//! the cache, refresh-ahead and self-healing work) and one current context
//! with the namespace, 0600 in a 0700 directory of the memory-backed
//! runtime directory, removed when COMMAND ends. Its exit status is ours.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::child::Relay;
use crate::clock::Clock;
use crate::error::Error;
use crate::options::{Format, GetOptions};

use super::admin_session::AdminSession;
use super::broker_cluster::command_info;
use super::get::obtain;

/// The variable COMMAND finds its identity in (for prompts), and by which
/// an `exec` inside another sees it.
pub const IDENTITY_ENV: &str = "KUBE_SA_TOKEN_IDENTITY";

/// Runs `command` as `opts`' identity; its exit status (as a shell gives
/// it). `allow_nested`: even inside an `exec` of another identity.
pub fn exec(
    opts: &GetOptions,
    command: &[OsString],
    allow_nested: bool,
    clock: &dyn Clock,
) -> Result<i32, Error> {
    let Some((program, args)) = command.split_first() else {
        return Err(Error::Usage(
            "which command? give it after --: kube-sa-token exec NS/SA -- kubectl get pods".into(),
        ));
    };
    // Inside another exec: the same identity (`NS/SA@CLUSTER`, compared
    // by who it is) is fine, another one is refused before anything else.
    let label = super::setup::identity_name(opts);
    if let Some(outer) = std::env::var(IDENTITY_ENV).ok().filter(|o| !o.is_empty())
        && outer
            .rsplit_once('@')
            .map_or(outer.as_str(), |(who, _)| who)
            != label
        && !allow_nested
    {
        return Err(Error::Refused(format!(
            "already inside `kube-sa-token exec` as {outer}: running {label} from there would mix two identities in one session; leave it first (exit), or pass --allow-nested"
        )));
    }
    // Before any thread starts (a mint may start some): see child.rs.
    let relay = Relay::start();
    // The options the command's exec entry runs with (naming the admin
    // kubeconfig): the credential obtained now is the one it finds cached.
    let (name, kubeconfig, opts) =
        super::kubeconfig_export::document(opts, false, None, Format::Yaml)?;
    let opts = &opts;
    // The credential before COMMAND: a refusal shows now, with its code.
    let info = command_info(&opts.spec)?;
    let session = AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
    obtain(opts, &info, clock, &session)?;
    let dir = private_dir()?;
    relay.remove_on_signal(dir.path.clone());
    let file = dir.path.join("kubeconfig");
    write_new(&file, &kubeconfig).map_err(|e| {
        Error::StoreUnusable(format!(
            "cannot write the command's kubeconfig {}: {e}",
            file.display()
        ))
    })?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("KUBECONFIG", &file)
        .env(IDENTITY_ENV, &name)
        // kubectl's own variable for plugins: not ours to pass on.
        .env_remove("KUBERNETES_EXEC_INFO");
    tracing::info!(
        "running {} as {name} (KUBECONFIG={})",
        program.to_string_lossy(),
        file.display()
    );
    let code = relay
        .run(&mut cmd)
        .map_err(|e| Error::Usage(format!("cannot run {}: {e}", program.to_string_lossy())));
    drop(dir);
    code
}

/// `shell`: the user's `$SHELL` (else /bin/sh) as `exec` runs a command.
pub fn shell(opts: &GetOptions, allow_nested: bool, clock: &dyn Clock) -> Result<i32, Error> {
    let shell = std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    exec(opts, &[shell], allow_nested, clock)
}

/// A directory of this run's own (0700) in the memory-backed runtime
/// directory, removed with what it holds when dropped.
struct PrivateDir {
    path: PathBuf,
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!("could not remove {}: {e}", self.path.display());
        }
    }
}

/// The memory-backed runtime directory (`cache::runtime_dir`).
fn runtime_base() -> Result<PathBuf, Error> {
    Ok(crate::cache::runtime_dir()
        .map_err(|e| {
            Error::StoreUnusable(format!(
                "exec keeps the command's kubeconfig in memory only, and found no memory-backed directory: {e}"
            ))
        })?
        .dir)
}

fn private_dir() -> Result<PrivateDir, Error> {
    let base = runtime_base()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let path = base.join(format!(
            "exec-{}-{:x}",
            std::process::id(),
            nanos.wrapping_add(attempt)
        ));
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        match b.create(&path) {
            Ok(()) => return Ok(PrivateDir { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::StoreUnusable(format!(
                    "cannot make a directory for the command's kubeconfig in {}: {e}",
                    base.display()
                )));
            }
        }
    }
    Err(Error::StoreUnusable(format!(
        "cannot make a directory of its own for the command's kubeconfig in {}",
        base.display()
    )))
}

/// Writes `bytes` to a new file `path` (never an existing one), 0600.
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The directory `--print-env` keeps an identity's kubeconfig in: one per
/// identity (its name's SHA-256), so that `eval` again reuses it.
fn env_dir(base: &Path, name: &str) -> PathBuf {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(name.as_bytes());
    base.join(format!("env-{}", crate::hex::hex(&digest[..8])))
}

/// `exec --print-env`: the credential obtained, the identity's kubeconfig
/// kept in the memory-backed runtime directory, and the shell lines that
/// point KUBECONFIG at it (fish's syntax when $SHELL is fish, else POSIX).
pub fn print_env(opts: &GetOptions, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let (name, kubeconfig, opts) =
        super::kubeconfig_export::document(opts, false, None, Format::Yaml)?;
    let info = command_info(&opts.spec)?;
    let session = AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
    obtain(&opts, &info, clock, &session)?;
    let dir = env_dir(&runtime_base()?, &name);
    let _ = std::fs::remove_dir_all(&dir);
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(&dir)
        .and_then(|()| write_new(&dir.join("kubeconfig"), &kubeconfig))
        .map_err(|e| {
            Error::StoreUnusable(format!(
                "cannot keep the kubeconfig in {}: {e}",
                dir.display()
            ))
        })?;
    let file = dir.join("kubeconfig").display().to_string();
    let fish = std::env::var("SHELL").is_ok_and(|s| s.ends_with("/fish") || s == "fish");
    for (var, value) in [("KUBECONFIG", file.as_str()), (IDENTITY_ENV, name.as_str())] {
        if fish {
            writeln!(out, "set -gx {var} {};", quote(value))?;
        } else {
            writeln!(out, "export {var}={};", quote(value))?;
        }
    }
    eprintln!(
        "# {name}: KUBECONFIG={file} (in memory until `kube-sa-token exec --clean` or reboot)"
    );
    Ok(())
}

/// `exec --clean`: removes what `--print-env` kept, and what an `exec`
/// killed outright (SIGKILL) could not remove.
pub fn clean(out: &mut dyn Write) -> Result<(), Error> {
    let base = runtime_base()?;
    let mut removed = 0;
    for e in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // An exec's own, whose process is gone (killed outright); where
        // /proc does not say, none.
        let stale_exec = cfg!(target_os = "linux")
            && name
                .strip_prefix("exec-")
                .and_then(|rest| rest.split('-').next()?.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if (name.starts_with("env-") || stale_exec) && std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    writeln!(
        out,
        "removed {} from {}",
        crate::wording::counted(removed, "kubeconfig"),
        base.display()
    )?;
    Ok(())
}

/// A value in single quotes, for sh and fish alike.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}
