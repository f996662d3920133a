//! An ordinary (non-root) user for the tests that must run as users do: the
//! kernel's 20,000-byte key quota, files they do not own, a login-like
//! session (`runuser -l`: a fresh session keyring, as pam_keyinit gives).
//! Created by the tests themselves (useradd) the first time; CI runs as root.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Out;

pub const NAME: &str = "kst-user";

pub struct OrdinaryUser {
    pub name: &'static str,
    pub uid: u32,
    pub home: PathBuf,
}

/// The test user, created when missing.
pub fn ordinary_user() -> OrdinaryUser {
    user_named(NAME)
}

/// A second ordinary user (one no policy names, one that plants a socket).
pub fn other_user() -> OrdinaryUser {
    user_named("kst-other")
}

/// A third (the caller a policy allows while others misbehave).
pub fn allowed_user() -> OrdinaryUser {
    user_named("kst-allowed")
}

fn user_named(name: &'static str) -> OrdinaryUser {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if id("-u").is_none() {
        let out = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/bash", name])
            .output()
            .expect("useradd (Debian package passwd)");
        // A concurrent creation by another test process is fine.
        assert!(
            out.status.success() || id("-u").is_some(),
            "useradd {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let uid: u32 = id("-u").unwrap().parse().unwrap();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let home = passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name)).then(|| PathBuf::from(f[5]))
        })
        .unwrap();
    OrdinaryUser { name, uid, home }
}

impl OrdinaryUser {
    /// A new empty directory owned by the user (0700), for one test.
    pub fn workdir(&self, name: &str) -> PathBuf {
        self.remove_stale_workdirs();
        let dir = self.home.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        self.give(&dir);
        dir
    }

    /// Removes the workdirs of test processes that are gone (`NAME-PID`
    /// whose PID runs no more): each holds copies of the binaries, and runs
    /// on one machine would otherwise fill its disk (51 GB had piled up).
    fn remove_stale_workdirs(&self) {
        let Ok(entries) = std::fs::read_dir(&self.home) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .rsplit_once('-')
                .and_then(|(_, p)| p.parse::<u32>().ok())
            else {
                continue;
            };
            let gone = !Path::new(&format!("/proc/{pid}")).exists();
            if gone && e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }

    /// Gives `path` (file or directory) to the user, 0600/0700.
    pub fn give(&self, path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.uid)).unwrap();
        let mode = if path.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Copies `file` into `dir` as the user's own; returns the copy.
    pub fn copy_in(&self, file: &Path, dir: &Path) -> PathBuf {
        let to = dir.join(file.file_name().unwrap());
        std::fs::copy(file, &to).unwrap();
        self.give(&to);
        to
    }

    /// The binary under test, copied into `dir` for the user: the checkout
    /// it was built in may sit in a directory only root can enter (CI's
    /// clone in a fresh temporary folder).
    /// With the full program beside it, which it runs.
    pub fn binary_in(&self, dir: &Path) -> PathBuf {
        self.program_in(&super::BIN, dir)
    }

    /// The program `built` (and the full program beside it) copied into
    /// `dir` for the user, 0700.
    pub fn program_in(&self, built: &str, dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let to = super::copy_program(built, dir, "kube-sa-token");
        for f in [to.clone(), dir.join("kube-sa-token-full")] {
            self.give(&f);
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        to
    }

    /// Runs `script` (bash) in one login session of the user (`runuser -l`),
    /// with `env` exported first, in `dir` (which holds the script file).
    pub fn run(&self, dir: &Path, env: &[(&str, &str)], script: &str) -> Out {
        let mut text = format!("set -u\ncd '{}'\n", dir.display());
        for (k, v) in env {
            text.push_str(&format!("export {k}='{}'\n", v.replace('\'', "'\\''")));
        }
        text.push_str(script);
        let file = dir.join("script.sh");
        std::fs::write(&file, text).unwrap();
        self.give(&file);
        Out::from(
            Command::new("runuser")
                .args(["-l", self.name, "-c"])
                .arg(format!("bash {}", file.display()))
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap(),
        )
    }
}
