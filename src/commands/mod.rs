//! One module per user-facing command; each turns plain inputs into output.

mod cache;
mod doctor;
mod inspect;
mod setup;
mod whoami;

use std::io::Write;

use crate::cli::Command;
use crate::clock::SystemClock;
use crate::error::Error;

/// The first `name` on PATH, as client-go finds an exec command.
pub fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The async runtime for the commands that talk to the API server. Built
/// only on those paths, never on a `get` cache hit.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Output)
}

pub fn dispatch(cmd: Command, out: &mut dyn Write) -> Result<(), Error> {
    let clock = SystemClock;
    match cmd {
        Command::Get(opts) => {
            let json = crate::get::get(&opts, &clock)?;
            writeln!(out, "{json}")?;
        }
        Command::Setup {
            opts,
            context_name,
            dry_run,
        } => setup::setup(&opts, context_name.as_deref(), dry_run, out)?,
        Command::Kubeconfig {
            opts,
            embed_token,
            context_name,
        } => setup::export(&opts, embed_token, context_name.as_deref(), out)?,
        Command::Inspect {
            token,
            opts,
            kubeconfig,
            admin_context,
            verify,
            format,
        } => {
            let input = match (&token, &opts) {
                (Some(t), _) => inspect::Input::Given(t),
                (None, Some(o)) => inspect::Input::Cached(o),
                (None, None) => {
                    return Err(Error::Usage(
                        "inspect needs a TOKEN or --admin-context".into(),
                    ));
                }
            };
            let req = inspect::Request {
                input,
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                verify,
                format,
            };
            inspect::inspect(req, &clock, out)?
        }
        Command::Whoami { opts, format } => whoami::whoami(&opts, format, &clock, out)?,
        Command::CacheList { format } => cache::list(format, &clock, out)?,
        Command::CacheClear { key } => cache::clear(key.as_deref(), out)?,
        Command::Logout { opts } => cache::logout(&opts, &clock, out)?,
        Command::Doctor {
            kubeconfig,
            admin_context,
            namespace,
            cache,
        } => doctor::doctor(
            doctor::Request {
                kubeconfig: kubeconfig.as_deref(),
                admin_context: admin_context.as_deref(),
                namespace: &namespace,
                cache,
            },
            out,
        )?,
        Command::Completions(shell) => crate::cli::completions(shell),
    }
    out.flush()?;
    Ok(())
}
