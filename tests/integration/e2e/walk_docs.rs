//! Issue 33, done-when: a fresh account that has never run kube-sa-token
//! (its home empty, the binary installed for all accounts in
//! /usr/local/bin) follows the README's broker section, and broker.md's
//! "Set up in a few commands", word for word, and gets kubectl working as
//! the ServiceAccount through a broker root runs, with no error on the way.
//!
//! The commands are read from the documents themselves; the only changes
//! are the names that differ on this machine, listed in [`on_this_machine`].
//! Everything runs in a private mount namespace (`unshare -m`): /etc, /run
//! and /var/log's kube-sa-token directories, /usr/local/bin, /dev/shm and
//! the account's home are fresh there and gone after.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::support::user::allowed_user;

/// The fenced code blocks of a markdown text, in order.
fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) => current = Some(String::new()),
            (Some(block), true) => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

/// The documents' names for what is named otherwise here: the admin
/// kubeconfig, the agent's account, the namespace, the broker's cluster.
fn on_this_machine(text: &str, c: &Cluster, ns: &str, agent: &str) -> String {
    let admin = c.pki().parent().unwrap().join("admin.kubeconfig");
    let admin = admin.display().to_string();
    text.replace("/root/.kube/admin.kubeconfig", &admin)
        .replace("/root/admin.kubeconfig", &admin)
        .replace("users: [agent]", &format!("users: [{agent}]"))
        .replace("team/", &format!("{ns}/"))
        .replace("@broker:prod", "@broker:test")
}

/// Runs `root` as root and then `agent` as a fresh `kst-allowed`, in one
/// private mount namespace; `serve`, a long-running command the documents
/// leave in a terminal of its own, runs in the background.
fn walk(c: &Cluster, root: &str, agent: &str) -> Out {
    let user = allowed_user();
    let work = tempfile::tempdir().unwrap();
    // /usr/local/bin as `install.sh --prefix /usr/local` leaves it, with
    // kubectl beside it.
    let bin = work.path().join("usr-local-bin");
    std::fs::create_dir(&bin).unwrap();
    for (from, to) in [
        (PathBuf::from(&*support::BIN), "kube-sa-token"),
        (
            PathBuf::from(&*support::BIN).with_file_name("kube-sa-token-full"),
            "kube-sa-token-full",
        ),
        (c.kubectl_path(), "kubectl"),
    ] {
        std::fs::copy(&from, bin.join(to)).unwrap();
        std::fs::set_permissions(bin.join(to), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::symlink("kube-sa-token", bin.join("kubectl-sa_token")).unwrap();
    for dir in [work.path(), bin.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Mount points on the host (empty; the namespace mounts over them).
    let points = [
        "/etc/kube-sa-token",
        "/run/kube-sa-token",
        "/var/log/kube-sa-token",
    ];
    let made: Vec<&str> = points
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect();
    for p in &made {
        std::fs::create_dir_all(p).unwrap();
    }
    // serve's output to a file (it outlives the commands that follow) and
    // its pid kept, to end it.
    let serve_log = work.path().join("serve.log");
    let root = root
        .lines()
        .map(|l| match l.strip_prefix("kube-sa-token serve") {
            Some(rest) => {
                let rest = rest.split(" &").next().unwrap_or(rest);
                format!(
                    "kube-sa-token serve{rest} >'{}' 2>&1 &\nserve=$!",
                    serve_log.display()
                )
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let script = format!(
        r#"set -u
for d in /etc/kube-sa-token /run/kube-sa-token /var/log/kube-sa-token /dev/shm; do
  mount -t tmpfs -o mode=755 tmpfs "$d"
done
chmod 1777 /dev/shm
mount --bind '{bin}' /usr/local/bin
mount -t tmpfs -o mode=700,uid={uid},gid={uid} tmpfs '{home}'
export PATH=/usr/local/bin:$PATH
serve=
# --- as root, from the document
set -e
{root}
set +e
# serve is up when its socket is (bounded).
for _ in $(seq 300); do [ -S /run/kube-sa-token/broker.sock ] && break; sleep 0.1; done
# --- as the agent, from the document, in a login shell
runuser -l {name} -c 'bash -eo pipefail' <<'AGENT'
{agent}
AGENT
rc=$?
[ -z "$serve" ] || {{ kill "$serve"; wait "$serve"; }}
cat '{log}' >&2
exit $rc
"#,
        bin = bin.display(),
        uid = user.uid,
        home = user.home.display(),
        log = serve_log.display(),
        name = user.name,
    );
    let file = work.path().join("walk.sh");
    std::fs::write(&file, script).unwrap();
    let out = Out::from(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "bash"])
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    for p in made {
        let _ = std::fs::remove_dir(p);
    }
    out
}

fn assert_walked(out: &Out, ns: &str) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains(&format!("No resources found in {ns} namespace.")),
        "kubectl get pods ran as the SA: {}\n{}",
        out.stdout,
        out.stderr
    );
    for bad in [
        "error",
        "Error",
        "refused",
        "not found",
        "command not found",
    ] {
        let noisy: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains(bad) && !l.contains("No resources found"))
            .collect();
        assert!(
            noisy.is_empty(),
            "{bad:?} on the way: {noisy:?}\n{}",
            out.stderr
        );
    }
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn the_readmes_broker_section_works_as_written_for_a_fresh_account() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-walk-readme");
    // The ServiceAccount the documents use, bound to `view` (what `get
    // pods` needs): c.namespace makes both, as the documents take them.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = code_blocks(&readme)
        .into_iter()
        .find(|b| b.contains("kube-sa-token serve") && b.contains("# as the agent"))
        .expect("the README's broker block");
    let (root, agent) = block.split_once("# as the agent").unwrap();
    let agent = agent.split_once('\n').unwrap().1;
    let user = allowed_user();
    let out = walk(
        &c,
        &on_this_machine(root, &c, &ns, user.name),
        &on_this_machine(agent, &c, &ns, user.name),
    );
    assert_walked(&out, &ns);
}

#[test]
#[ignore = "needs the test control plane (tests/run.sh)"]
fn broker_md_set_up_in_a_few_commands_works_as_written_for_a_fresh_account() {
    let c = Cluster::get();
    let ns = c.namespace("e2e-walk-broker");
    // The ServiceAccount the documents use, bound to `view` (what `get
    // pods` needs): c.namespace makes both, as the documents take them.
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/broker.md")).unwrap();
    let section = &doc[doc.find("## Set up in a few commands").unwrap()..];
    let blocks = code_blocks(section);
    let user = allowed_user();
    let out = walk(
        &c,
        &on_this_machine(&blocks[0], &c, &ns, user.name),
        &on_this_machine(&blocks[1], &c, &ns, user.name),
    );
    assert_walked(&out, &ns);
}
