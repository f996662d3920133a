//! The command an exec entry runs (`setup`, `kubeconfig`), and `doctor`'s
//! judgement of one: a name or path that stays valid when kube-sa-token is
//! upgraded. krew installs into `~/.krew/store/sa-token/vX.Y.Z/` and
//! Homebrew into `Cellar/kube-sa-token/X.Y.Z/`: versioned directories the
//! next upgrade deletes, while the names on PATH (`kube-sa-token`, krew's
//! `kubectl-sa_token` link) are moved to the new version.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::kuberc::look_path;

/// The binary's own name, and the one kubectl runs it by as a plugin.
pub const BIN: &str = "kube-sa-token";
pub const PLUGIN: &str = "kubectl-sa_token";
/// The full program's file name, beside [`BIN`] ([`crate::front`]).
pub const FULL: &str = "kube-sa-token-full";

/// The command to write, and why it may break later (`setup` says so).
pub struct Chosen {
    pub command: String,
    pub warning: Option<String>,
}

/// A name on PATH that runs this very binary (`kube-sa-token`, else krew's
/// `kubectl-sa_token`), else the binary's absolute path, with a warning
/// when that path is in a versioned store. Refused when that path could be
/// replaced by another local user ([`replaceable`]): kubectl would run
/// whatever is there, as the kubeconfig's owner.
pub fn for_this_binary() -> Result<Chosen, Error> {
    let Some(me) = this_program() else {
        return Ok(Chosen {
            command: BIN.into(),
            warning: None,
        });
    };
    for name in [BIN, PLUGIN] {
        if look_path(name).and_then(|p| p.canonicalize().ok()).as_ref() == Some(&me) {
            return Ok(Chosen {
                command: name.into(),
                warning: None,
            });
        }
    }
    // The full program the front binary runs: as open to others as the
    // front itself would be.
    let full = me.with_file_name(format!("{FULL}{}", std::env::consts::EXE_SUFFIX));
    let others = replaceable(&me).or_else(|| full.is_file().then(|| replaceable(&full)).flatten());
    if let Some(why) = others {
        return Err(Error::Refused(format!(
            "not writing an exec entry that runs {}: {why}, and kubectl would run whatever is there then, as you; install kube-sa-token where only you or root can write (./install.sh puts it in ~/.local/bin; PREFIX=/usr/local ./install.sh for every account) and run setup from there",
            me.display()
        )));
    }
    let warning = versioned_store(&me).map(|store| {
        format!(
            "the exec entry runs {} in {store}, which the next upgrade removes; put {BIN} or {PLUGIN} on PATH (krew: ~/.krew/bin) and run setup again",
            me.display()
        )
    });
    Ok(Chosen {
        command: me.display().to_string(),
        warning,
    })
}

/// The program kubectl should run, links resolved: the front binary
/// [`BIN`] beside this one when this is the full program
/// ([`FULL`]), which serves cache hits at a fraction of the
/// cost; else this binary.
fn this_program() -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?.canonicalize().ok()?;
    let full = format!("{}{}", FULL, std::env::consts::EXE_SUFFIX);
    if me.file_name().is_some_and(|n| *n == *full) {
        let front = me.with_file_name(format!("{BIN}{}", std::env::consts::EXE_SUFFIX));
        if front.is_file() {
            return Some(front);
        }
    }
    Some(me)
}

/// Why another local user could put their own program at `path` (issue 32,
/// finding 10): a sticky directory every user may write (/tmp) above it
/// counts, since a path written into an exec entry outlives what is there.
pub fn replaceable(path: &Path) -> Option<String> {
    crate::fsutil::changeable_by_others(path, crate::fsutil::Sticky::Fails)
}

/// The package manager's versioned directory `path` lies in, if any.
pub fn versioned_store(path: &Path) -> Option<String> {
    let krew_root = std::env::var_os("KREW_ROOT").map(PathBuf::from);
    if let Some(root) = krew_root
        && path.starts_with(root.join("store"))
    {
        return Some("krew's versioned store (KREW_ROOT/store)".into());
    }
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let has = |a: &str, b: &str| parts.windows(2).any(|w| w[0] == a && w[1] == b);
    if has(".krew", "store") {
        Some("krew's versioned store (~/.krew/store)".into())
    } else if parts.iter().any(|p| p == "Cellar") {
        Some("Homebrew's versioned Cellar".into())
    } else if has("nix", "store") {
        Some("the Nix store".into())
    } else {
        None
    }
}

/// Directories on every account's PATH.
#[cfg(unix)]
const SYSTEM_BINS: &[&str] = &[
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
];

