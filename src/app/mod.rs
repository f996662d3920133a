//! The use cases, one file per command: each turns plain inputs
//! ([`crate::options`]) into output.

mod admin_session;
mod background;
mod cache_check;
mod cache_cmd;
mod doctor;
mod get_token;
mod inspect;
mod kubeconfig_export;
mod logout;
mod mint;
mod minter;
mod ports;
mod refresh_ahead;
mod setup;
mod verdict;
mod whoami;

use std::io::Write;
use std::path::PathBuf;

use crate::cache::CacheKey;
use crate::clock::SystemClock;
use crate::cluster_identity::ClusterIdentity;
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{Command, TokenSpec};

/// Runs one command, writing its output to `out`.
pub fn dispatch(cmd: Command, out: &mut dyn Write) -> Result<(), Error> {
    let clock = SystemClock;
    match cmd {
        Command::Get(opts) => {
            let json = get_token::get(&opts, &clock)?;
            writeln!(out, "{json}")?;
        }
        Command::Refresh(opts) => refresh_ahead::refresh(&opts, &clock)?,
        Command::Setup {
            opts,
            context_name,
            dry_run,
        } => setup::setup(&opts, context_name.as_deref(), dry_run, out)?,
        Command::Kubeconfig {
            opts,
            embed_token,
            context_name,
        } => kubeconfig_export::export(&opts, embed_token, context_name.as_deref(), out)?,
        Command::Inspect {
            input,
            kubeconfig,
            admin_context,
            verify,
            format,
        } => inspect::inspect(
            inspect::Request {
                input: &input,
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                verify,
                format,
            },
            &clock,
            out,
        )?,
        Command::Whoami { opts, format } => whoami::whoami(&opts, format, &clock, out)?,
        Command::CacheList { format, check } => cache_cmd::list(format, check, &clock, out)?,
        Command::CacheClear { key } => cache_cmd::clear(key.as_deref(), out)?,
        Command::Logout { opts } => logout::logout(&opts, &clock, out)?,
        Command::Doctor {
            kubeconfig,
            admin_context,
            namespace,
            cache,
            parse_get,
        } => doctor::doctor(
            doctor::Request {
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                namespace: &namespace,
                cache,
                parse_get,
            },
            out,
        )?,
    }
    out.flush()?;
    Ok(())
}

/// The admin context's cluster from the kubeconfig (no client built).
fn admin_cluster(spec: &TokenSpec) -> Result<ClusterIdentity, Error> {
    let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
    Ok(kc.cluster_identity(&spec.admin_context)?)
}

/// The cache key of the token `spec` describes for `cluster`: the admin
/// context is read from the kubeconfig files kubectl would read now.
fn entry_key(spec: &TokenSpec, cluster: &ClusterIdentity) -> CacheKey {
    let files: Vec<String> = crate::kubeconfig::paths(spec.kubeconfig.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    CacheKey::for_token(spec, cluster, &files.join("\n"))
}

/// The first `name` on PATH, as client-go finds an exec command.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
