//! The program kubectl runs (`kube-sa-token`): a small binary that serves a
//! cache hit of `get` itself and hands every other call, unchanged, to the
//! full program installed beside it (`kube-sa-token-full`).
//!
//! Why two binaries: kubectl runs the exec entry before every command, and
//! a static-pie binary relocates itself before `main`. The full program
//! holds 18,000 pointers to relocate (clap, kube, TLS, the OS keyrings),
//! which cost a hit more instructions and page faults than everything else
//! it does; this one is built from the hit path alone (docs/performance.md).
//!
//! The decisions are not copied: this binary runs the same parser
//! ([`crate::cli::plain_get`]), the same `get` use case and verdict
//! ([`crate::app::cached`]) over the same stores. Wherever the full program
//! would do more than serve the cache (a miss, an error to report, `-v`, a
//! token to check with the server, the OS keyring to read), this one
//! `exec`s the full program with its own arguments, which runs the call
//! from the start. Nothing is written to stdout before that.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::app::FULL;
use crate::cache::{CacheError, Durable, Store};
use crate::error::ExitCode;
use crate::options::CacheChoice;

/// This call's arguments, for [`hand_off`].
static ARGS: OnceLock<Vec<OsString>> = OnceLock::new();

/// Runs the front binary with `args` (including argv[0]); returns only
/// when it served a cache hit (or could not run the full program).
pub fn run(args: Vec<OsString>) -> ExitCode {
    crate::hardening::no_core_dumps();
    crate::clock::process_started();
    let args = ARGS.get_or_init(|| args);
    let Some(opts) = crate::cli::plain_get(args) else {
        hand_off()
    };
    crate::logging::init(0);
    // Behind the kernel copy: `auto`'s store where no OS keyring can
    // answer, read here; the OS keyring's, read by the full program.
    let durable: Durable = match opts.cache {
        CacheChoice::Auto => auto_here,
        _ => in_full,
    };
    let Some(json) = crate::app::cached(&opts, &crate::clock::SystemClock, hand_off, durable)
    else {
        hand_off()
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::Success,
        // As the full program: a reader that left is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::Success,
        // The full program's words for it, without linking every error's.
        Err(e) => fail(&format!("cannot write output: {e}")),
    }
}

/// The OS keyring behind a kernel copy that missed: the full program's.
fn in_full() -> Result<Box<dyn Store>, CacheError> {
    hand_off()
}

/// `--cache auto` behind a kernel copy that missed (or where keyctl is
/// blocked: a container): the memory-backed files where no session bus
/// can answer, else the full program's (it asks the Secret Service).
fn auto_here() -> Result<Box<dyn Store>, CacheError> {
    crate::cache::auto_without_bus().unwrap_or_else(|| hand_off())
}

/// Replaces this process with the full program, given this call's
/// arguments (argv[0] too: run as `kubectl-sa_token`, it says so), its
/// environment, descriptors and terminal. Off Unix, where a process cannot
/// be replaced, runs it and exits with its status.
pub fn hand_off() -> ! {
    let args = ARGS.get().map_or(&[][..], Vec::as_slice);
    let full = match full_program() {
        Ok(p) => p,
        Err(why) => fail(&why),
    };
    let mut cmd = std::process::Command::new(&full);
    cmd.args(args.iter().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if let Some(arg0) = args.first() {
            cmd.arg0(arg0);
        }
        let e = cmd.exec();
        fail(&format!("cannot run {}: {e}", full.display()))
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => fail(&format!("cannot run {}: {e}", full.display())),
    }
}

/// The full program: [`FULL`] in this binary's own directory (links
/// resolved: krew's `kubectl-sa_token` points into its store).
pub fn full_program() -> Result<PathBuf, String> {
    let me = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| format!("cannot find this program's own path: {e}"))?;
    let dir = me.parent().ok_or("this program's path has no directory")?;
    let full = dir.join(format!("{FULL}{}", std::env::consts::EXE_SUFFIX));
    if !full.is_file() {
        return Err(format!(
            "{} is missing: {} runs it for everything but a cached credential; install both (./install.sh, or every file of the release archive)",
            full.display(),
            me.display()
        ));
    }
    Ok(full)
}

fn fail(why: &str) -> ! {
    let _ = writeln!(std::io::stderr(), "kube-sa-token: {why}");
    std::process::exit(ExitCode::Failure as i32)
}
