//! kube-sa-token: a client-go ExecCredential plugin. See docs/architecture.md
//! for the map of modules.

mod app;
mod arena;
mod broker;
mod cache;
mod child;
mod cli;
mod clock;
mod cluster_identity;
mod credential;
mod credential_id;
mod duration;
mod error;
mod front;
mod fsutil;
mod get_flags;
mod guard;
mod hardening;
mod hex;
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

pub use arena::Arena;
pub use front::run as run_front;

/// The body of both binaries' C entry point (`main`, not Rust's `fn main`:
/// before calling that, Rust's start-up finds the main thread's stack
/// bounds for its stack-overflow message, which glibc does by parsing
/// /proc/self/maps: a fifth of what a cache hit cost, for a message).
/// Runs `program` over the arguments; a panic exits 101, as Rust's
/// start-up would, instead of unwinding out of a C function.
///
/// # Safety
/// `argc` and `argv` as the C runtime passes them to `main`.
pub unsafe fn c_main(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
    program: fn(Vec<OsString>) -> ExitCode,
) -> std::ffi::c_int {
    // As Rust's start-up does: a closed pipe is an error to report, not a
    // signal that kills the process.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // From argc/argv: `std::env::args_os()` is filled by glibc's init hook
    // only, and is empty in a musl build.
    let args = (0..usize::try_from(argc).unwrap_or(0)).map(|i| {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings.
        let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            OsString::from_vec(arg.to_bytes().to_vec())
        }
        #[cfg(not(unix))]
        OsString::from(arg.to_string_lossy().into_owned())
    });
    let args: Vec<OsString> = args.collect();
    match std::panic::catch_unwind(|| program(args)) {
        Ok(code) => code as std::ffi::c_int,
        Err(_) => 101,
    }
}

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
