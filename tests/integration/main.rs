//! The integration tests, in one binary:
//! - [`cli`]: fast tests of the real binary against a fake API server;
//! - [`e2e`]: end-to-end tests against the real control plane, ignored in a
//!   plain `cargo test` (tests/run.sh runs them).
//!
//! [`support`] gives every test its own HOME, XDG dirs and KUBECONFIG.

mod cli;
mod e2e;
mod support;
