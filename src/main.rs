//! kube-sa-token: a client-go ExecCredential plugin that hands kubectl a
//! ServiceAccount token (or an X.509 user's client certificate), minted once
//! and kept in the OS keyring.
//!
//! This is the program kubectl runs: it serves a cached credential itself
//! and hands everything else to `kube-sa-token-full` beside it
//! (`src/front.rs` says why). (Under `cargo test` the test harness brings
//! its own `main`.)
#![cfg_attr(not(test), no_main)]

/// A bump arena: a hit's allocations cost an addition each (src/arena.rs).
#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: kube_sa_token::Arena = kube_sa_token::Arena;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    // SAFETY: argc and argv as the C runtime passed them.
    unsafe { kube_sa_token::c_main(argc, argv, kube_sa_token::run_front) }
}
