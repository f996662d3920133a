//! kube-sa-token: a client-go ExecCredential plugin. See docs/architecture.md
//! for the map of modules.

mod cli;
mod clock;
mod commands;
mod error;
mod freshness;
mod get;
mod guard;
mod kubeconfig;
mod protocol;
mod source;
mod store;
mod token;

use std::ffi::OsString;
use std::io::Write;

pub use error::ExitCode;

/// Runs the program with `args` (including argv[0]) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let inv = match cli::parse(args) {
        Ok(Ok(inv)) => inv,
        Ok(Err(e)) => return report(&e),
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
        }
    };
    init_logging(inv.verbose);
    match commands::dispatch(inv.command, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::Success,
        Err(e) => report(&e),
    }
}

fn report(e: &error::Error) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "kube-sa-token: {e}");
    e.exit_code()
}

/// Logs go to stderr only (stdout of `get` is the ExecCredential).
/// -v: info, -vv: debug; KUBE_SA_TOKEN_LOG overrides with a filter.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter =
        std::env::var("KUBE_SA_TOKEN_LOG").unwrap_or_else(|_| format!("kube_sa_token={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
