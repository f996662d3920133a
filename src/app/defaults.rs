//! What a typed command leaves out, taken as kubectl would take it
//! ([`Defaults`]): the admin context is `$KUBE_SA_TOKEN_ADMIN_CONTEXT`, else
//! the current context; the namespace is the admin context's. Each default
//! taken is said on stderr. `get` takes none of them ([`crate::get_flags::Fixed`]).

use std::path::Path;

use crate::error::Error;
use crate::get_flags::Defaults;
use crate::kubeconfig::Kubeconfigs;

use super::identity::runs_us;

/// The environment variable naming the admin context.
pub const ADMIN_CONTEXT_ENV: &str = "KUBE_SA_TOKEN_ADMIN_CONTEXT";

/// kubectl's defaults, from the kubeconfig files.
pub struct FromKubeconfig;

impl Defaults for FromKubeconfig {
    fn admin_context(&self, kubeconfig: Option<&Path>) -> Result<String, Error> {
        if let Some(v) = std::env::var(ADMIN_CONTEXT_ENV)
            .ok()
            .filter(|v| !v.is_empty())
        {
            eprintln!("note: admin context {v:?}, from {ADMIN_CONTEXT_ENV}");
            return Ok(v);
        }
        let kc = Kubeconfigs::load(kubeconfig)?;
        let current = kc.current_context().ok_or_else(|| {
            Error::Usage(format!(
                "which admin context? there is no current context to take: pass --admin-context NAME (or set {ADMIN_CONTEXT_ENV})"
            ))
        })?;
        let ctx = kc.resolve(&current)?;
        if ctx.user.get("exec").is_some_and(runs_us) {
            return Err(Error::Usage(format!(
                "which admin context? the current context {current:?} runs kube-sa-token itself (a ServiceAccount's or user's, not an admin's): pass --admin-context NAME (or set {ADMIN_CONTEXT_ENV}), or `kubectl config use-context ADMIN` first"
            )));
        }
        eprintln!(
            "note: admin context {current:?}, the current context (--admin-context to choose another)"
        );
        Ok(current)
    }

    fn namespace(&self, kubeconfig: Option<&Path>, admin_context: &str) -> Option<String> {
        let ns = Kubeconfigs::load(kubeconfig)
            .ok()?
            .context(admin_context)
            .ok()?
            .namespace
            .filter(|n| !n.is_empty())?;
        eprintln!("note: namespace {ns:?}, the admin context's (-n to choose another)");
        Some(ns)
    }
}
