//! One grammar for every command (issue 24): the ServiceAccount in every
//! spelling, `inspect`'s argument, kubectl's defaults for typed commands,
//! and the mint options accepted where --context can say them.

use super::*;

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
    // Issue 33, item 7: `inspect` takes NS/NAME and NAME as its siblings.
    for (word, label) in [("prod/viewer", "prod/viewer"), ("viewer", "team/viewer")] {
        match parse(&["inspect", word]).unwrap() {
            Command::Inspect {
                input: InspectInput::Cached(Who::Options(o)),
                ..
            } => assert_eq!(
                (o.spec.admin_context.as_str(), o.spec.label()),
                ("adm", label.into())
            ),
            c => panic!("{c:?}"),
        }
    }
    // Issue 33, item 11: doctor's namespace is the admin context's too.
    match parse(&["doctor", "--admin-context", "adm"]).unwrap() {
        Command::Doctor { namespace, .. } => assert_eq!(namespace, "team"),
        c => panic!("{c:?}"),
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
    assert!(matches!(
        input(&["inspect", "--allow-argv-token", jwt]),
        InspectInput::Given(_)
    ));
    assert!(matches!(
        input(&[
            "inspect",
            "--admin-context",
            "admin",
            "--verify",
            "--allow-argv-token",
            jwt
        ]),
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
    // Issue 33, item 7: NS/NAME and NAME as `whoami` takes them, and
    // without a default admin context refused as `whoami` refuses them.
    for word in ["team/viewer", "viewer"] {
        let inspect = parse_err(&["inspect", word]);
        assert_eq!(inspect, parse_err(&["whoami", word]));
        assert!(inspect.contains("--admin-context is needed"), "{inspect}");
    }
    assert!(parse_err(&["inspect", missing.to_str().unwrap()]).contains("not a token"));
    assert!(parse_err(&["inspect", "token.txt"]).contains("not a token"));
    assert!(parse_err(&["inspect", "--context", "c", jwt]).contains("not both"));
    assert!(parse_err(&["inspect", "-n", "team", "--file", path]).contains("not both"));
    assert!(
        parse_err(&["inspect", "--verify", "--allow-argv-token", jwt]).contains("--admin-context")
    );
    // Issue 32: a token on argv only when asked for in so many words.
    let refused = parse_err(&["inspect", jwt]);
    assert!(
        refused.contains("--allow-argv-token") && !refused.contains(jwt),
        "{refused}"
    );
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

/// A token pasted where a name goes is never echoed in the error.
#[test]
fn a_token_in_the_wrong_place_is_not_echoed() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let opaque = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eA";
    for args in [
        vec!["whoami", "--admin-context", "a", jwt],
        vec!["setup", "--admin-context", "a", "-n", jwt, "viewer"],
        vec![
            "get",
            "--admin-context",
            "a",
            "--user",
            "alice",
            "--group",
            "g\u{7}",
        ],
        vec!["inspect", opaque],
        vec!["inspect", "--admin-context", "a", opaque],
    ] {
        let err = parse_err(&args);
        for secret in [jwt, opaque] {
            assert!(!err.contains(secret), "{args:?}: {err}");
        }
        assert!(!err.is_empty());
    }
    assert!(parse_err(&["whoami", "--admin-context", "a", jwt]).contains("not shown"));
}

/// Issue 33, item 11: one meaning per flag name: `-o`/`--output` is the
/// format wherever it exists (with yaml wherever json is), a file is
/// `--output-file`.
#[test]
fn output_is_always_the_format() {
    use clap::CommandFactory;
    let cli = Cli::command();
    let mut seen = 0;
    for sub in cli
        .get_subcommands()
        .flat_map(|s| std::iter::once(s).chain(s.get_subcommands()))
    {
        if let Some(arg) = sub.get_arguments().find(|a| a.get_id() == "output") {
            seen += 1;
            assert_eq!(arg.get_short(), Some('o'), "{}", sub.get_name());
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            assert!(
                values.contains(&"yaml".to_string()) && values.contains(&"json".to_string()),
                "{}: {values:?}",
                sub.get_name()
            );
        }
    }
    assert!(
        seen >= 6,
        "whoami, inspect, cache list, doctor, rules, kubeconfig"
    );
    match parse_ok(&[
        "kubeconfig",
        "--admin-context",
        "a",
        "-n",
        "t",
        "v",
        "-o",
        "json",
        "--output-file",
        "f",
    ]) {
        Command::Kubeconfig { output, format, .. } => {
            assert_eq!(output.as_deref(), Some(std::path::Path::new("f")));
            assert_eq!(format, crate::options::Format::Json);
        }
        c => panic!("{c:?}"),
    }
}
