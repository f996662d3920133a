//! The inverse of parsing: the `get` arguments that reproduce a set of
//! options, for the exec entries `setup` and `kubeconfig` write.

use super::duration::Dur;
use crate::options::{self, CacheChoice, GetOptions, Principal, SourceKind};

/// The `get` arguments that reproduce `opts` (defaults left out): what
/// `setup` and `kubeconfig` write into an exec entry.
pub fn exec_args(opts: &GetOptions) -> Vec<String> {
    let spec = &opts.spec;
    let mut a = vec!["get".to_string()];
    if let Some(k) = &spec.kubeconfig {
        let abs = std::path::absolute(k).unwrap_or_else(|_| k.clone());
        a.extend(["--kubeconfig".into(), abs.display().to_string()]);
    }
    a.extend(["--admin-context".into(), spec.admin_context.clone()]);
    match &spec.principal {
        Principal::ServiceAccount(sa) => {
            a.extend([
                "--service-account".into(),
                format!("{}/{sa}", spec.namespace),
            ]);
        }
        Principal::User { name, groups } => {
            a.extend(["--user".into(), name.clone()]);
            for g in groups {
                a.extend(["--group".into(), g.clone()]);
            }
            if spec.namespace != options::DEFAULT_NAMESPACE {
                a.extend(["--namespace".into(), spec.namespace.clone()]);
            }
        }
    }
    if spec.source != SourceKind::default() {
        a.extend(["--source".into(), spec.source.as_str().into()]);
    }
    if opts.create_secret {
        a.push("--create-secret".into());
    }
    if spec.bind_secret {
        a.push("--bind-secret".into());
    }
    if opts.duration != options::DEFAULT_DURATION {
        a.extend(["--duration".into(), Dur(opts.duration).to_string()]);
    }
    for aud in &spec.audiences {
        a.extend(["--audience".into(), aud.clone()]);
    }
    if opts.cache != CacheChoice::default() {
        a.extend(["--cache".into(), opts.cache.as_str().into()]);
    }
    if !opts.refresh_ahead {
        a.push("--no-refresh-ahead".into());
    }
    if !opts.approve {
        a.push("--no-approve".into());
    }
    if opts.csr_wait != options::DEFAULT_CSR_WAIT {
        a.extend(["--csr-timeout".into(), Dur(opts.csr_wait).to_string()]);
    }
    if opts.revalidate != options::DEFAULT_REVALIDATE {
        a.extend([
            "--revalidate-interval".into(),
            Dur(opts.revalidate).to_string(),
        ]);
    }
    a
}
