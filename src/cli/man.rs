//! The man pages (`kube-sa-token man`): clap_mangen's NAME, SYNOPSIS,
//! DESCRIPTION, OPTIONS and SUBCOMMANDS, then what a man page reader looks
//! for and clap does not know: EXAMPLES (the help's examples), EXIT STATUS,
//! ENVIRONMENT, FILES and SEE ALSO; `serve`'s page carries the broker's
//! essentials (its files, a policy), since docs/broker.md may not be there.

use std::io::{self, Write};
use std::path::Path;

use clap::Command;
use clap_mangen::Man;

/// What each exit status means (the same for every command).
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    (
        "1",
        "any other failure (a check that failed, output that could not be written)",
    ),
    (
        "2",
        "usage: a flag or value that is not accepted, or a malformed KUBERNETES_EXEC_INFO",
    ),
    (
        "3",
        "the kubeconfig or the admin context (its login included)",
    ),
    (
        "4",
        "the API server: refused (missing RBAC rights included), unreachable, or a broker that is down",
    ),
    ("5", "the token store"),
    (
        "6",
        "refused for safety: cluster binding, recursion, the broker's policy, an impostor socket",
    ),
];

/// The variables the tool reads.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "KUBECONFIG",
        "the admin kubeconfig files, merged as kubectl merges them; setup writes into them (else ~/.kube/config)",
    ),
    (
        "KUBE_SA_TOKEN_ADMIN_CONTEXT",
        "the admin context of typed commands without --admin-context (else the current context)",
    ),
    (
        "KUBE_SA_TOKEN_BROKER",
        "the socket --broker without a path names (else /run/kube-sa-token/broker.sock)",
    ),
    (
        "KUBE_SA_TOKEN_RETRY_NOW",
        "set to 1: mint again at once instead of waiting out the failure backoff",
    ),
    (
        "KUBERNETES_EXEC_INFO",
        "set by kubectl for get: the ExecCredential request (API version, cluster, whether a person is there)",
    ),
    (
        "XDG_RUNTIME_DIR",
        "the memory-backed directory (the tmpfs store, locks, bookkeeping); serve's socket when not run by root",
    ),
    (
        "XDG_CACHE_HOME",
        "the cache directory (default ~/.cache): the index and the file store",
    ),
    (
        "XDG_STATE_HOME",
        "serve's audit log when not run by root (default ~/.local/state)",
    ),
    (
        "VAULT_ADDR, BAO_ADDR",
        "--source vault: the Vault (OpenBao) server of typed commands without --vault-addr; exec entries name it",
    ),
    (
        "VAULT_TOKEN, BAO_TOKEN",
        "--source vault: the Vault token (else ~/.vault-token, else the entry's --vault-login)",
    ),
    (
        "VAULT_CACERT, BAO_CACERT",
        "--source vault: the CA of Vault's certificate for typed commands without --vault-ca",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
        "proxies, chosen as kubectl chooses them (a kubeconfig's proxy-url first)",
    ),
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "the session bus of the OS keyring (Secret Service) for --cache keyring and auto",
    ),
];

/// The files the tool reads and writes.
const FILES: &[(&str, &str)] = &[
    (
        "~/.kube/config",
        "where setup writes a user and a context (or --kubeconfig, or KUBECONFIG's first file), keeping FILE.kube-sa-token-TIME.bak, the newest five",
    ),
    (
        "~/.cache/kube-sa-token/index.json",
        "what is cached, for cache list, logout and doctor; never a credential",
    ),
    (
        "~/.cache/kube-sa-token/tokens/",
        "the file store (--cache file): 0600 files in a 0700 directory",
    ),
    (
        "$XDG_RUNTIME_DIR/kube-sa-token/",
        "the tmpfs store, locks and bookkeeping; else /run/user/UID/kube-sa-token or /dev/shm/kube-sa-token-UID",
    ),
];

/// `serve`'s files and a policy, for a machine without docs/broker.md.
const SERVE_FILES: &[(&str, &str)] = &[
    (
        "/etc/kube-sa-token/policy.yaml",
        "the policy (--policy): which callers may have which credentials; default deny; re-read when it changes; refused when others may change it",
    ),
    (
        "/run/kube-sa-token/broker.sock",
        "the socket as root (--socket); else $XDG_RUNTIME_DIR/kube-sa-token/broker.sock",
    ),
    (
        "/var/log/kube-sa-token/audit.jsonl",
        "one JSON line per request (--audit-log) as root; else ~/.local/state/kube-sa-token/audit.jsonl",
    ),
];

