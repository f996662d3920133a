//! Every conversation with the API server (and with the Vault that mints
//! tokens for it). This is the only module that imports `kube`.
//!
//! - [`Admin`] ([`admin`]): a client built from the named admin context
//!   only, with TokenRequest ([`token_request`]), the classic token Secret
//!   ([`legacy_secret`]), CSRs ([`csr`]), access and token reviews
//!   ([`reviews`]) and the cluster's discovery endpoints ([`discovery`]).
//! - [`TokenClient`]: requests made *with* a ServiceAccount token.
//! - [`vault`]: a Vault or OpenBao Kubernetes secrets engine, the other
//!   source of tokens (over the same HTTP stack).
//!
//! This file only names the parts.

mod admin;
mod bounded;
mod client_config;
mod csr;
mod discovery;
mod error;
mod exec_plugin;
mod legacy_secret;
mod proxy;
mod reviews;
mod timed;
mod token_client;
mod token_request;
pub mod vault;
mod vault_error;
pub mod vault_login;
mod vault_oidc;
mod vault_person;
mod vault_token;

pub use admin::{Admin, Minted};
pub use csr::SIGNER;
pub use error::KubeApiError;

#[cfg(test)]
pub(crate) use proxy::{ProxyEnv, select as select_proxy};
pub use token_client::TokenClient;
