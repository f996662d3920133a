//! kube-sa-token: a client-go ExecCredential plugin. See docs/architecture.md
//! for the map of modules.

mod app;
mod cache;
mod cli;
mod clock;
mod cluster_identity;
mod error;
mod fsutil;
mod guard;
mod jwt;
mod kube_api;
mod kubeconfig;
mod options;
mod parent;
mod parse_error;
#[cfg(test)]
mod proptests;
mod protocol;
mod runtime;
#[cfg(test)]
mod testing;
mod token;

use std::ffi::OsString;
use std::io::Write;

pub use error::ExitCode;

/// Runs the program with `args` (including argv[0]) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let inv = match cli::parse(args) {
        Ok(cli::Parsed::Run(inv)) => inv,
        Ok(cli::Parsed::Exit(code)) => return code,
        Err(e) => return report(&e),
    };
    init_logging(inv.verbose);
    match app::dispatch(inv.command, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::Success,
        Err(e) => report(&e),
    }
}

fn report(e: &error::Error) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "kube-sa-token: {e}");
    e.exit_code()
}

/// Logs go to stderr only (stdout of `get` is the ExecCredential), and only
/// this crate's: -v info, -vv debug. Other crates (kube, hyper) are never
/// enabled, so no HTTP-level log can carry a token.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let filter = tracing_subscriber::filter::Targets::new().with_target("kube_sa_token", level);
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
}
