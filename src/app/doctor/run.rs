//! `doctor`: the store, the kubeconfig's exec entries (each with its admin
//! context and store), and an admin context named on the command line.

use std::io::Write;

use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{CacheChoice, Format, ParseGet};

use super::admin::{check_admin, check_entry_admins};
use super::broker::check_entry_brokers;
use super::entries::check_exec_entries;
use super::report::Report;
use super::store::{check_entry_stores, check_store};
use super::vault::check_entry_vaults;

pub struct Request<'a> {
    pub kubeconfig: Option<&'a std::path::Path>,
    pub admin_context: Option<&'a str>,
    pub namespace: &'a str,
    pub cache: CacheChoice,
    /// How `get` parses its arguments: exec entries are checked with it.
    pub parse_get: ParseGet,
    pub format: Format,
}

pub fn doctor(req: Request<'_>, out: &mut dyn Write) -> Result<(), Error> {
    let mut r = Report::default();
    check_store(req.cache, &mut r);
    // The newest failures of refresh-ahead: nobody saw them happen.
    for line in crate::cache::refresh::failures().iter().rev().take(3).rev() {
        r.warn(format!(
            "a background refresh failed: {line} (the next kubectl call that needs a token mints it; check the admin context)"
        ));
    }
    match Kubeconfigs::load(req.kubeconfig) {
        Ok(kc) => {
            r.ok(format!(
                "kubeconfig loads ({})",
                crate::wording::counted(kc.context_names().len(), "context")
            ));
            let entries = check_exec_entries(&kc, req.parse_get, &mut r);
            check_entry_stores(&entries, req.cache, &mut r);
            check_entry_admins(&entries, &mut r)?;
            check_entry_brokers(&entries, &mut r);
            check_entry_vaults(&kc, &entries, &mut r);
            if let Some(ctx) = req.admin_context {
                match kc.context(ctx) {
                    Ok(_) => check_admin(req.kubeconfig, ctx, req.namespace, &mut r)?,
                    Err(e) => r.fail(e.to_string()),
                }
            }
        }
        Err(e) => r.fail(e.to_string()),
    }
    r.write(req.format, out)?;
    if r.failed > 0 {
        return Err(Error::CheckFailed(format!(
            "doctor found {} problem{}",
            r.failed,
            if r.failed == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}
