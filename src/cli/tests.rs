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

/// kubectl's defaults as a kubeconfig with current context "adm" in
/// namespace "team" gives them.
struct Kubectlish;

impl Defaults for Kubectlish {
    fn admin_context(&self, _: Option<&std::path::Path>) -> Result<String, Error> {
        Ok("adm".into())
    }
    fn namespace(&self, _: Option<&std::path::Path>, admin: &str) -> Option<String> {
        (admin == "adm").then(|| "team".into())
    }
}

/// Issue 24 item 8: the commands a person types take the admin context
/// and the namespace as kubectl would; `get` (exec entries) takes neither.
#[test]
fn typed_commands_default_the_admin_context_and_namespace_as_kubectl_does() {
    let parse = |args: &[&str]| {
        let v = std::iter::once("kube-sa-token").chain(args.iter().copied());
        invocation(Cli::try_parse_from(v).unwrap(), &Kubectlish).map(|i| i.command)
    };
    let spec_of = |args: &[&str]| match parse(args).unwrap() {
        Command::Setup { opts, .. } => opts.spec,
        Command::Whoami {
            who: Who::Options(o),
            ..
        } => o.spec,
        c => panic!("{c:?}"),
    };
    for cmd in ["setup", "whoami"] {
        let s = spec_of(&[cmd, "viewer"]);
        assert_eq!(
            (s.admin_context.as_str(), s.label()),
            ("adm", "team/viewer".into())
        );
        let s = spec_of(&[cmd, "--user", "alice"]);
        assert_eq!(
            (s.admin_context.as_str(), s.namespace.as_str()),
            ("adm", "team")
        );
        // What the command line says wins.
        let s = spec_of(&[cmd, "-n", "other", "viewer"]);
        assert_eq!(s.label(), "other/viewer");
        let s = spec_of(&[cmd, "prod/viewer"]);
        assert_eq!(s.label(), "prod/viewer");
        let s = spec_of(&[cmd, "--admin-context", "root", "viewer"]);
        assert_eq!(
            (s.admin_context.as_str(), s.label()),
            ("root", "default/viewer".into())
        );
    }
    // Without any identity, whoami still takes the current context's own.
    assert!(matches!(
        parse(&["whoami"]).unwrap(),
        Command::Whoami {
            who: Who::Context { .. },
            ..
        }
    ));
    // get guesses nothing.
    let v = ["kube-sa-token", "get", "viewer"];
    assert!(
        Cli::try_parse_from(v).is_err(),
        "clap requires --admin-context"
    );
    match invocation(
        Cli::try_parse_from(["kube-sa-token", "get", "--admin-context", "adm", "viewer"]).unwrap(),
        &Kubectlish,
    )
    .unwrap()
    .command
    {
        Command::Get(o) => assert_eq!(o.spec.label(), "default/viewer"),
        c => panic!("{c:?}"),
    }
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

/// The ServiceAccount is written the same way to every command that takes
/// one: a positional NAME, NS/NAME, kubectl's NS:NAME or its user name.
#[test]
fn every_command_takes_the_service_account_in_every_spelling() {
    let admin = ["--admin-context", "admin"];
    for cmd in ["get", "setup", "whoami", "kubeconfig", "token", "logout"] {
        for sa in [
            vec!["-n", "team", "viewer"],
            vec!["team/viewer"],
            vec!["team:viewer"],
            vec!["system:serviceaccount:team:viewer"],
            vec!["--service-account", "team:viewer"],
        ] {
            let args: Vec<&str> = [cmd].iter().chain(&admin).chain(&sa).copied().collect();
            let opts = match parse_ok(&args) {
                Command::Get(o) | Command::Setup { opts: o, .. } => o,
                Command::Whoami { who, .. }
                | Command::Kubeconfig { who, .. }
                | Command::Token { who, .. }
                | Command::Logout { who } => match who {
                    Who::Options(o) => *o,
                    w => panic!("{args:?}: {w:?}"),
                },
                c => panic!("{args:?}: {c:?}"),
            };
            assert_eq!(
                (opts.spec.namespace.as_str(), opts.spec.service_account()),
                ("team", Some("viewer")),
                "{args:?}"
            );
        }
    }
    for bad in ["team:viewer:x", "a/b/c", "system:serviceaccount:team"] {
        assert!(
            parse_err(&["get", "--admin-context", "a", bad]).contains("invalid"),
            "{bad}"
        );
    }
    assert!(
        parse_err(&["get", "--admin-context", "a", "-n", "x", "team:viewer"])
            .contains("contradicts")
    );
}

/// `inspect`'s argument: what the words around it say it is.
#[test]
fn inspect_reads_its_argument_as_the_words_around_it_say() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let input = |args: &[&str]| match parse_ok(args) {
        Command::Inspect { input, .. } => input,
        c => panic!("{c:?}"),
    };
    match input(&[
        "inspect",
        "--admin-context",
        "admin",
        "-n",
        "team",
        "viewer",
    ]) {
        InspectInput::Cached(Who::Options(o)) => {
            assert_eq!(o.spec.label(), "team/viewer");
            assert_eq!(o.spec.admin_context, "admin");
        }
        i => panic!("{i:?}"),
    }
    assert!(matches!(
        input(&["inspect", "--admin-context", "admin", "team:viewer"]),
        InspectInput::Cached(Who::Options(_))
    ));
    assert!(matches!(input(&["inspect", "-"]), InspectInput::Stdin));
    assert!(matches!(input(&["inspect", jwt]), InspectInput::Given(_)));
    assert!(matches!(
        input(&["inspect", "--admin-context", "admin", "--verify", jwt]),
        InspectInput::Given(_)
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("viewer");
    std::fs::write(&file, jwt).unwrap();
    let path = file.to_str().unwrap();
    assert!(matches!(input(&["inspect", path]), InspectInput::File(_)));
    assert!(matches!(
        input(&[
            "inspect",
            "--admin-context",
            "admin",
            "--verify",
            "--file",
            path
        ]),
        InspectInput::File(_)
    ));
    assert!(matches!(
        input(&["inspect", "--context", "team/viewer@test"]),
        InspectInput::Cached(Who::Context { .. })
    ));
    let missing = dir.path().join("nope");
    let err = parse_err(&["inspect", "viewer"]);
    assert!(
        err.contains("did you mean --service-account viewer?"),
        "{err}"
    );
    assert!(parse_err(&["inspect", missing.to_str().unwrap()]).contains("not a token"));
    assert!(parse_err(&["inspect", "--context", "c", jwt]).contains("not both"));
    assert!(parse_err(&["inspect", "-n", "team", "--file", path]).contains("not both"));
    assert!(parse_err(&["inspect", "--verify", jwt]).contains("--admin-context"));
}

/// `whoami`, `kubeconfig` and `token` list only which identity and store;
/// the mint options are accepted, and named in one line of their help
/// that names exactly the table's mint flags.
#[test]
fn mint_options_are_accepted_but_not_listed_where_a_context_can_say_them() {
    use crate::get_flags::{FLAGS, Group};
    let mint: Vec<String> = FLAGS
        .iter()
        .filter(|f| f.group == Group::Mint)
        .map(|f| format!("--{}", f.long))
        .collect();
    let named: Vec<String> = args::MINT_OPTIONS
        .split([' ', ','])
        .filter(|w| w.starts_with("--") && !["--context", "--help`"].contains(w))
        .map(|w| w.trim_end_matches('.').to_string())
        .collect();
    assert_eq!(named, mint);
    for cmd in ["whoami", "kubeconfig", "token"] {
        use clap::CommandFactory;
        let mut c = Cli::command();
        let sub = c.find_subcommand_mut(cmd).unwrap();
        let help = sub.render_help().to_string();
        for flag in &mint {
            assert!(!help.contains(&format!("{flag} ")), "{cmd}: {flag} listed");
        }
        assert!(help.contains("Also accepted"), "{help}");
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("--admin-context"), "{help}");
        match parse_ok(&[cmd, "--admin-context", "a", "viewer", "--duration", "2h"]) {
            Command::Whoami {
                who: Who::Options(o),
                ..
            }
            | Command::Kubeconfig {
                who: Who::Options(o),
                ..
            }
            | Command::Token {
                who: Who::Options(o),
                ..
            } => {
                assert_eq!(o.duration, Duration::from_secs(7200))
            }
            c => panic!("{c:?}"),
        }
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
    let c = parse_ok(&["inspect", "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln"]);
    assert!(!format!("{c:?}").contains("eyJ"), "{c:?}");
}

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
