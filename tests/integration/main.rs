//! The integration tests, in one binary:
//! - [`cli`]: fast tests of the real binary against a fake API server;
//! - [`e2e`]: end-to-end tests against the real control plane, ignored in a
//!   plain `cargo test` (tests/run.sh runs them).
//!
//! [`support`] gives every test its own HOME, XDG dirs and KUBECONFIG.

mod cli;
// The real control plane, real users, gnome-keyring and keyutils: Linux
// (tests/run.sh).
#[cfg(target_os = "linux")]
mod e2e;
mod support;
