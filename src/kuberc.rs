//! kubectl's credential plugin policy (kuberc, kubectl 1.35+): which exec
//! plugins kubectl may run. kubectl reads its preferences from `$KUBERC`
//! (`off`: none) or `~/.kube/kuberc`; `credentialPluginPolicy` is `AllowAll`
//! (also when unset), `DenyAll` or `Allowlist`, and
//! `credentialPluginAllowlist` names the programs an allowlist permits, by
//! full path or by a name looked up on PATH. `setup` and `doctor` say when
//! kubectl would refuse our exec entry, and what to add; the admin
//! context's exec plugin runs only where kubectl would run it, refused with
//! kubectl's own words.

use std::path::{Component, Path, PathBuf};

/// The preferences file's variable, and the value that turns it off.
pub const KUBERC_ENV: &str = "KUBERC";

/// What kubectl may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    AllowAll,
    DenyAll,
    /// Full paths, or names looked up on PATH.
    Allowlist(Vec<String>),
}

/// The policy of one preferences file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kuberc {
    pub path: PathBuf,
    pub policy: Policy,
}

/// A preferences file kubectl would refuse too.
#[derive(Debug, thiserror::Error)]
#[error("kubectl's preferences {}: {why}; fix the file (kubectl refuses it too)", path.display())]
pub struct KubercError {
    pub path: PathBuf,
    pub why: String,
}

/// Where kubectl reads its preferences; `None` when `KUBERC=off`.
pub fn path() -> Option<PathBuf> {
    match std::env::var_os(KUBERC_ENV) {
        Some(v) if v == "off" => None,
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => directories::BaseDirs::new().map(|b| b.home_dir().join(".kube").join("kuberc")),
    }
}

/// The policy in force; `None` without a preferences file (kubectl then
/// runs every plugin).
pub fn load() -> Result<Option<Kuberc>, KubercError> {
    let Some(path) = path() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(KubercError {
                path,
                why: format!("cannot be read ({e})"),
            });
        }
    };
    parse(&text)
        .map(|policy| {
            Some(Kuberc {
                path: path.clone(),
                policy,
            })
        })
        .map_err(|why| KubercError { path, why })
}

/// The policy a preferences file sets, checked as kubectl checks it: a
/// policy that does not make sense is an error, never "allow all".
pub fn parse(text: &str) -> Result<Policy, String> {
    let doc: serde_yaml::Value = if text.trim().is_empty() {
        serde_yaml::Value::Null
    } else {
        serde_yaml::from_str(text)
            .map_err(|e| format!("not YAML ({})", crate::parse_error::yaml(&e)))?
    };
    let policy = doc
        .get("credentialPluginPolicy")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let list = doc.get("credentialPluginAllowlist");
    let names: Option<Vec<String>> = match list {
        None | Some(serde_yaml::Value::Null) => None,
        Some(v) => Some(
            v.as_sequence()
                .ok_or("credentialPluginAllowlist is not a list")?
                .iter()
                .map(|e| {
                    e.get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or("")
                        .to_string()
                })
                .collect(),
        ),
    };
    match (policy, names) {
        ("" | "AllowAll", None) => Ok(Policy::AllowAll),
        ("DenyAll", None) => Ok(Policy::DenyAll),
        ("" | "AllowAll" | "DenyAll", Some(_)) => Err(format!(
            "credential plugin policy is {policy:?} but credentialPluginAllowlist is set"
        )),
        ("Allowlist", None) => Err("credential plugin policy set to \"Allowlist\", but credentialPluginAllowlist is unspecified".into()),
        ("Allowlist", Some(v)) if v.is_empty() => Err("credential plugin policy set to \"Allowlist\", but credentialPluginAllowlist is empty; use \"DenyAll\"".into()),
        ("Allowlist", Some(v)) => {
            for (i, name) in v.iter().enumerate() {
                if name.is_empty() {
                    return Err(format!("empty credentialPluginAllowlist entry #{}", i + 1));
                }
                if clean(name) != *name {
                    return Err(format!("non-normalized path in credentialPluginAllowlist: {name:?} vs {:?}", clean(name)));
                }
            }
            Ok(Policy::Allowlist(v))
        }
        (other, _) => Err(format!("unknown credentialPluginPolicy {other:?}")),
    }
}

impl Kuberc {
    /// Whether kubectl may run `command` (an exec entry's, as written);
    /// else kubectl's reason, and where the policy is.
    pub fn check(&self, command: &str) -> Result<(), String> {
        let at = |why: String| {
            format!(
                "{why} (kubectl's credential plugin policy in {})",
                self.path.display()
            )
        };
        match &self.policy {
            Policy::AllowAll => Ok(()),
            Policy::DenyAll => Err(at(format!(
                "plugin {:?} not allowed: policy set to \"DenyAll\"",
                clean(command)
            ))),
            Policy::Allowlist(names) => {
                let configured = clean(command);
                if names.contains(&configured) {
                    return Ok(());
                }
                let resolved = look_path(command).ok_or_else(|| {
                    at(format!(
                        "plugin path {command:?} cannot be resolved for credential plugin allowlist check"
                    ))
                })?;
                let resolved = resolved.display().to_string();
                let permitted = names.iter().any(|n| {
                    *n == resolved
                        || look_path(n).is_some_and(|p| p.display().to_string() == resolved)
                });
                if permitted {
                    Ok(())
                } else {
                    Err(at(format!(
                        "plugin path {resolved:?} is not permitted by the credential plugin allowlist"
                    )))
                }
            }
        }
    }
}

