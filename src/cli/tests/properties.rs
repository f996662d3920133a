//! The properties that hold the two `get` parsers and `exec_args` together.

/// The fast `get` parser gives what clap gives, for every argument list it
/// takes; for the others, clap decides.
mod fast_get_equals_clap {
    use super::super::*;
    use proptest::prelude::*;

    /// Every flag of the table in each form clap takes, and values of
    /// every kind, good and bad.
    fn word() -> impl Strategy<Value = String> {
        let mut words: Vec<String> = Vec::new();
        for f in crate::get_flags::FLAGS {
            words.push(format!("--{}", f.long));
            if let Some(c) = f.short {
                words.push(format!("-{c}"));
                words.push(format!("-{c}=team"));
            }
            if let crate::get_flags::Takes::One(crate::get_flags::Kind::Choice(choices)) = f.takes {
                words.extend(choices.iter().map(|c| format!("--{}={c}", f.long)));
                words.extend(choices.iter().map(|c| c.to_string()));
            }
        }
        words.extend(
            [
                "--group=dev",
                "--duration=2h",
                "alice",
                "system:masters",
                "-v",
                "-vv",
                "--verbose",
                "--help",
                "admin",
                "team/viewer",
                "viewer",
                "team",
                "bogus",
                "1h",
                "5m",
                "90s",
                "",
                "-x",
                "vault",
            ]
            .map(String::from),
        );
        prop_oneof![prop::sample::select(words), "[a-z/=-]{1,8}"]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn same_result(words in prop::collection::vec(word(), 0..10)) {
            let mut argv: Vec<OsString> = vec!["kube-sa-token".into(), "get".into()];
            argv.extend(words.iter().map(OsString::from));
            if let Some(fast) = super::super::super::fast_get::parse(&argv) {
                let slow = Cli::try_parse_from(&argv).map(|c| invocation(c, &Fixed));
                match (fast, slow) {
                    (Ok(f), Ok(Ok(s))) => prop_assert_eq!(format!("{f:?}"), format!("{s:?}")),
                    (Err(f), Ok(Err(s))) => prop_assert_eq!(f.to_string(), s.to_string()),
                    (f, s) => prop_assert!(false, "fast {:?} vs clap {:?} for {:?}", f.map(|_| ()), s.map(|r| r.map(|_| ())), words),
                }
            }
        }
    }

    /// Issue 34: `get` as people type it (`-n NS NAME`, `NS/NAME`) takes
    /// the fast path too, with clap's result.
    #[test]
    fn the_typed_spellings_take_the_fast_path() {
        // An absolute socket path on every platform.
        let socket = std::env::temp_dir().join("broker.sock");
        let socket = socket.to_str().unwrap();
        for words in [
            &["get", "--admin-context", "admin", "-n", "team", "viewer"][..],
            &["get", "--admin-context", "admin", "team/viewer"],
            &[
                "get",
                "team/viewer",
                "--admin-context",
                "admin",
                "--cache",
                "file",
            ],
            &["get", "--broker", socket, "team/viewer"],
        ] {
            let mut argv: Vec<OsString> = vec!["kube-sa-token".into()];
            argv.extend(words.iter().map(OsString::from));
            let fast = super::super::super::fast_get::parse(&argv)
                .unwrap_or_else(|| panic!("{words:?} left to clap"))
                .unwrap();
            let slow = invocation(Cli::try_parse_from(&argv).unwrap(), &Fixed).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{words:?}");
        }
        // Two positional words: clap's to refuse.
        let argv: Vec<OsString> = ["kube-sa-token", "get", "--admin-context", "a", "x", "y"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(super::super::super::fast_get::parse(&argv).is_none());
    }

    #[test]
    fn the_exec_entry_setup_writes_takes_the_fast_path() {
        let mut argv: Vec<OsString> = vec!["kube-sa-token".into()];
        let mut o = crate::testing::opts();
        o.spec.audiences = vec!["vault".into()];
        o.cache = CacheChoice::Keyutils;
        argv.extend(exec_args(&o).into_iter().map(OsString::from));
        assert!(super::super::super::fast_get::parse(&argv).is_some());
        // A user's entry too, with every user flag.
        let mut argv: Vec<OsString> = vec!["kube-sa-token".into()];
        let mut o = crate::testing::opts();
        o.spec.principal = crate::options::Principal::User {
            name: "alice".into(),
            groups: vec!["dev".into(), "ops".into()],
        };
        o.spec.namespace = "team".into();
        o.approve = false;
        o.csr_wait = std::time::Duration::from_secs(120);
        argv.extend(exec_args(&o).into_iter().map(OsString::from));
        let parsed = super::super::super::fast_get::parse(&argv)
            .unwrap()
            .unwrap();
        let Command::Get(back) = parsed.command else {
            panic!("not get")
        };
        assert_eq!(back.spec.principal, o.spec.principal);
        assert_eq!(back.spec.namespace, "team");
        assert!(!back.approve);
        assert_eq!(back.csr_wait, o.csr_wait);
    }
}

/// Issue 22: `parse(exec_args(o)) == o` for every option, through clap and
/// the fast path. The destructuring below names every field: an option added
/// without a generator here does not compile.
mod every_option_round_trips {
    use super::super::*;
    use crate::options::{BrokerRef, Principal, TokenSpec, VaultLogin, VaultLoginMethod, VaultRef};
    use proptest::prelude::*;
    use std::path::PathBuf;