const POLICY: &str = "version: 1
rules:
  - name: agents-view
    callers: {users: [agent]}        # also uids, groups, gids
    serviceAccounts: [\"team/viewer\", \"ci-*/deployer\"]
    maxDuration: 1h
    audiences: [vault]               # optional
  - name: alice-as-user
    callers: {users: [alice]}
    x509Users: [\"alice\"]
    x509Groups: [\"dev\"]";

/// Every page, the command's own and each visible subcommand's, into
/// `dir` (as clap_mangen names them: kube-sa-token-setup.1, ...).
pub fn write_pages(cmd: Command, dir: &Path) -> io::Result<()> {
    fn each(cmd: Command, dir: &Path) -> io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            each(sub, dir)?;
        }
        let man = Man::new(cmd.clone());
        let mut file = std::fs::File::create(dir.join(man.get_filename()))?;
        render(&cmd, &man, &mut file)?;
        file.flush()
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    each(cmd, dir)
}

/// The top page, on `out`.
pub fn write_top(cmd: Command, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    render(&cmd, &Man::new(cmd.clone()), out)
}

fn render(cmd: &Command, man: &Man, out: &mut dyn Write) -> io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    let top = cmd.get_bin_name().is_none_or(|b| !b.contains(' '));
    let examples = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .and_then(|h| h.strip_prefix("Examples:\n").map(str::to_string));
    if let Some(text) = examples {
        section(out, "EXAMPLES")?;
        preformatted(out, &text)?;
    }
    section(out, "EXIT STATUS")?;
    list(out, EXIT_STATUS)?;
    let serve = cmd.get_name() == "serve";
    if top || serve {
        section(out, "ENVIRONMENT")?;
        list(out, ENVIRONMENT)?;
        section(out, "FILES")?;
        list(out, if serve { SERVE_FILES } else { FILES })?;
    }
    if serve {
        section(out, "POLICY")?;
        paragraph(
            out,
            "A request is allowed by the first rule that names its caller (from the kernel: SO_PEERCRED) and the credential; '*' in a pattern never matches '/'. Durations above maxDuration are refused (or capped with overMaxDuration: cap).",
        )?;
        preformatted(out, POLICY)?;
        paragraph(
            out,
            "Clients: kube-sa-token setup NAMESPACE/NAME --broker [SOCKET] [--broker-owner ACCOUNT], the command serve prints when it starts.",
        )?;
    }
    section(out, "SEE ALSO")?;
    let pages = if top {
        "kubectl(1); every command's own page, e.g. kube-sa-token-setup(1)"
    } else {
        "kube-sa-token(1), kubectl(1)"
    };
    paragraph(
        out,
        &format!(
            "{pages}. The guides (README.md, docs/broker.md, docs/troubleshooting.md, docs/security.md) are installed under PREFIX/share/doc/kube-sa-token by install.sh, and are in the source repository."
        ),
    )?;
    man.render_version_section(out)
}

/// Text safe in a roff line: backslashes escaped, no line that starts a
/// request ('.' or '\'').
fn escape(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}

fn section(out: &mut dyn Write, name: &str) -> io::Result<()> {
    writeln!(out, ".SH \"{name}\"")
}

fn paragraph(out: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(out, ".PP\n{}", escape(text))
}

fn preformatted(out: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(out, ".PP\n.nf\n.RS 2")?;
    for line in text.lines() {
        writeln!(out, "{}", escape(line))?;
    }
    writeln!(out, ".RE\n.fi")
}

fn list(out: &mut dyn Write, items: &[(&str, &str)]) -> io::Result<()> {
    for (term, what) in items {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", escape(term), escape(what))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Issue 33, item 16: each page has its examples, exit status and
    /// pointers; the top page and serve's have the environment and files.
    #[test]
    fn pages_have_what_man_readers_look_for() {
        let dir = tempfile::tempdir().unwrap();
        super::write_pages(super::super::args::Cli::command(), dir.path()).unwrap();
        let page = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        let top = page("kube-sa-token.1");
        for s in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
            "KUBE_SA_TOKEN_RETRY_NOW",
            "XDG_RUNTIME_DIR",
        ] {
            assert!(top.contains(s), "{s} in the top page");
        }
        assert!(!top.contains(".SH EXTRA"), "exit codes are not an EXTRA");
        let setup = page("kube-sa-token-setup.1");
        assert!(setup.contains(".SH \"EXAMPLES\""));
        assert!(setup.contains("kube\\-sa\\-token setup"), "examples kept");
        assert!(setup.contains("kube\\-sa\\-token(1)"));
        let serve = page("kube-sa-token-serve.1");
        for s in [
            "POLICY",
            "/etc/kube\\-sa\\-token/policy.yaml",
            "serviceAccounts",
            "audit.jsonl",
        ] {
            assert!(serve.contains(s), "{s} in serve's page");
        }
        // The policy shown is one serve loads.
        crate::broker::policy::Policy::parse(super::POLICY).unwrap();
        // Every line a roff request or text that starts none by accident.
        for line in serve.lines().chain(top.lines()) {
            assert!(!line.starts_with('\''), "{line}");
        }
    }
}
