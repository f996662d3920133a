//! kube-sa-token-full: every command of kube-sa-token. `kube-sa-token`
//! (src/main.rs), the binary kubectl runs, serves cache hits and runs this
//! one for everything else. (Under `cargo test` the test harness brings its
//! own `main`.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    // SAFETY: argc and argv as the C runtime passed them.
    unsafe { kube_sa_token::c_main(argc, argv, kube_sa_token::run) }
}
