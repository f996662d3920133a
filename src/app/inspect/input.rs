//! What `inspect` looks at: the request, and the token or certificate read
//! from the command line, stdin, a file or the cache.

use std::io::Read;

use crate::cache::Cache;
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::options::{Format, GetOptions, InspectInput};
use crate::secret::Token;

use super::super::identity::options_of;
use super::super::request::{admin_cluster, entry_key};

/// `inspect`'s inputs.
pub struct Request<'a> {
    pub input: &'a InspectInput,
    pub kubeconfig: Option<&'a std::path::Path>,
    pub admin_context: Option<&'a str>,
    pub verify: bool,
    pub format: Format,
}

/// What `inspect` reads: a token, or a user's certificate (with its key
/// when it comes from the cache).
pub(super) enum Inspected {
    Token(Token),
    Certificate {
        pem: String,
        credential: Option<Credential>,
    },
}

/// A cached credential's entry options and the cluster it is bound to.
pub(super) struct Cached {
    pub(super) opts: GetOptions,
    pub(super) cluster: ClusterIdentity,
    /// The Vault lease it was issued under (`--source vault`).
    pub(super) lease: Option<String>,
}

/// Reads what `input` names.
pub(super) fn read_input(input: &InspectInput) -> Result<(Inspected, Option<Cached>), Error> {
    let given = |text: &str| {
        let text = text.trim();
        if text.starts_with("-----BEGIN CERTIFICATE-----") {
            Inspected::Certificate {
                pem: text.to_string(),
                credential: None,
            }
        } else {
            Inspected::Token(Token::new(text.to_string()))
        }
    };
    Ok(match input {
        InspectInput::Stdin => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|source| Error::Input {
                    what: "the token from stdin",
                    source,
                })?;
            (given(&s), None)
        }
        InspectInput::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Input {
                what: "the token file",
                source,
            })?;
            (given(&text), None)
        }
        InspectInput::Given(t) => {
            tracing::warn!(
                "a token on the command line is visible to other users (ps, /proc/PID/cmdline) and stays in your shell history; pass it on stdin (`kube-sa-token inspect - < FILE`) or with --file PATH"
            );
            (given(t.expose()), None)
        }
        InspectInput::Cached(who) => {
            let opts = options_of(who)?;
            let cluster = admin_cluster(&opts.spec)?;
            let key = entry_key(&opts.spec, &cluster);
            let server = &cluster.server;
            let cache = Cache::open(opts.cache)?;
            let kind = cache
                .kind()
                .ok_or_else(|| Error::Usage("--cache none keeps no token to inspect".into()))?;
            let entry = cache.load(&key)?.ok_or_else(|| {
                Error::Usage(format!(
                    "no cached credential for {} on {server} in the {kind} store; run kubectl with its context (or `kube-sa-token whoami ...`) first, or pass a TOKEN",
                    opts.spec.label(),
                ))
            })?;
            let lease = entry.lease.clone();
            let inspected = match entry.credential {
                Credential::Token(t) => Inspected::Token(t),
                Credential::Certificate(c) => Inspected::Certificate {
                    pem: c.certificate.clone(),
                    credential: Some(Credential::Certificate(c)),
                },
            };
            (
                inspected,
                Some(Cached {
                    opts,
                    cluster: entry.cluster,
                    lease,
                }),
            )
        }
    })
}
