//! `doctor`'s checks of a store: it opens, keeps an entry of a real
//! entry's size, and the kernel key quota has room.

use crate::cache::Cache;
use crate::options::CacheChoice;

use super::entries::Entry;
use super::report::Report;

pub(super) fn check_store(choice: CacheChoice, r: &mut Report) {
    check_store_itself(choice, r);
    if matches!(choice, CacheChoice::Auto | CacheChoice::Tmpfs) {
        check_runtime_dir(r);
    }
}

fn check_store_itself(choice: CacheChoice, r: &mut Report) {
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
        match cache.item_count() {
            Ok(n) => r.ok(format!(
                "the OS keyring ({}) holds {n} item{} of ours",
                if cfg!(target_os = "macos") {
                    "Keychain, through apple-native-keyring-store"
                } else if cfg!(windows) {
                    "Credential Manager, through windows-native-keyring-store"
                } else {
                    "Secret Service, through zbus-secret-service-keyring-store"
                },
                if n == 1 { "" } else { "s" }
            )),
            Err(e) => r.warn(format!("cannot count the OS keyring's items: {e}")),
        }
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

/// The memory-backed directory of the tmpfs store: which, and why the
/// others were not taken (XDG_RUNTIME_DIR unset, not a tmpfs, another's).
fn check_runtime_dir(r: &mut Report) {
    match crate::cache::runtime_dir() {
        Ok(d) => {
            // An entry is a 1.4 KB file (a user's certificate and key 2 KB),
            // taking a 4 KB page of the tmpfs.
            let room = d
                .free_bytes()
                .map(|b| format!("; {} MB free, room for about {} entries", b >> 20, b / 4096))
                .unwrap_or_default();
            r.ok(format!(
                "memory-backed directory for the tmpfs store: {} ({}{room})",
                d.dir.display(),
                d.why
            ))
        }
        // `--cache tmpfs` fails above already; for `auto`, why it is not
        // the choice.
        Err(e) => r.warn(e.to_string()),
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

/// The stores the exec entries name, besides `checked` (the one checked
/// above): each works here, or kubectl fails with those entries.
pub(super) fn check_entry_stores(entries: &[Entry], checked: CacheChoice, r: &mut Report) {
    let mut choices: Vec<CacheChoice> = entries.iter().map(|e| e.opts.cache).collect();
    choices.sort_by_key(|c| c.as_str());
    choices.dedup();
    for choice in choices.into_iter().filter(|c| *c != checked) {
        let users: Vec<String> = entries
            .iter()
            .filter(|e| e.opts.cache == choice)
            .map(Entry::named)
            .collect();
        let name = choice.as_str();
        let (users, use_) = (
            users.join(", "),
            if users.len() == 1 { "uses" } else { "use" },
        );
        if choice == CacheChoice::None {
            r.warn(format!(
                "{users} {use_} --cache none: every kubectl call with it mints a new credential; rerun setup with a store"
            ));
            continue;
        }
        let works = Cache::open(choice).and_then(|c| c.self_test());
        match works {
            Ok(true) => r.ok(format!("the --cache {name} store of {users} works here")),
            Ok(false) => r.fail(format!(
                "{users} {use_} --cache {name}, which did not return what was written here; rerun setup with another --cache"
            )),
            Err(e) => r.fail(format!(
                "{users} {use_} --cache {name}, which does not work here ({e}), so kubectl fails with it; rerun setup with another --cache (`kube-sa-token doctor --cache NAME` checks one)"
            )),
        }
    }
}
