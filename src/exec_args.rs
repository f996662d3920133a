//! The inverse of parsing: the `get` arguments that reproduce a set of
//! options, for the exec entries `setup` and `kubeconfig` write and for the
//! background refresh. Below the use cases (which call it) and the CLI
//! (whose parser it is held equal to: `parse(exec_args(o)) == o`, in
//! `cli/tests.rs`).

use crate::clock::flag_duration;
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
        pair("--duration", flag_duration(opts.duration));
    }
    for aud in &spec.audiences {
        pair("--audience", aud.clone());
    }
    if opts.cache != CacheChoice::default() {
        pair("--cache", opts.cache.as_str().into());
    }
    if opts.csr_wait != options::DEFAULT_CSR_WAIT {
        pair("--csr-timeout", flag_duration(opts.csr_wait));
    }
    if opts.revalidate != options::DEFAULT_REVALIDATE {
        pair("--revalidate-interval", flag_duration(opts.revalidate));
    }
    if opts.secret_wait != options::DEFAULT_SECRET_WAIT {
        pair("--secret-timeout", flag_duration(opts.secret_wait));
    }
    if opts.lock_wait != options::DEFAULT_LOCK_WAIT {
        pair("--lock-timeout", flag_duration(opts.lock_wait));
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
