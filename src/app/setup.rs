//! `setup`: validate the admin context and the ServiceAccount (or its right
//! to have user certificates signed), then write an exec user and a context
//! into the kubeconfig kubectl reads.

use std::io::Write;

use serde_yaml::{Mapping, Value};

use crate::cache::Cache;
use crate::error::Error;
use crate::get_flags::exec_args;
use crate::kube_api::Admin;
use crate::kubeconfig::{Editable, Kubeconfigs, redacted_diff};
use crate::options::{CacheChoice, GetOptions, Principal, SourceKind};
use crate::protocol::V1;
use crate::wording::shell_word;

use super::admin_session::AdminSession;
use super::exec_command;
use super::rights;

const INSTALL_HINT: &str = "kube-sa-token is not installed or not on PATH. Install it (kubectl krew install sa-token, a release archive, or ./install.sh from its repository), then retry.";

/// The `user:` body with the exec entry that runs `command`
/// ([`exec_command::for_this_binary`]).
pub(super) fn exec_user(opts: &GetOptions, command: &str) -> Value {
    let mut exec = Mapping::new();
    exec.insert("apiVersion".into(), V1.into());
    exec.insert("command".into(), command.into());
    exec.insert(
        "args".into(),
        Value::Sequence(exec_args(opts).into_iter().map(Value::from).collect()),
    );
    // Never, so kubectl keeps its terminal; a person's Vault login asks
    // there (a password, a browser) when its kept token is gone, so its
    // entry takes kubectl's terminal when kubectl has one.
    let prompts = matches!(
        opts.spec.vault.as_ref().and_then(|v| v.login.as_ref()),
        Some(l) if l.method.is_person()
    );
    exec.insert(
        "interactiveMode".into(),
        if prompts { "IfAvailable" } else { "Never" }.into(),
    );
    exec.insert("provideClusterInfo".into(), true.into());
    exec.insert("installHint".into(), INSTALL_HINT.into());
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    Value::Mapping(user)
}

pub(super) fn context_body(cluster: &str, user: &str, namespace: &str) -> Value {
    let mut m = Mapping::new();
    m.insert("cluster".into(), cluster.into());
    m.insert("user".into(), user.into());
    m.insert("namespace".into(), namespace.into());
    Value::Mapping(m)
}

/// `NS/SA@cluster`, or `user:NAME@cluster` for an X.509 user, with its
/// groups when it has some (`user:alice+dev+qa@cluster`), so alice in dev
/// and alice in qa get a context each. '+' needs no quoting in any shell.
pub(super) fn default_name(opts: &GetOptions, cluster: &str) -> String {
    format!("{}@{cluster}", identity_name(opts))
}

/// Who a context is for, as its default name starts: `NS/SA`, or
/// `user:NAME+GROUP...`.
pub(super) fn identity_name(opts: &GetOptions) -> String {
    match &opts.spec.principal {
        Principal::ServiceAccount(sa) => format!("{}/{sa}", opts.spec.namespace),
        Principal::User { name, groups } => {
            let groups: String = groups.iter().map(|g| format!("+{g}")).collect();
            format!("user:{name}{groups}")
        }
    }
}