/// `setup` writing a kubeconfig another account owns (root setting one up
/// for an agent's account): why that account could not run `command`,
/// which kubectl runs as it.
#[cfg(unix)]
pub fn not_runnable_by_owner(command: &str, kubeconfig: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(kubeconfig)
        .or_else(|_| std::fs::metadata(kubeconfig.parent().unwrap_or(Path::new("."))))
        .ok()?;
    // SAFETY: geteuid cannot fail.
    if owner.uid() == unsafe { libc::geteuid() } {
        return None;
    }
    let account = match crate::broker::socket::user_name(owner.uid()) {
        Some(name) => format!("{name} (uid {})", owner.uid()),
        None => format!("uid {}", owner.uid()),
    };
    let install = "install kube-sa-token for every account (`sudo ./install.sh --prefix /usr/local`, or a release archive's binary in /usr/local/bin) and run setup again";
    let path = if Path::new(command).is_absolute() {
        PathBuf::from(command)
    } else {
        let found = look_path(command)?;
        let system = found
            .parent()
            .is_some_and(|d| SYSTEM_BINS.iter().any(|s| d == Path::new(s)));
        if !system {
            return Some(format!(
                "{} owns {} and kubectl runs the entry's `{command}` from its PATH, but here it is {}, which that account's PATH may not have; {install}",
                account,
                kubeconfig.display(),
                found.display()
            ));
        }
        found
    };
    let why = crate::fsutil::not_runnable_by(&path, owner.uid(), owner.gid())?;
    Some(format!(
        "{account} owns {} but cannot run the entry's command {}: {why}; {install}",
        kubeconfig.display(),
        path.display()
    ))
}

#[cfg(not(unix))]
pub fn not_runnable_by_owner(_: &str, _: &Path) -> Option<String> {
    None
}

/// `doctor`: why an exec entry's `command` will not run us, now or after
/// the next upgrade.
pub fn problem(command: &str) -> Option<String> {
    if look_path(command).is_none() {
        return Some(format!(
            "command {command:?} is not found; install kube-sa-token or use its absolute path"
        ));
    }
    // The path as written: a link outside the store (krew's ~/.krew/bin)
    // is moved to the new version at an upgrade.
    let path = Path::new(command);
    if !path.is_absolute() {
        return None;
    }
    // Each problem of the path, the more dangerous first.
    let problems: Vec<String> = [
        replaceable(path).map(|why| {
            format!(
                "command {command:?} could be replaced by another local user: {why}; install kube-sa-token where only you or root can write and run setup again"
            )
        }),
        versioned_store(path).map(|store| {
            format!(
                "command {command:?} is in {store}, which the next upgrade removes; run setup again with {BIN} or {PLUGIN} on PATH, or write `command: {PLUGIN}`"
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_stores_are_recognised() {
        for (p, store) in [
            (
                "/home/a/.krew/store/sa-token/v0.1.0/kube-sa-token",
                Some("krew"),
            ),
            (
                "/opt/homebrew/Cellar/kube-sa-token/0.1.0/bin/kube-sa-token",
                Some("Homebrew"),
            ),
            (
                "/nix/store/abc-kube-sa-token-0.1.0/bin/kube-sa-token",
                Some("Nix"),
            ),
            ("/home/a/.local/bin/kube-sa-token", None),
            ("/home/a/.krew/bin/kubectl-sa_token", None),
        ] {
            let found = versioned_store(Path::new(p));
            match store {
                Some(s) => assert!(found.as_deref().is_some_and(|f| f.contains(s)), "{p}"),
                None => assert_eq!(found, None, "{p}"),
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn doctor_flags_a_command_in_a_versioned_store() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = crate::testing::private_tempdir();
        let dir = tmp.path().join(".krew/store/sa-token/v0.1.0");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(BIN);
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let why = problem(&bin.display().to_string()).unwrap();
        assert!(why.contains("krew") && why.contains(PLUGIN), "{why}");
        // Through krew's link: what krew moves to the new version.
        let links = tmp.path().join(".krew/bin");
        std::fs::create_dir_all(&links).unwrap();
        std::os::unix::fs::symlink(&bin, links.join(PLUGIN)).unwrap();
        assert_eq!(problem(&links.join(PLUGIN).display().to_string()), None);
        let missing = problem(&tmp.path().join("missing").display().to_string()).unwrap();
        assert!(missing.contains("not found"), "{missing}");
    }

    /// Issue 32, finding 10: a path another user could take over.
    #[cfg(unix)]
    #[test]
    fn paths_others_can_replace_are_named() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        // Under a sticky directory every user may write: the shape of /tmp.
        let base = tempfile::tempdir().unwrap();
        let shared = base.path().join("shared");
        let bin = shared.join("mine/bin/kube-sa-token");
        std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        mode(&bin, 0o755);
        mode(&shared, 0o1777);
        let why = replaceable(&bin).unwrap();
        assert!(why.contains("every user may write"), "{why}");
        let doctor = problem(&bin.display().to_string()).unwrap();
        assert!(doctor.contains("could be replaced"), "{doctor}");
        // Writable by all without the sticky bit, or by a group not ours.
        mode(&shared, 0o757);
        assert!(
            replaceable(&bin)
                .unwrap()
                .contains("writable by every user")
        );
        mode(&shared, 0o755);
        mode(&bin, 0o777);
        assert!(
            replaceable(&bin)
                .unwrap()
                .contains("writable by every user")
        );
        mode(&bin, 0o755);
        if unsafe { libc::getegid() } != 4242 && unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&shared, None, Some(4242)).unwrap();
            mode(&shared, 0o775);
            assert!(replaceable(&bin).unwrap().contains("group (gid 4242)"));
            mode(&shared, 0o755);
            std::os::unix::fs::chown(&shared, Some(4242), None).unwrap();
            assert!(replaceable(&bin).unwrap().contains("owned by uid 4242"));
        }
    }
}
