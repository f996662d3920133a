//! The inverse of parsing: the `get` arguments that reproduce a set of
//! options, for the exec entries `setup` and `kubeconfig` write.

use super::duration::Dur;
use crate::options::{self, CacheChoice, GetOptions, Principal, SourceKind};

/// The `get` arguments that reproduce `opts` (defaults left out): what
/// `setup` and `kubeconfig` write into an exec entry.
pub fn exec_args(opts: &GetOptions) -> Vec<String> {
    let spec = &opts.spec;
    let mut a = vec!["get".to_string()];
    // A value that starts with '-' would read as a flag of its own: it is
    // attached (`--user=-alice`), the one form that parses back to it.
    let mut pair = |flag: &str, value: String| {
        if value.starts_with('-') {
            a.push(format!("{flag}={value}"));
        } else {
            a.extend([flag.to_string(), value]);
        }
    };
    if let Some(k) = &spec.kubeconfig {
        let abs = std::path::absolute(k).unwrap_or_else(|_| k.clone());
        pair("--kubeconfig", abs.display().to_string());
    }
    pair("--admin-context", spec.admin_context.clone());
    match &spec.principal {
        Principal::ServiceAccount(sa) => {
            pair("--service-account", format!("{}/{sa}", spec.namespace));
        }
        Principal::User { name, groups } => {
            pair("--user", name.clone());
            for g in groups {
                pair("--group", g.clone());
            }
            if spec.namespace != options::DEFAULT_NAMESPACE {
                pair("--namespace", spec.namespace.clone());
            }
        }
    }
    if spec.source != SourceKind::default() {
        pair("--source", spec.source.as_str().into());
    }
    if opts.duration != options::DEFAULT_DURATION {
        pair("--duration", Dur(opts.duration).to_string());
    }
    for aud in &spec.audiences {
        pair("--audience", aud.clone());
    }
    if opts.cache != CacheChoice::default() {
        pair("--cache", opts.cache.as_str().into());
    }
    if opts.csr_wait != options::DEFAULT_CSR_WAIT {
        pair("--csr-timeout", Dur(opts.csr_wait).to_string());
    }
    if opts.revalidate != options::DEFAULT_REVALIDATE {
        pair("--revalidate-interval", Dur(opts.revalidate).to_string());
    }
    if opts.secret_wait != options::DEFAULT_SECRET_WAIT {
        pair("--secret-timeout", Dur(opts.secret_wait).to_string());
    }
    if opts.lock_wait != options::DEFAULT_LOCK_WAIT {
        pair("--lock-timeout", Dur(opts.lock_wait).to_string());
    }
    let flags = [
        (opts.create_secret, "--create-secret"),
        (spec.bind_secret, "--bind-secret"),
        (!opts.refresh_ahead, "--no-refresh-ahead"),
        (!opts.approve, "--no-approve"),
    ];
    a.extend(
        flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| f.to_string()),
    );
    a
}