/// `setup`: validate, then write the user and context.
pub fn setup(
    opts: &GetOptions,
    context_name: Option<&str>,
    dry_run: bool,
    print_rbac_only: bool,
    use_context: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let spec = &opts.spec;
    let chosen = exec_command::for_this_binary()?;
    // What the exec entry runs with (the admin kubeconfig named in it when
    // kubectl found the admin context through KUBECONFIG).
    let mut entry_opts = opts.clone();
    if let Some(w) = &chosen.warning {
        tracing::warn!("{w}");
    }
    let (cluster_name, cluster_entry) = match (&spec.broker, &spec.vault) {
        (Some(_), _) | (_, Some(_)) if print_rbac_only => {
            return Err(Error::Usage(
                "--print-rbac needs an admin context; with --broker or --source vault, the operator of the broker or of Vault grants the ServiceAccount its rights".into(),
            ));
        }
        (Some(b), _) => {
            let (name, body) = super::broker_setup::validate(b, opts, dry_run)?;
            (name, Some(body))
        }
        (None, Some(v)) => {
            let (name, body) = super::vault_minter::setup_check(v, opts, dry_run)?;
            (name, Some(body))
        }
        (None, None) => {
            let kc = Kubeconfigs::load(spec.kubeconfig.as_deref())?;
            let admin_ctx = kc.context(&spec.admin_context)?;
            let session = AdminSession::new(spec.kubeconfig.as_deref(), &spec.admin_context);
            let admin = session.admin(None)?;
            if print_rbac_only {
                return session.block_on(print_rbac(admin, opts, out))?;
            }
            session.block_on(validate(admin, opts))??;
            entry_opts = anchored(&kc, opts)?;
            (admin_ctx.cluster, None)
        }
    };
    check_store(opts.cache)?;

    let name = context_name
        .map(str::to_string)
        .unwrap_or_else(|| default_name(opts, &cluster_name));
    let mut ed = Editable::open(spec.kubeconfig.as_deref())?;
    // With a broker, the cluster entry too: the client has no admin
    // kubeconfig to take it from.
    let cluster = cluster_entry.map(|body| ed.upsert("clusters", "cluster", &cluster_name, body));
    let user = ed.upsert(
        "users",
        "user",
        &name,
        exec_user(&entry_opts, &chosen.command),
    );
    let context = ed.upsert(
        "contexts",
        "context",
        &name,
        context_body(&cluster_name, &name, &spec.namespace),
    );
    // Root writing another account's kubeconfig: kubectl runs the entry as
    // that account (issue 33, item 3).
    if let Some(w) = exec_command::not_runnable_by_owner(&chosen.command, &user.file) {
        tracing::warn!("{w}");
    }
    // kubectl's current context: the new one when asked (--use), or when
    // the kubeconfig has none (a fresh account's plain kubectl would go to
    // localhost:8080), as cloud CLIs' get-credentials do (issue 33).
    let now_current = ed.current_context().map(str::to_string);
    let switch = (use_context || now_current.is_none()) && now_current.as_deref() != Some(&name);
    if switch {
        ed.use_context(&name);
    }
    if dry_run {
        // Only these items, as a diff; nothing else of the files, and no
        // credential of a replaced item (security.md: never printed).
        writeln!(out, "# dry run: nothing was written")?;
        let cluster_item = cluster
            .as_ref()
            .map(|c| ("cluster", c, cluster_name.as_str()));
        for (what, u, name) in cluster_item.into_iter().chain([
            ("user", &user, name.as_str()),
            ("context", &context, name.as_str()),
        ]) {
            let verb = match (&u.before, u.changes()) {
                (None, _) => "would be added to",
                (Some(_), true) => "would be replaced in",
                (Some(_), false) => "stays as it is in",
            };
            writeln!(out, "# {what} {name:?} {verb} {}", u.file.display())?;
            write!(out, "{}", redacted_diff(u.before.as_ref(), &u.after)?)?;
        }
        if switch {
            writeln!(out, "# current-context would be {name:?}")?;
        }
        check_kuberc(&chosen.command);
        return Ok(());
    }
    let saved = ed.save()?;
    if saved.is_empty() {
        eprintln!("the kubeconfig already has user and context {name:?}; nothing changed");
    }
    for (path, backup) in saved {
        match backup {
            Some(b) => eprintln!(
                "wrote user and context {name:?} to {} (previous file kept as {})",
                path.display(),
                b.display()
            ),
            None => eprintln!("wrote user and context {name:?} to {}", path.display()),
        }
    }
    // An entry of that name that said something else is gone now: said
    // aloud, with what it was (no credential of it).
    for (what, u) in [("user", &user), ("context", &context)] {
        if let (Some(before), true) = (&u.before, u.changes()) {
            eprintln!("replaced {what} {name:?} (was: {})", summary(before));
        }
    }
    if switch {
        match &now_current {
            Some(was) => eprintln!("switched the current context to {name:?} (was {was:?})"),
            None => eprintln!("made {name:?} the current context (there was none)"),
        }
    }
    check_kuberc(&chosen.command);
    // The next command, as it runs from here: with the file the context
    // went into when kubectl would not find it on its own.
    let file = spec
        .kubeconfig
        .as_deref()
        .map(|f| format!("--kubeconfig {} ", shell_word(&f.display().to_string())))
        .unwrap_or_default();
    writeln!(
        out,
        "kubectl {file}--context {} auth whoami",
        shell_word(&name)
    )?;
    Ok(())
}

