//! `completions SHELL`: clap_complete's script, with the values only the
//! kubeconfig knows (context names after `--context` and `--admin-context`)
//! asked of `kube-sa-token __complete WORDS...` at each TAB
//! ([`super::plugin_complete`], the answer `kubectl sa-token` gets too).

use clap::Command;
use clap_complete::Shell;

/// bash: a function in front of clap's that answers for the two flags
/// itself. The line is re-split on blanks only: bash splits words at ':'
/// (COMP_WORDBREAKS), which broker context names hold.
const BASH: &str = r#"
# Context names after --context and --admin-context, from the kubeconfig.
_kube_sa_token_with_contexts() {
    local line="${COMP_LINE:0:COMP_POINT}" words cur prev cand strip=
    read -ra words <<<"$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    cur=${words[${#words[@]}-1]}
    prev=${words[${#words[@]}-2]}
    case $prev in
    --context | --admin-context)
        compopt +o default +o bashdefault 2>/dev/null
        [[ $cur == *:* ]] && strip=${cur%:*}:
        COMPREPLY=()
        while IFS= read -r cand; do
            cand=${cand%%$'\t'*}
            [[ $cand == :* || $cand != "$cur"* ]] && continue
            COMPREPLY+=("${cand#"$strip"}")
        done < <("${words[0]}" __complete "${words[@]:1}" 2>/dev/null)
        ;;
    *) _kube__sa__token "$@" ;;
    esac
}
complete -F _kube_sa_token_with_contexts -o nosort -o bashdefault -o default kube-sa-token
"#;

/// zsh: the action of the two flags' values.
const ZSH: &str = r#"
# Context names after --context and --admin-context, from the kubeconfig.
_kube_sa_token_contexts() {
    local -a cands
    cands=(${(f)"$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)"})
    cands=(${cands:#:*})
    cands=(${cands%%$'\t'*})
    compadd -a cands
}
"#;

/// fish: the candidates of the two flags' values.
const FISH: &str = r#"
# Context names after --context and --admin-context, from the kubeconfig.
function __kube_sa_token_contexts
    kube-sa-token __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null | string match -rv '^:' | string replace -r '\t.*' ''
end
"#;

/// The script for `shell`.
pub fn script(shell: Shell, mut cmd: Command) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kube-sa-token", &mut out);
    let text = String::from_utf8(out).expect("clap_complete writes UTF-8");
    match shell {
        Shell::Bash => text + BASH,
        Shell::Zsh => {
            let text = ["--context=[", "--admin-context=["]
                .iter()
                .fold(text, |t, flag| with_action(&t, flag));
            match text.split_once('\n') {
                Some((first, rest)) => format!("{first}\n{ZSH}{rest}"),
                None => text,
            }
        }
        Shell::Fish => {
            let lines: Vec<String> = text
                .lines()
                .map(|l| {
                    let ours = l.contains(" -l context ") || l.contains(" -l admin-context ");
                    match l.strip_suffix(" -r") {
                        Some(head) if ours => {
                            format!("{head} -x -a '(__kube_sa_token_contexts)'")
                        }
                        _ => l.to_string(),
                    }
                })
                .collect();
            format!("{FISH}{}\n", lines.join("\n"))
        }
        _ => text,
    }
}

/// zsh: `'--flag=[help]:NAME:_default'` with our action instead.
fn with_action(text: &str, flag: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(&format!("'{flag}")) && l.contains(":_default'") {
                l.replacen(":_default'", ":_kube_sa_token_contexts'", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn of(shell: Shell) -> String {
        script(shell, super::super::args::Cli::command())
    }

    /// Issue 33, item 10: each shell's script asks `__complete` for the
    /// context flags' values, and nothing else changes.
    #[test]
    fn every_shell_asks_for_context_names() {
        let bash = of(Shell::Bash);
        assert!(bash.contains("_kube__sa__token()"), "clap's function kept");
        assert!(bash.trim_end().ends_with(
            "complete -F _kube_sa_token_with_contexts -o nosort -o bashdefault -o default kube-sa-token"
        ));
        let zsh = of(Shell::Zsh);
        assert!(zsh.starts_with("#compdef kube-sa-token\n"));
        let ours = zsh.matches(":_kube_sa_token_contexts'").count();
        let flags = zsh.matches("'--context=[").count() + zsh.matches("'--admin-context=[").count();
        assert!(ours > 0 && ours == flags, "{ours} of {flags}");
        let fish = of(Shell::Fish);
        let lines: Vec<&str> = fish
            .lines()
            .filter(|l| l.contains(" -l context ") || l.contains(" -l admin-context "))
            .collect();
        assert!(!lines.is_empty());
        for l in lines {
            assert!(l.ends_with(" -x -a '(__kube_sa_token_contexts)'"), "{l}");
        }
    }
}
