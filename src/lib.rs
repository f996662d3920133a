//! kube-sa-token: a client-go ExecCredential plugin. See docs/architecture.md
//! for the map of modules.

mod app;
mod broker;
mod cache;
mod cli;
mod clock;
mod cluster_identity;
mod credential;
mod credential_id;
mod duration;
mod error;
mod fsutil;
mod get_flags;
mod guard;
mod hardening;
mod jwt;
mod kube_api;
mod kubeconfig;
mod kuberc;
mod logging;
mod names;
mod options;
mod parent;
mod parse_error;
#[cfg(test)]
mod proptests;
mod protocol;
mod runtime;
mod secret;
#[cfg(test)]
mod testing;
mod wording;
mod x509;

use std::ffi::OsString;
use std::io::Write;

pub use error::ExitCode;

/// Runs the program with `args` (including argv[0]) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    hardening::no_core_dumps();
    clock::process_started();
    let inv = match cli::parse(args) {
        Ok(cli::Parsed::Run(inv)) => inv,
        Ok(cli::Parsed::Exit(code)) => return code,
        Err(e) => return report(&e),
    };
    logging::init(inv.verbose);
    match app::dispatch(inv.command, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::Success,
        // The reader left (`kube-sa-token inspect | head -1`): nothing is
        // wrong, and nothing to say (issue 33).
        Err(error::Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::Success
        }
        Err(e) => report(&e),
    }
}

fn report(e: &error::Error) -> ExitCode {
    if e.is_quiet() {
        return e.exit_code();
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "kube-sa-token: {}",
        logging::one_line(&e.to_string())
    );
    e.exit_code()
}
