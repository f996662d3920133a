//! kube-sa-token: a client-go ExecCredential plugin that hands kubectl a
//! ServiceAccount token (or an X.509 user's client certificate), minted once
//! and kept in the OS keyring.
//!
//! The C entry point, not Rust's `fn main`: before calling `main`, Rust's
//! start-up finds the main thread's stack bounds for its stack-overflow
//! message, which glibc does by parsing /proc/self/maps: a fifth of what a
//! cache hit costs, for a message. kubectl runs `get` before every command.
//! (Under `cargo test` the test harness brings its own `main`.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int};

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // As Rust's start-up does: a closed pipe is an error to report, not a
    // signal that kills the process.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic must not unwind out of a C function; exit as Rust's start-up would.
    // The arguments from argc/argv: `std::env::args_os()` is filled by
    // glibc's init hook only, and is empty in a musl build.
    let args = (0..usize::try_from(argc).unwrap_or(0)).map(|i| {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings.
        let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            std::ffi::OsString::from_vec(arg.to_bytes().to_vec())
        }
        #[cfg(not(unix))]
        std::ffi::OsString::from(arg.to_string_lossy().into_owned())
    });
    let args: Vec<std::ffi::OsString> = args.collect();
    match std::panic::catch_unwind(|| kube_sa_token::run(args)) {
        Ok(code) => code as c_int,
        Err(_) => 101,
    }
}
