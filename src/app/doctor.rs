//! `doctor`: one line per finding, each with a fix.

use std::io::Write;

use serde_yaml::Value;

use crate::cache::Cache;
use crate::error::Error;
use crate::kubeconfig::Kubeconfigs;
use crate::options::{CacheChoice, ParseGet};
use crate::protocol::{V1, V1BETA1};

use super::admin_session::AdminSession;
use super::identity::{args_of, runs_us};
use super::rights::{self, Scope};

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    failed: usize,
}

impl Report {
    fn ok(&mut self, msg: impl Into<String>) {
        self.lines.push(format!("ok    {}", msg.into()));
    }
    fn warn(&mut self, msg: impl Into<String>) {
        self.lines.push(format!("warn  {}", msg.into()));
    }
    fn fail(&mut self, msg: impl Into<String>) {
        self.failed += 1;
        self.lines.push(format!("FAIL  {}", msg.into()));
    }
}

pub struct Request<'a> {
    pub kubeconfig: Option<&'a std::path::Path>,
    pub admin_context: Option<&'a str>,
    pub namespace: &'a str,
    pub cache: CacheChoice,
    /// How `get` parses its arguments: exec entries are checked with it.
    pub parse_get: ParseGet,
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
                "kubeconfig loads ({} contexts)",
                kc.context_names().len()
            ));
            check_exec_entries(&kc, req.parse_get, &mut r);
            if let Some(ctx) = req.admin_context {
                match kc.context(ctx) {
                    Ok(_) => check_admin(req.kubeconfig, ctx, req.namespace, &mut r)?,
                    Err(e) => r.fail(e.to_string()),
                }
            }
        }
        Err(e) => r.fail(e.to_string()),
    }
    for l in &r.lines {
        writeln!(out, "{l}")?;
    }
    if r.failed > 0 {
        return Err(Error::CheckFailed(format!(
            "doctor found {} problem{}",
            r.failed,
            if r.failed == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

fn check_store(choice: CacheChoice, r: &mut Report) {
    let opened = if choice == CacheChoice::Auto {
        Cache::auto().map(|(c, why)| {
            r.ok(format!("--cache auto picks {}: {}", why.kind, why.why));
            c
        })
    } else {
        Cache::open(choice)
    };
    let cache = match opened {
        Ok(c) => c,
        Err(e) if choice == CacheChoice::Auto => {
            r.fail(format!("--cache auto: {e}"));
            return;
        }
        Err(e) => {
            r.fail(e.to_string());
            return;
        }
    };
    if !cache.keeps() {
        r.warn("--cache none: every kubectl call mints a new token (slow, and one TokenRequest per call); pick a store");
        return;
    }
    // The self test resolves the store (`auto` included): its kind is known after.
    let test = cache.self_test();
    let kind = cache.kind().unwrap_or(crate::cache::StoreKind::Keyring);
    if kind == crate::cache::StoreKind::Keyring {
        if crate::cache::kernel_tier_available() {
            r.ok("hits are read from a kernel-keyring copy of the OS keyring's entries (no D-Bus round trip)");
        } else {
            r.warn("keyctl is not available here (a container's seccomp profile?): every hit is a D-Bus round trip to the OS keyring, about 8x slower than a kernel-keyring hit (docs/performance.md)");
        }
    }
    if kind == crate::cache::StoreKind::Keyutils
        || (kind == crate::cache::StoreKind::Keyring && crate::cache::kernel_tier_available())
    {
        check_key_quota(kind, r);
    }
    match test {
        Ok(true) => r.ok(format!(
            "the {kind} store can write, read and delete an entry of a real entry's size"
        )),
        Ok(false) => r.fail(format!(
            "the {kind} store did not return what was written; pick another --cache"
        )),
        Err(e) => r.fail(e.to_string()),
    }
}

/// The kernel key quota against what our entries take.
fn check_key_quota(kind: crate::cache::StoreKind, r: &mut Report) {
    let Some(q) = crate::cache::key_quota() else {
        return;
    };
    let line = format!("kernel key quota: {}", q.describe());
    match (q.room(), kind) {
        (0, crate::cache::StoreKind::Keyutils) => r.fail(format!(
            "{line}: new entries cannot be cached, so kubectl mints on every call; remove entries (kube-sa-token cache list, cache clear KEY), have an admin raise kernel.keys.maxbytes, or use --cache keyring"
        )),
        (0, _) => r.warn(format!(
            "{line}: new credentials get no kernel copy, so their hits read the OS keyring (slower); remove entries or have an admin raise kernel.keys.maxbytes"
        )),
        (n, _) if n < 5 => r.warn(format!(
            "{line}: nearly full; remove entries you no longer use, or have an admin raise kernel.keys.maxbytes"
        )),
        _ => r.ok(line),
    }
}

fn command_found(cmd: &str) -> bool {
    if cmd.contains('/') {
        return std::path::Path::new(cmd).is_file();
    }
    super::setup::find_on_path(cmd).is_some()
}

fn check_exec_entries(kc: &Kubeconfigs, parse_get: ParseGet, r: &mut Report) {
    let ours: Vec<(String, Value)> = kc
        .exec_users()
        .into_iter()
        .filter(|(_, e)| runs_us(e))
        .collect();
    if ours.is_empty() {
        r.warn("no kubeconfig user runs kube-sa-token yet; create one with `kube-sa-token setup --admin-context ADMIN -n NS SA`");
        return;
    }
    for (user, exec) in ours {
        let contexts = kc.contexts_of_user(&user);
        let mut problems: Vec<String> = Vec::new();
        let api = exec.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if api != V1 && api != V1BETA1 {
            problems.push(format!("apiVersion {api:?} is not {V1} or {V1BETA1}"));
        }
        if api == V1 && exec.get("interactiveMode").is_none() {
            problems.push(
                "interactiveMode is missing (kubectl refuses v1 entries without it; use Never)"
                    .into(),
            );
        }
        let cmd = exec.get("command").and_then(Value::as_str).unwrap_or("");
        if !command_found(cmd) {
            problems.push(format!(
                "command {cmd:?} is not found; install kube-sa-token or use its absolute path"
            ));
        }
        // The args as `get` will read them: the real parser, every form
        // clap accepts (`--admin-context=NAME` too), every check.
        match parse_get(&args_of(&exec)) {
            Err(why) => problems.push(format!("its args do not parse as `get`: {why}")),
            Ok(opts) => {
                let admin = &opts.spec.admin_context;
                if let Err(e) = kc.context(admin) {
                    problems.push(format!(
                        "admin context {admin:?} not found ({})",
                        e.to_string().split(';').next().unwrap_or_default()
                    ));
                } else if contexts.iter().any(|c| c == admin) {
                    problems.push(format!("its admin context {admin:?} uses this same user: that loops; point --admin-context at a context with its own credentials"));
                }
            }
        }
        if exec.get("provideClusterInfo").and_then(Value::as_bool) != Some(true) {
            r.warn(format!("user {user:?}: provideClusterInfo is not true, so the cluster-binding check cannot see which server kubectl talks to; rerun setup"));
        }
        if problems.is_empty() {
            r.ok(format!(
                "user {user:?} (contexts: {}) has a well-formed exec entry",
                if contexts.is_empty() {
                    "none".into()
                } else {
                    contexts.join(", ")
                }
            ));
        } else {
            r.fail(format!(
                "user {user:?}: {}; rerun `kube-sa-token setup` to rewrite it",
                problems.join("; ")
            ));
        }
    }
}

fn check_admin(
    kubeconfig: Option<&std::path::Path>,
    ctx: &str,
    ns: &str,
    r: &mut Report,
) -> Result<(), Error> {
    let session = AdminSession::new(kubeconfig, ctx);
    let admin = match session.admin(None) {
        Ok(a) => a,
        Err(e) => {
            r.fail(e.to_string());
            return Ok(());
        }
    };
    session.block_on(async {
        match admin.clock_offset().await {
            Ok(off) if off.abs() <= 30 => r.ok(format!("admin context {ctx:?} reaches {} (clock offset {off}s)", admin.server())),
            Ok(off) => r.fail(format!(
                "clock offset to {} is {off}s: tokens may look expired or not yet valid; sync this machine's clock (NTP)",
                admin.server()
            )),
            Err(e) => {
                r.fail(e.to_string());
                return;
            }
        }
        // Rights for the defaults fail the check; the others (legacy
        // Secrets, X.509 users: not every admin context is meant for them)
        // warn.
        for right in rights::ALL {
            let (verb, what, by) = (right.verb, right.what(), right.needed_by);
            let place = match right.scope {
                Scope::Namespace => format!("in {ns:?}"),
                Scope::Certificates => "(certificates.k8s.io)".into(),
            };
            match right.held(admin, ns).await {
                Ok(true) => r.ok(format!("admin context {ctx:?} may {verb} {what} {place} (needed by {by})")),
                Ok(false) if right.default => r.fail(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by}); grant it with a Role and RoleBinding")),
                Ok(false) if right.scope == Scope::Certificates => r.warn(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by}); grant it with a ClusterRole (see docs/users.md)")),
                Ok(false) => r.warn(format!("admin context {ctx:?} may not {verb} {what} {place} (needed by {by})")),
                Err(e) => r.fail(e.to_string()),
            }
        }
    })?;
    Ok(())
}
