//! `kubectl sa-token <TAB>`: kubectl 1.26+ completes a plugin's arguments by
//! running `kubectl_complete-sa_token` from PATH with the words typed after
//! the plugin's name (the last one being completed, maybe empty), and reads
//! Cobra's `__complete` answer: one candidate per line (`word<TAB>help`),
//! then `:DIRECTIVE`. install.sh links that name to the binary. The shells'
//! scripts (`completions`) ask `kube-sa-token __complete WORDS...` the same
//! for what only the kubeconfig knows: the context names after `--context`
//! (the contexts `setup` wrote) and `--admin-context` (the others).

use std::path::Path;

use crate::kubeconfig::Kubeconfigs;
use clap::Command;

/// Cobra's ShellCompDirectiveNoFileComp and ShellCompDirectiveDefault.
const NO_FILES: u8 = 4;
const DEFAULT: u8 = 0;

/// The answer for the words `args` (the last one is being completed).
pub fn answer(cmd: &Command, args: &[String]) -> String {
    let (partial, before) = match args.split_last() {
        Some((p, b)) => (p.as_str(), b),
        None => ("", &[][..]),
    };
    let mut cmd = cmd;
    for word in before {
        if let Some(sub) = cmd.find_subcommand(word) {
            cmd = sub;
        }
    }
    let mut lines = Vec::new();
    let value_of = before.last().filter(|_| !partial.starts_with('-'));
    let directive = if let Some(values) = value_of.and_then(|f| values(cmd, f, before)) {
        lines.extend(values.into_iter().filter(|v| v.starts_with(partial)));
        NO_FILES
    } else if partial.starts_with('-') {
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                let word = format!("--{long}");
                if word.starts_with(partial) {
                    lines.push(line(&word, arg.get_help().map(|h| h.to_string())));
                }
            }
        }
        NO_FILES
    } else if cmd.has_subcommands() {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(partial) && sub.get_name() != "help" {
                lines.push(line(sub.get_name(), sub.get_about().map(|h| h.to_string())));
            }
        }
        NO_FILES
    } else {
        DEFAULT
    };
    lines.push(format!(":{directive}"));
    lines.join("\n") + "\n"
}

/// The values the flag `flag` takes, when they can be listed: kubeconfig
/// context names, or its choices.
fn values(cmd: &Command, flag: &str, before: &[String]) -> Option<Vec<String>> {
    let arg = match flag.strip_prefix("--") {
        Some(long) => cmd.get_arguments().find(|a| a.get_long() == Some(long))?,
        None => {
            let mut c = flag.strip_prefix('-')?.chars();
            let (Some(short), None) = (c.next(), c.next()) else {
                return None;
            };
            cmd.get_arguments().find(|a| a.get_short() == Some(short))?
        }
    };
    match arg.get_long() {
        Some("context") => Some(contexts(before, true)),
        Some("admin-context") => Some(contexts(before, false)),
        _ => {
            let choices: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_string())
                .collect();
            (!choices.is_empty()).then_some(choices)
        }
    }
}

/// The contexts of the kubeconfig the words name (`--kubeconfig F`, else
/// KUBECONFIG, else ~/.kube/config): those whose user runs us (what `setup`
/// wrote) when `ours`, else the others.
fn contexts(before: &[String], ours: bool) -> Vec<String> {
    let file = before
        .iter()
        .position(|w| w == "--kubeconfig")
        .and_then(|i| before.get(i + 1))
        .map(Path::new);
    let Ok(kc) = Kubeconfigs::load(file) else {
        return Vec::new();
    };
    let running_us = crate::app::contexts_running_us(&kc);
    kc.context_names()
        .into_iter()
        .filter(|c| running_us.contains(c) == ours)
        .collect()
}

/// `word<TAB>first line of help`.
fn line(word: &str, help: Option<String>) -> String {
    match help.as_deref().and_then(|h| h.lines().next()) {
        Some(h) if !h.is_empty() => format!("{word}\t{h}"),
        _ => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn ask(words: &[&str]) -> String {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        answer(&super::super::args::Cli::command(), &words)
    }

    #[test]
    fn subcommands_then_flags_in_cobra_format() {
        let top = ask(&[""]);
        assert!(
            top.contains("\nsetup\t") || top.starts_with("setup\t"),
            "{top}"
        );
        assert!(top.ends_with(":4\n"), "{top}");
        assert!(!top.contains("help\t"), "{top}");
        let se = ask(&["se"]);
        assert_eq!(
            se.lines().filter(|l| !l.starts_with(':')).count(),
            2,
            "{se}"
        );
        assert!(se.starts_with("setup\t"), "{se}");
        assert!(se.contains("\nserve\t"), "{se}");
        let flags = ask(&["setup", "--admin"]);
        assert!(flags.starts_with("--admin-context\t"), "{flags}");
        assert!(flags.ends_with(":4\n"));
        assert!(ask(&["cache", ""]).contains("list\t"));
        // A positional argument: the shell's own completion.
        assert_eq!(ask(&["setup", "team/"]), ":0\n");
    }

    /// Issue 33, item 10: the context flags' values from the kubeconfig
    /// the words name; a choice flag's values.
    #[test]
    fn context_names_and_choices() {
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("config");
        std::fs::write(
            &kc,
            "contexts:\n- {name: admin, context: {cluster: c, user: admin}}\n- {name: team/viewer@c, context: {cluster: c, user: v}}\nusers:\n- {name: admin, user: {token: t}}\n- {name: v, user: {exec: {command: kube-sa-token, args: [get, --admin-context, admin]}}}\n",
        )
        .unwrap();
        let kc = kc.to_str().unwrap();
        assert_eq!(
            ask(&["setup", "--kubeconfig", kc, "--admin-context", "adm"]),
            "admin\n:4\n"
        );
        assert_eq!(
            ask(&["whoami", "--kubeconfig", kc, "--context", ""]),
            "team/viewer@c\n:4\n"
        );
        assert_eq!(ask(&["whoami", "-o", ""]), "text\njson\nyaml\n:4\n");
    }
}
