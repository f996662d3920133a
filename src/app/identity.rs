//! Whose credential a command is about ([`Who`]): named on the command line,
//! or read from a kubeconfig context's exec entry (`--context`, by default
//! the current context), whose `get` arguments say everything: the admin
//! context, the ServiceAccount or user, and every option.

use serde_yaml::Value;

use crate::cache::CacheKey;
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{GetOptions, ParseGet, Who};

use super::request::{admin_cluster, entry_key};

/// The names this program is installed under (a command, or kubectl's
/// plugin name), and the full program's (an entry may name it).
const NAMES: [&str; 3] = [
    "kube-sa-token",
    "kubectl-sa_token",
    super::exec_command::FULL,
];

/// Whether an exec entry runs this program.
pub(super) fn runs_us(exec: &Value) -> bool {
    exec.get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| NAMES.iter().any(|n| c.ends_with(n)))
}

/// An exec entry's arguments.
pub(super) fn args_of(exec: &Value) -> Vec<String> {
    exec.get("args")
        .and_then(Value::as_sequence)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The options `who` stands for.
pub(super) fn options_of(who: &Who) -> Result<GetOptions, Error> {
    match who {
        Who::Options(opts) => Ok((**opts).clone()),
        Who::Context {
            name,
            kubeconfig,
            parse_get,
        } => of_context(name.as_deref(), kubeconfig.as_deref(), *parse_get),
    }
}

fn of_context(
    name: Option<&str>,
    kubeconfig: Option<&std::path::Path>,
    parse_get: ParseGet,
) -> Result<GetOptions, Error> {
    let kc = Kubeconfigs::load(kubeconfig)?;
    let name = match name {
        Some(n) => n.to_string(),
        None => kc.current_context().ok_or_else(|| {
            Error::Usage(
                "no current context to take the identity from: pass --context NAME (a context `setup` wrote), or --admin-context and the ServiceAccount (or --user)".into(),
            )
        })?,
    };
    let ctx = kc
        .resolve(&name)
        .map_err(|e| e.with_fix(context_fix(&kc, &name)))?;
    let exec = ctx.user.get("exec").filter(|e| runs_us(e)).ok_or_else(|| {
        Error::Usage(format!(
            "context {name:?} does not run kube-sa-token (its user {:?} has no kube-sa-token exec entry): pass --context with a context `setup` wrote, or --admin-context and the ServiceAccount (or --user)",
            ctx.user_name
        ))
    })?;
    parse_get(&args_of(exec)).map_err(|why| {
        Error::Usage(format!(
            "the exec entry of context {name:?} does not parse as `get` ({why}); `kube-sa-token doctor` checks it, `setup` writes it again"
        ))
    })
}

/// What to do when `--context NAME` names no context (issue 33): pass one
/// that exists, and the one meant when NAME is the identity part of a
/// context `setup` wrote (`team/viewer` for `team/viewer@test`).
fn context_fix(kc: &Kubeconfigs, name: &str) -> String {
    let meant: Vec<String> = kc
        .context_names()
        .into_iter()
        .filter(|c| c.rsplit_once('@').is_some_and(|(who, _)| who == name))
        .collect();
    let fix = "pass an existing one with --context (`setup` names them NS/SA@CLUSTER)";
    match meant.as_slice() {
        [] => fix.to_string(),
        [one] => format!("{fix}; did you mean --context {one}?"),
        many => format!("{fix}; did you mean one of {}?", many.join(", ")),
    }
}

/// The names of `kc`'s contexts whose user's exec entry runs us (what
/// `--context` takes; completion offers them).
pub fn contexts_running_us(kc: &Kubeconfigs) -> Vec<String> {
    let users: Vec<String> = kc
        .exec_users()
        .into_iter()
        .filter(|(_, exec)| runs_us(exec))
        .map(|(name, _)| name)
        .collect();
    kc.context_names()
        .into_iter()
        .filter(|name| kc.context(name).is_ok_and(|c| users.contains(&c.user)))
        .collect()
}

/// The contexts of the kubeconfig (KUBECONFIG, else ~/.kube/config) whose
/// user runs us, each with the cache key its credential is kept under, as
/// [`crate::app`]'s `get` computes it. Entries that do not parse, or whose
/// admin context is gone, are left out (`doctor` reports them).
pub(super) fn context_keys(parse_get: ParseGet) -> Vec<(String, CacheKey)> {
    let Ok(kc) = Kubeconfigs::load(None) else {
        return Vec::new();
    };
    kc.context_names()
        .into_iter()
        .filter_map(|name| {
            let ctx = kc.resolve(&name).ok()?;
            let exec = ctx.user.get("exec").filter(|e| runs_us(e))?;
            let opts = parse_get(&args_of(exec)).ok()?;
            let cluster = admin_cluster(&opts.spec).ok()?;
            Some((name, entry_key(&opts.spec, &cluster)))
        })
        .collect()
}