/// The allowlist entry that lets kubectl run `command`: the path kubectl
/// finds it at (a full path narrows the permission most).
pub fn allowlist_entry(command: &str) -> String {
    let path = look_path(command).map_or_else(|| command.to_string(), |p| p.display().to_string());
    format!("credentialPluginAllowlist:\n- name: {path}")
}

impl Kuberc {
    /// What to change so that kubectl runs `command`, for `setup` and
    /// `doctor`: the entry to add (and the policy, when it is DenyAll).
    pub fn fix_for(&self, command: &str) -> String {
        let entry = allowlist_entry(command);
        let item = entry
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("- ");
        match self.policy {
            Policy::DenyAll => format!(
                "kubectl runs no exec plugin under DenyAll; to let it run this one, set in {}: credentialPluginPolicy: Allowlist, and credentialPluginAllowlist with the entry `{item}`",
                self.path.display()
            ),
            _ => format!(
                "add `{item}` to credentialPluginAllowlist in {}",
                self.path.display()
            ),
        }
    }
}

/// A path as Go's `filepath.Clean` writes it, for the comparisons kubectl
/// makes (separators collapsed, `.` dropped).
fn clean(p: &str) -> String {
    let path = Path::new(p);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    let s = out.display().to_string();
    if s.is_empty() { ".".into() } else { s }
}

/// Where a program is, as Go's `exec.LookPath` finds it: a name holding a
/// '/' as it is, else the first PATH directory (absolute ones only, as Go
/// refuses the others) that holds an executable file of that name.
pub fn look_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') || name.contains(std::path::MAIN_SEPARATOR) {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .flat_map(|d| candidates(&d, name))
        .find(|p| executable(p))
}

#[cfg(unix)]
fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(unix)]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    vec![dir.join(name)]
}

/// Windows has no executable bit: a file is a program by its extension.
#[cfg(not(unix))]
fn executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// As Go on Windows: the name as given when it has an extension of
/// `PATHEXT`, else the name with each of them.
#[cfg(not(unix))]
fn candidates(dir: &Path, name: &str) -> Vec<PathBuf> {
    let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
    let exts: Vec<String> = exts
        .split(';')
        .filter(|e| !e.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let lower = name.to_ascii_lowercase();
    if exts.iter().any(|e| lower.ends_with(e.as_str())) {
        return vec![dir.join(name)];
    }
    exts.iter()
        .map(|e| dir.join(format!("{name}{e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Result<Policy, String> {
        parse(text)
    }

    #[test]
    fn policies_parse_as_kubectl_reads_them() {
        let head = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n";
        assert_eq!(policy(head), Ok(Policy::AllowAll));
        assert_eq!(policy(""), Ok(Policy::AllowAll));
        assert_eq!(
            policy(&format!("{head}credentialPluginPolicy: DenyAll\n")),
            Ok(Policy::DenyAll)
        );
        // An absolute, normalized path (filepath.Clean leaves it alone).
        let x = if cfg!(windows) {
            r"C:\bin\x"
        } else {
            "/usr/bin/x"
        };
        assert_eq!(
            policy(&format!(
                "{head}credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: {x}\n- name: y\n"
            )),
            Ok(Policy::Allowlist(vec![x.into(), "y".into()]))
        );
        for bad in [
            "credentialPluginPolicy: Allowlist\n",
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: []\n",
            "credentialPluginPolicy: DenyAll\ncredentialPluginAllowlist:\n- name: x\n",
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: /usr//bin/x\n",
            "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- {}\n",
            "credentialPluginPolicy: Sometimes\n",
        ] {
            assert!(policy(bad).is_err(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_allowlist_permits_by_full_path_or_by_a_name_on_path() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("login");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let full = bin.display().to_string();
        let k = |names: &[&str]| Kuberc {
            path: "/k".into(),
            policy: Policy::Allowlist(names.iter().map(|s| s.to_string()).collect()),
        };
        assert!(k(&[&full]).check(&full).is_ok());
        assert!(k(&["login"]).check("login").is_ok(), "the name as written");
        let refused = k(&["/usr/bin/other"]).check(&full).unwrap_err();
        assert!(
            refused.contains(&format!(
                "plugin path {full:?} is not permitted by the credential plugin allowlist"
            )),
            "{refused}"
        );
        let deny = Kuberc {
            path: "/k".into(),
            policy: Policy::DenyAll,
        };
        assert!(
            deny.check(&full)
                .unwrap_err()
                .contains("not allowed: policy set to \"DenyAll\"")
        );
        assert_eq!(
            allowlist_entry(&full),
            format!("credentialPluginAllowlist:\n- name: {full}")
        );
    }
}