    fn secs(min: u64) -> impl Strategy<Value = Duration> {
        prop_oneof![
            min..=7200u64,
            (min.div_ceil(60)..=600u64).prop_map(|m| m * 60)
        ]
        .prop_map(Duration::from_secs)
    }

    /// A namespace (a DNS-1123 label).
    fn label() -> impl Strategy<Value = String> {
        "[a-z]([a-z0-9-]{0,6}[a-z0-9])?"
    }

    /// A ServiceAccount's name (a DNS-1123 subdomain).
    fn sa_name() -> impl Strategy<Value = String> {
        "[a-z]([a-z0-9-]{0,4}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,3}[a-z0-9])?)?"
    }

    fn options() -> impl Strategy<Value = GetOptions> {
        let who = prop_oneof![
            (
                label(),
                sa_name(),
                any::<bool>(),
                any::<bool>(),
                prop::collection::vec("-?[a-z]{1,5}", 0..3)
            )
                .prop_map(|(ns, sa, secret, bind, audiences)| (
                    ns,
                    Principal::ServiceAccount(sa),
                    if secret {
                        SourceKind::Secret
                    } else {
                        SourceKind::TokenRequest
                    },
                    audiences,
                    bind && !secret
                )),
            (
                label(),
                "-?[a-zA-Z][a-zA-Z0-9:@ -]{0,6}",
                prop::collection::vec("-?[a-z][a-z:]{0,5}", 0..3)
            )
                .prop_map(|(ns, name, groups)| (
                    ns,
                    Principal::User { name, groups },
                    SourceKind::TokenRequest,
                    Vec::new(),
                    false
                )),
        ];
        let spec = (
            who,
            "-?[a-z]{1,6}",
            // An absolute path, which the parsers keep as it is.
            prop::option::of(if cfg!(windows) {
                r"C:\\[a-z]{1,6}\\[a-z]{1,6}"
            } else {
                "/[a-z]{1,6}/[a-z]{1,6}"
            }),
            // Sometimes a broker instead of an admin context.
            prop::option::of((
                if cfg!(windows) {
                    r"C:\\[a-z]{1,6}\\[a-z]{1,6}\.sock"
                } else {
                    "/[a-z]{1,6}/[a-z]{1,6}\\.sock"
                },
                prop::option::of("[a-z][a-z0-9]{0,7}"),
            )),
            // Sometimes a Vault role (for a ServiceAccount, without a broker).
            prop::option::of((
                "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,8}",
                prop::sample::select(vec![
                    "https://vault.example.com:8200",
                    "http://127.0.0.1:8200",
                    "https://[::1]:8200",
                ]),
                prop::option::of("[a-z]{1,6}(/[a-z0-9_-]{1,6})?"),
                prop::option::of(if cfg!(windows) {
                    r"C:\\[a-z]{1,6}\\ca\.pem"
                } else {
                    "/[a-z]{1,6}/ca\\.pem"
                }),
                // A role that generates its ServiceAccounts.
                any::<bool>(),
                // A login: jwt, approle, userpass or ldap; a name, a file, a
                // mount.
                prop::option::of((
                    0..5u8,
                    "[a-z]{1,6}",
                    if cfg!(windows) {
                        r"C:\\[a-z]{1,6}\\[a-z]{1,6}"
                    } else {
                        "/[a-z]{1,6}/[a-z]{1,6}"
                    },
                    prop::option::of("[a-z]{1,6}(/[a-z]{1,6})?"),
                )),
                // A Vault namespace.
                prop::option::of("[a-z]{1,6}(/[a-z0-9][a-z0-9_.-]{0,5})?"),
            )),
        )
            .prop_map(
                |(
                    (namespace, principal, source, audiences, bind_secret),
                    admin_context,
                    kubeconfig,
                    broker,
                    vault,
                )| {
                    let broker = broker.map(|(socket, owner)| BrokerRef {
                        socket: socket.into(),
                        owner,
                    });
                    let vault = vault.filter(|_| {
                        broker.is_none() && matches!(principal, Principal::ServiceAccount(_))
                    });
                    let principal = match &vault {
                        Some((.., true, _, _)) => {
                            Principal::ServiceAccount(options::GENERATED_SA.into())
                        }
                        _ => principal,
                    };
                    let vault =
                        vault.map(|(role, address, mount, ca, _, login, namespace)| VaultRef {
                            namespace,
                            address: address.into(),
                            mount: mount.unwrap_or_else(|| options::DEFAULT_VAULT_MOUNT.into()),
                            role,
                            ca_file: ca.map(Into::into),
                            login: login.map(|(which, name, file, mount)| {
                                let method = match which {
                                    0 => VaultLoginMethod::Jwt {
                                        jwt: if name.len() % 2 == 0 {
                                            format!("env:{}", name.to_uppercase())
                                        } else {
                                            file
                                        },
                                        role: name,
                                    },
                                    1 => VaultLoginMethod::AppRole {
                                        role_id_file: PathBuf::from(&file),
                                        secret_id_file: PathBuf::from(format!("{file}s")),
                                    },
                                    2 => VaultLoginMethod::Password {
                                        method: options::PasswordMethod::UserPass,
                                        username: name,
                                    },
                                    3 => VaultLoginMethod::Password {
                                        method: options::PasswordMethod::Ldap,
                                        username: format!(r"{name}@corp\{name}"),
                                    },
                                    _ => VaultLoginMethod::Oidc {
                                        role: Some(name).filter(|n| n.len() % 2 == 0),
                                    },
                                };
                                VaultLogin {
                                    mount: mount.unwrap_or_else(|| method.name().into()),
                                    method,
                                }
                            }),
                        });
                    let remote = broker.is_some() || vault.is_some();
                    TokenSpec {
                        kubeconfig: kubeconfig.filter(|_| !remote).map(Into::into),
                        admin_context: if remote { String::new() } else { admin_context },
                        source: if vault.is_some() {
                            SourceKind::Vault
                        } else {
                            source
                        },
                        broker,
                        vault,
                        namespace,
                        principal,
                        audiences,
                        bind_secret: bind_secret && !remote,
                    }
                },
            );
        let cache = prop::sample::select(vec![
            CacheChoice::Auto,
            CacheChoice::Keyring,
            CacheChoice::Keyutils,
            CacheChoice::Tmpfs,
            CacheChoice::File,
            CacheChoice::None,
        ]);
        (
            spec,
            secs(600),
            cache,
            any::<bool>(),
            (secs(1), secs(0), secs(0)),
            (any::<bool>(), any::<bool>(), secs(0)),
        )
            .prop_map(
                |(
                    spec,
                    duration,
                    cache,
                    create,
                    (revalidate, secret_wait, lock_wait),
                    (refresh_ahead, approve, csr_wait),
                )| {
                    let user = matches!(spec.principal, Principal::User { .. });
                    let secret = spec.source == SourceKind::Secret;
                    let brokered = spec.broker.is_some();
                    GetOptions {
                        spec,
                        duration,
                        cache,
                        create_secret: create && secret && !brokered,
                        revalidate,
                        secret_wait,
                        lock_wait,
                        refresh_ahead,
                        approve: approve || !user || brokered,
                        csr_wait: if user {
                            csr_wait
                        } else {
                            options::DEFAULT_CSR_WAIT
                        },
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn through_both_parsers(o in options()) {
            // Every field, so that a new one fails to compile here.
            let GetOptions { spec, duration: _, cache: _, create_secret: _, revalidate: _, secret_wait: _, lock_wait: _, refresh_ahead: _, approve: _, csr_wait: _ } = &o;
            let TokenSpec { kubeconfig: _, admin_context: _, broker: _, vault: _, namespace: _, principal: _, source: _, audiences: _, bind_secret: _ } = spec;
            if matches!(&spec.principal, Principal::User { name, groups } if name.starts_with("system:") || name.trim() != name || groups.iter().any(|g| g.starts_with("system:"))) {
                return Ok(());
            }
            let mut argv: Vec<OsString> = vec!["kube-sa-token".into()];
            argv.extend(exec_args(&o).into_iter().map(OsString::from));
            let fast = super::super::super::fast_get::parse(&argv).expect("the fast path takes every exec entry");
            let slow = Cli::try_parse_from(&argv).expect("clap takes every exec entry");
            for back in [fast.map(|i| i.command), invocation(slow, &Fixed).map(|i| i.command)] {
                match back {
                    Ok(Command::Get(back)) => prop_assert_eq!(format!("{back:?}"), format!("{o:?}")),
                    other => prop_assert!(false, "{:?} gave {:?}", exec_args(&o), other.map(|_| ())),
                }
            }
        }
    }
}