/// `opts` as the exec entry should run them (issue 33): the admin
/// kubeconfig named by its absolute path (`--kubeconfig FILE`) whenever
/// kubectl found the admin context elsewhere than the default
/// `~/.kube/config`, so that kubectl run without KUBECONFIG (an IDE, k9s
/// from a launcher, cron) finds it too; an entry found in the default file
/// stays portable. A context spread over several files (KUBECONFIG's list)
/// cannot be named by one path: said, and the entry relies on KUBECONFIG.
fn anchored(kc: &Kubeconfigs, opts: &GetOptions) -> Result<GetOptions, Error> {
    let mut own = opts.clone();
    let absolute = crate::fsutil::absolute;
    if let Some(given) = &opts.spec.kubeconfig {
        own.spec.kubeconfig = Some(absolute(given));
        return Ok(own);
    }
    let default = crate::kubeconfig::default_path().ok().map(|p| absolute(&p));
    match kc.single_file_of(&opts.spec.admin_context)? {
        Some(file) if Some(absolute(&file)) != default => {
            own.spec.kubeconfig = Some(absolute(&file));
        }
        Some(_) => {}
        None => tracing::warn!(
            "admin context {:?} takes its cluster or user from another kubeconfig file, and an exec entry can name one file: the entry relies on KUBECONFIG naming them all, so kubectl run without it will not find the admin context; to make it work everywhere, put them in one file (`kubectl config view --flatten --minify --context {} > FILE`) and run setup --kubeconfig FILE",
            opts.spec.admin_context,
            opts.spec.admin_context
        ),
    }
    Ok(own)
}

/// Says so when kubectl's credential plugin policy (kuberc) would refuse
/// to run the entry's `command`, and what to add.
pub(super) fn check_kuberc(command: &str) {
    match crate::kuberc::load() {
        Ok(Some(k)) => {
            if let Err(why) = k.check(command) {
                eprintln!(
                    "warning: kubectl will not run this exec entry: {why}; {}",
                    k.fix_for(command)
                );
            }
        }
        Ok(None) => {}
        Err(e) => eprintln!("warning: {e}"),
    }
}

