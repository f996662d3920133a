//! The inverse of parsing: the `get` arguments that reproduce a set of
//! options, for the exec entries `setup` and `kubeconfig` write.

use super::duration::Dur;
use crate::options::{self, CacheChoice, GetOptions, SourceKind};

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
    a.extend([
        "--service-account".into(),
        format!("{}/{}", spec.namespace, spec.service_account),
    ]);
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
    if opts.revalidate != options::DEFAULT_REVALIDATE {
        a.extend([
            "--revalidate-interval".into(),
            Dur(opts.revalidate).to_string(),
        ]);
    }
    a
}
