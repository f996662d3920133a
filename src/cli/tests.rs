//! Command-line parsing, and the exec-argument writer as its inverse.
use std::ffi::OsString;

use super::*;
use crate::options::{CacheChoice, SourceKind};
use std::time::Duration;

fn try_parse(args: &[&str]) -> Result<Result<Invocation, Error>, clap::Error> {
    let mut v = vec!["kube-sa-token"];
    v.extend_from_slice(args);
    Cli::try_parse_from(v.into_iter().map(OsString::from)).map(|c| invocation(c, &Fixed))
}

fn parse_ok(args: &[&str]) -> Command {
    try_parse(args).unwrap().unwrap().command
}

fn parse_err(args: &[&str]) -> String {
    match try_parse(args) {
        Ok(Ok(c)) => panic!("parsed: {c:?}"),
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn ns_slash_name() {
    match parse_ok(&[
        "get",
        "--admin-context",
        "admin",
        "--service-account",
        "team/viewer",
    ]) {
        Command::Get(o) => {
            assert_eq!(
                (
                    o.spec.namespace.as_str(),
                    o.spec.service_account().unwrap_or_default()
                ),
                ("team", "viewer")
            );
            assert_eq!(o.duration, Duration::from_secs(3600));
            assert_eq!(o.cache, CacheChoice::Auto);
            assert_eq!(o.spec.source, SourceKind::TokenRequest);
        }
        c => panic!("{c:?}"),
    }
}

#[test]
fn rejects_short_duration_and_bad_combinations() {
    assert!(
        parse_err(&[
            "get",
            "--admin-context",
            "a",
            "--service-account",
            "s",
            "--duration",
            "5m"
        ])
        .contains("10m")
    );
    assert!(
        parse_err(&[
            "get",
            "--admin-context",
            "a",
            "--service-account",
            "s",
            "--create-secret"
        ])
        .contains("--source secret")
    );
    assert!(
        parse_err(&[
            "get",
            "--admin-context",
            "a",
            "-n",
            "x",
            "--service-account",
            "y/s"
        ])
        .contains("contradicts")
    );
    assert!(parse_err(&["get", "--admin-context", "a"]).contains("--service-account"));
    assert!(parse_err(&["get", "--service-account", "s"]).contains("--admin-context"));
    assert!(
        parse_err(&[
            "get",
            "--admin-context",
            "a",
            "--service-account",
            "Bad_Name"
        ])
        .contains("invalid")
    );
}

#[test]
fn setup_takes_positional_sa() {
    match parse_ok(&[
        "setup",
        "--admin-context",
        "admin",
        "-n",
        "team",
        "viewer",
        "--dry-run",
    ]) {
        Command::Setup { opts, dry_run, .. } => {
            assert!(dry_run);
            assert_eq!(opts.spec.service_account(), Some("viewer"));
            assert_eq!(opts.spec.namespace, "team");
        }
        c => panic!("{c:?}"),
    }
}

fn export_opts() -> GetOptions {
    let mut o = crate::testing::opts();
    o.spec.audiences = vec!["vault".into()];
    o.duration = Duration::from_secs(7200);
    o.cache = CacheChoice::Keyutils;
    o
}

#[test]
fn exec_args_round_trip_through_the_cli() {
    let args = exec_args(&export_opts());
    assert_eq!(
        args,
        [
            "get",
            "--admin-context",
            "admin",
            "--service-account",
            "team/viewer",
            "--duration",
            "2h",
            "--audience",
            "vault",
            "--cache",
            "keyutils",
            "--lock-timeout",
            "30s"
        ]
    );
    let mut argv = vec!["kube-sa-token"];
    argv.extend(args.iter().map(String::as_str));
    match parse_ok(&argv[1..]) {
        Command::Get(o) => {
            assert_eq!(o.duration, Duration::from_secs(7200));
            assert_eq!(o.spec.audiences, vec!["vault".to_string()]);
            assert_eq!(o.cache, CacheChoice::Keyutils);
        }
        c => panic!("{c:?}"),
    }
}

/// Issue 17, finding 17: values that start with '-', and every option
/// (issue 22: the two timeouts were dropped), parse back to the same
/// options through clap and through the fast path.
#[test]
fn every_exec_entry_parses_back_to_the_same_options() {
    let mut o = export_opts();
    o.spec.admin_context = "-admin".into();
    o.spec.audiences = vec!["-aud".into(), "vault".into()];
    o.lock_wait = Duration::from_secs(120);
    o.secret_wait = Duration::from_secs(45);
    o.revalidate = Duration::from_secs(90);
    o.spec.bind_secret = true;
    o.refresh_ahead = false;
    let mut user = o.clone();
    user.spec.bind_secret = false;
    user.spec.audiences = vec![];
    user.spec.principal = crate::options::Principal::User {
        name: "-alice".into(),
        groups: vec!["-dev".into(), "ops".into()],
    };
    user.spec.namespace = "team".into();
    user.approve = false;
    user.csr_wait = Duration::from_secs(100);
    for o in [o, user] {
        let mut argv: Vec<OsString> = vec!["kube-sa-token".into()];
        argv.extend(exec_args(&o).into_iter().map(OsString::from));
        let fast = super::fast_get::parse(&argv)
            .expect("the fast path takes it")
            .unwrap();
        let words: Vec<&str> = argv[1..].iter().map(|a| a.to_str().unwrap()).collect();
        let slow = parse_ok(&words);
        for back in [fast.command, slow] {
            let Command::Get(back) = back else {
                panic!("not get")
            };
            assert_eq!(format!("{back:?}"), format!("{o:?}"));
        }
    }
}

/// Issue 17, finding 14: the background child runs `get` with the entry's
/// own arguments, whichever command started it.
#[test]
fn the_background_child_parses_as_a_refresh_of_the_same_entry() {
    let mut o = crate::testing::opts();
    o.spec.audiences = vec!["vault".into()];
    o.duration = Duration::from_secs(1800);
    let mut argv: Vec<std::ffi::OsString> = vec!["kube-sa-token".into()];
    argv.extend(exec_args(&o).into_iter().map(Into::into));
    argv.push("--refresh-in-background".into());
    let inv = parse(argv).unwrap();
    let Parsed::Run(inv) = inv else {
        panic!("exits")
    };
    match inv.command {
        crate::options::Command::Refresh(back) => assert_eq!(format!("{back:?}"), format!("{o:?}")),
        c => panic!("{c:?}"),
    }
}

#[test]
fn defaults_come_from_options() {
    match parse_ok(&["get", "--admin-context", "a", "--service-account", "s"]) {
        Command::Get(o) => {
            assert_eq!(o.duration, options::DEFAULT_DURATION);
            assert_eq!(o.revalidate, options::DEFAULT_REVALIDATE);
            assert_eq!(o.secret_wait, options::DEFAULT_SECRET_WAIT);
            assert_eq!(o.lock_wait, options::DEFAULT_LOCK_WAIT);
            assert_eq!(o.spec.namespace, options::DEFAULT_NAMESPACE);
            assert_eq!(exec_args(&o).len(), 5, "defaults are not written out");
        }
        c => panic!("{c:?}"),
    }
}

/// Issue 22, defect 4: inspect mints nothing, so it takes no mint option
/// (they did nothing, silently); --cache still names the store to read.
#[test]
fn inspect_takes_the_store_but_no_mint_option() {
    for flag in [
        &["--duration", "2h"][..],
        &["--lock-timeout", "2m"],
        &["--no-refresh-ahead"],
        &["--revalidate-interval", "5m"],
    ] {
        let mut args = vec![
            "inspect",
            "--admin-context",
            "a",
            "--service-account",
            "ns/sa",
        ];
        args.extend_from_slice(flag);
        assert!(parse_err(&args).contains("unexpected argument"), "{flag:?}");
    }
    match parse_ok(&[
        "inspect",
        "--admin-context",
        "a",
        "--service-account",
        "ns/sa",
        "--cache",
        "file",
    ]) {
        Command::Inspect {
            input: InspectInput::Cached(crate::options::Who::Options(o)),
            ..
        } => assert_eq!(o.cache, CacheChoice::File),
        c => panic!("{c:?}"),
    }
}

#[test]
fn inspect_keeps_a_given_token_out_of_debug() {
    let c = parse_ok(&[
        "inspect",
        "--allow-argv-token",
        "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln",
    ]);
    assert!(!format!("{c:?}").contains("eyJ"), "{c:?}");
}

mod grammar;
mod properties;

/// Issue 24, item 1: whoami, inspect, logout and kubeconfig name an identity
/// by its kubeconfig context (by default the current one), alone.
#[test]
fn an_identity_by_its_context() {
    use crate::options::Who;
    let context = |c: &Command| -> Option<Option<String>> {
        let who = match c {
            Command::Whoami { who, .. }
            | Command::Logout { who }
            | Command::Kubeconfig { who, .. } => who,
            Command::Inspect {
                input: InspectInput::Cached(who),
                ..
            } => who,
            c => panic!("{c:?}"),
        };
        match who {
            Who::Context { name, .. } => Some(name.clone()),
            Who::Options(_) => None,
        }
    };
    for cmd in ["whoami", "inspect", "logout", "kubeconfig"] {
        assert_eq!(
            context(&parse_ok(&[cmd, "--context", "team/viewer@test"])),
            Some(Some("team/viewer@test".into())),
            "{cmd}"
        );
        assert_eq!(
            context(&parse_ok(&[cmd])),
            Some(None),
            "{cmd}: the current context"
        );
        assert_eq!(
            context(&parse_ok(&[cmd, "--kubeconfig", "/k"])),
            Some(None),
            "{cmd}"
        );
        // The identity is the context's: no flag of it besides.
        let e = parse_err(&[cmd, "--context", "c", "--cache", "file"]);
        assert!(e.contains("--cache with --context"), "{cmd}: {e}");
        // Flags without the admin context say what is missing.
        let e = parse_err(&[cmd, "--service-account", "team/viewer"]);
        assert!(e.contains("--admin-context is needed"), "{cmd}: {e}");
    }
    for cmd in ["whoami", "logout", "kubeconfig"] {
        let e = parse_err(&[cmd, "--context", "c", "team/viewer"]);
        assert!(e.contains("with --context"), "{cmd}: {e}");
        assert_eq!(
            context(&parse_ok(&[cmd, "--admin-context", "a", "team/viewer"])),
            None,
            "{cmd}"
        );
    }
    assert!(parse_err(&["inspect", "--context", "c", "-"]).contains("not both"));
}

/// Issue 33, item 12: every example in the help fits a 100-column terminal
/// on its lines (long ones continue with `\`), so clap never wraps one in
/// the middle of a command.
#[test]
fn help_examples_are_never_wrapped_mid_command() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, long: &mut Vec<String>) {
        if let Some(help) = cmd.get_after_help() {
            for line in help.to_string().lines() {
                if line.starts_with("  ") && line.chars().count() > 90 {
                    long.push(format!("{}: {line}", cmd.get_name()));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, long);
        }
    }
    let mut long = Vec::new();
    walk(&args::Cli::command(), &mut long);
    assert!(long.is_empty(), "{long:#?}");
}