/// What a kubeconfig user or context item was, in a few words and without
/// its credentials: an exec entry's command and arguments (secret-looking
/// flags redacted), what else a user carries, a context's cluster, user and
/// namespace.
fn summary(item: &Value) -> String {
    let redacted = crate::kubeconfig::redacted(item);
    if let Some(exec) = redacted.get("user").and_then(|u| u.get("exec")) {
        let mut words = vec![
            exec.get("command")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        ];
        words.extend(super::identity::args_of(exec));
        return words.join(" ");
    }
    if let Some(user) = redacted.get("user").and_then(Value::as_mapping) {
        let keys: Vec<&str> = user.keys().filter_map(Value::as_str).collect();
        return format!("a user with {}", keys.join(", "));
    }
    if let Some(ctx) = redacted.get("context") {
        let field = |k: &str| {
            ctx.get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        return format!(
            "cluster {}, user {}, namespace {}",
            field("cluster"),
            field("user"),
            field("namespace")
        );
    }
    "an entry of another shape".into()
}

/// The rights the options need that the admin context lacks.
async fn missing_rights(admin: &Admin, opts: &GetOptions) -> Result<Vec<rights::Right>, Error> {
    let mut missing = Vec::new();
    for right in rights::needed(opts) {
        if !right.held(admin, &opts.spec.namespace).await? {
            missing.push(right);
        }
    }
    Ok(missing)
}

/// The checks `setup` makes before writing anything: every right the
/// options need (all missing ones said at once), then the ServiceAccount.
async fn validate(admin: &Admin, opts: &GetOptions) -> Result<(), Error> {
    let spec = &opts.spec;
    let missing = missing_rights(admin, opts).await?;
    if !missing.is_empty() {
        return Err(rights::refusal(
            &missing,
            &spec.admin_context,
            &spec.namespace,
        ));
    }
    if let Principal::ServiceAccount(sa) = &spec.principal {
        admin.service_account(&spec.namespace, sa).await?;
        // The classic source needs a token Secret, unless get may make one.
        if spec.source == SourceKind::Secret && !opts.create_secret {
            admin.require_token_secret(&spec.namespace, sa).await?;
        }
    }
    Ok(())
}

/// The store the entry names must work here, or every kubectl call with
/// it would fail (`--cache keyring` without a Secret Service, say): one
/// entry of a real entry's size written, read and deleted.
fn check_store(choice: CacheChoice) -> Result<(), Error> {
    let unusable = |why: String| {
        Error::StoreUnusable(format!(
            "the store --cache {} names does not work here ({why}), so kubectl would fail on every call with this entry; nothing was written: pick another --cache (`kube-sa-token doctor --cache NAME` checks one)",
            choice.as_str()
        ))
    };
    let cache = Cache::open(choice).map_err(|e| unusable(e.to_string()))?;
    match cache.self_test() {
        Ok(true) => Ok(()),
        Ok(false) => Err(unusable("it did not return what was written".into())),
        Err(e) => Err(unusable(e.to_string())),
    }
}

/// `setup --print-rbac`: the Role/ClusterRole and bindings that grant the
/// admin context exactly the rights these options need and it lacks, for
/// `kubectl apply -f -`. Writes no kubeconfig.
async fn print_rbac(admin: &Admin, opts: &GetOptions, out: &mut dyn Write) -> Result<(), Error> {
    let missing = missing_rights(admin, opts).await?;
    if missing.is_empty() {
        eprintln!(
            "admin context {:?} already has every right these options need; nothing to grant",
            opts.spec.admin_context
        );
        return Ok(());
    }
    // Whom to grant them to, as the server knows the admin context.
    let subject = admin.whoami().await?.username.ok_or_else(|| {
        Error::CheckFailed(
            "the server did not say who the admin context is (SelfSubjectReview named no user); grant the rights by hand (docs/troubleshooting.md)".into(),
        )
    })?;
    write!(
        out,
        "{}",
        rights::manifest(&missing, &opts.spec.namespace, &subject)
    )?;
    Ok(())
}

/// The first `name` on PATH, as client-go finds an exec command.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_entry_is_complete() {
        let u = exec_user(&crate::testing::opts(), "kube-sa-token");
        let e = u.get("exec").unwrap();
        assert_eq!(e.get("apiVersion").unwrap().as_str(), Some(V1));
        assert_eq!(e.get("interactiveMode").unwrap().as_str(), Some("Never"));
        assert_eq!(e.get("provideClusterInfo").unwrap().as_bool(), Some(true));
        assert!(e.get("installHint").is_some());
        assert!(!e.get("command").unwrap().as_str().unwrap().is_empty());
    }

    #[test]
    fn a_users_default_context_name_carries_its_groups() {
        let mut o = crate::testing::opts();
        assert_eq!(default_name(&o, "test"), "team/viewer@test");
        o.spec.principal = Principal::User {
            name: "alice".into(),
            groups: vec![],
        };
        assert_eq!(default_name(&o, "test"), "user:alice@test");
        o.spec.principal = Principal::User {
            name: "alice".into(),
            groups: vec!["dev".into(), "qa".into()],
        };
        let name = default_name(&o, "test");
        assert_eq!(name, "user:alice+dev+qa@test");
        assert_eq!(shell_word(&name), name, "no quoting needed");
    }
}
