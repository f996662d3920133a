//! Property tests for every parser of outside input: whatever the bytes,
//! each returns a value or an error, never panics, and its errors never quote
//! the input. Outside input is everything this tool does not write itself:
//! KUBERNETES_EXEC_INFO, tokens (JWT header and claims), kubeconfig files
//! and the lookups in them, signed certificates, cache entries and the index (another version or a
//! damaged disk may have written them), server URLs, NO_PROXY, durations.

use proptest::prelude::*;

use crate::cache::CacheKey;
use crate::cluster_identity::{ClusterIdentity, normalize_server};
use crate::jwt::{self, Want};
use crate::kube_api::{ProxyEnv, select_proxy as select};
use crate::kubeconfig::Kubeconfigs;
use crate::protocol::ExecInfo;
use crate::secret::Token;

/// A token-shaped string: three base64url parts, the first two of `json`.
fn jwt_like(header: &str, claims: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}.c2ln", b64.encode(header), b64.encode(claims))
}

/// Arbitrary JSON text, shaped like what the parsers expect now and then.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        ".{0,24}".prop_map(serde_json::Value::from),
    ];
    let keys = prop_oneof![
        Just("kind".to_string()),
        Just("apiVersion".to_string()),
        Just("spec".to_string()),
        Just("cluster".to_string()),
        Just("server".to_string()),
        Just("sub".to_string()),
        Just("aud".to_string()),
        Just("exp".to_string()),
        Just("iat".to_string()),
        Just("nbf".to_string()),
        Just("alg".to_string()),
        Just("token".to_string()),
        Just("entries".to_string()),
        "[a-z-]{1,12}",
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
    .prop_map(|v| v.to_string())
}

proptest! {
    // Failures are not persisted to files: a minimal failing input found
    // here becomes a named unit test next to the code it breaks.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn exec_info_never_panics(text in prop_oneof![json_text(), ".*"]) {
        let _ = ExecInfo::parse(Some(&text));
    }

    #[test]
    fn exec_info_errors_never_quote_the_input(secret in "[A-Za-z0-9]{12,20}") {
        let text = format!(r#"{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{{"interactive":"{secret}"}}}}"#);
        let err = ExecInfo::parse(Some(&text)).unwrap_err().to_string();
        prop_assert!(!err.contains(&secret), "{}", err);
    }

    #[test]
    fn jwt_decoding_and_freshness_never_panic(
        header in json_text(),
        claims in json_text(),
        raw in ".*",
        now in any::<i64>(),
    ) {
        let want = Want { namespace: "ns", service_account: "sa", audiences: &[] };
        let now = time::OffsetDateTime::from_unix_timestamp(now.rem_euclid(253_402_300_799))
            .unwrap();
        for text in [jwt_like(&header, &claims), raw.clone()] {
            let token = Token::new(text);
            let _ = jwt::check(&token, &want, now);
            if let Ok((_, c)) = jwt::decode(&token) {
                let _ = jwt::check_new(&c, &want, now);
                let _ = jwt::margin_secs(&c);
            }
        }
    }

    #[test]
    fn claims_with_any_numbers_never_panic(
        exp in any::<Option<i64>>(),
        iat in any::<Option<i64>>(),
        nbf in any::<Option<i64>>(),
        now in any::<i64>(),
    ) {
        let claims = jwt::Claims {
            sub: Some("system:serviceaccount:ns:sa".into()),
            exp, iat, nbf,
            ..Default::default()
        };
        let want = Want { namespace: "ns", service_account: "sa", audiences: &[] };
        let now = time::OffsetDateTime::from_unix_timestamp(now.rem_euclid(253_402_300_799))
            .unwrap();
        let _ = jwt::check_claims(&claims, &want, now);
        let _ = jwt::check_new(&claims, &want, now);
    }

    #[test]
    fn certificates_never_panic_nor_quote_the_input(
        body in prop_oneof!["[A-Za-z0-9+/=\n]{0,200}", ".*"],
        wrap in any::<bool>(),
    ) {
        let text = if wrap {
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
        } else {
            body.clone()
        };
        if let Err(e) = crate::x509::parse(&text)
            && body.len() > 12
        {
            prop_assert!(!e.to_string().contains(body.trim()));
        }
    }

    #[test]
    fn cache_entries_and_index_never_panic(text in prop_oneof![json_text(), ".*"]) {
        if let Err(e) = crate::cache::decode_entry(text.as_bytes()) {
            // A damaged entry is reported without what it held.
            if text.len() > 12 {
                prop_assert!(!e.to_string().contains(&text));
            }
        }
        let _ = crate::cache::parse_index(text.as_bytes());
    }

    #[test]
    fn kubeconfig_files_and_lookups_never_panic(
        text in prop_oneof![
            ".*",
            json_text(),
            Just("clusters: [{name: c, cluster: {server: 'https://h:1', certificate-authority-data: 'not base64'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\nusers: [{name: u, user: 7}]".to_string()),
        ],
        context in prop_oneof![Just("x".to_string()), ".{0,8}"],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, &text).unwrap();
        if let Ok(kc) = Kubeconfigs::load(Some(&path)) {
            let _ = kc.context(&context);
            let _ = kc.server_of(&context);
            let _ = kc.resolve(&context);
            let _ = kc.cluster_identity(&context);
            let _ = kc.exec_users();
            let _ = kc.context_names();
        }
    }

    #[test]
    fn server_urls_normalize_idempotently(s in ".*") {
        let once = normalize_server(&s);
        prop_assert_eq!(normalize_server(&once), once.clone());
        let id = ClusterIdentity::new(&s, None, None, false).unwrap();
        let _ = CacheKey::for_token(&crate::testing::opts().spec, &id, &s);
    }

    #[test]
    fn no_proxy_and_proxy_values_never_panic(
        no_proxy in ".*",
        proxy in ".*",
        host in "[a-z0-9.:\\[\\]-]{1,30}",
    ) {
        let env = ProxyEnv {
            https_proxy: Some(proxy.clone()),
            http_proxy: Some(proxy.clone()),
            no_proxy: Some(no_proxy),
            cgi: false,
        };
        if let Ok(server) = format!("https://{host}").parse::<http::Uri>() {
            let _ = select(None, &server, &env);
            let _ = select(Some(&proxy), &server, &env);
        }
    }

    #[test]
    fn durations_never_panic(s in ".*", n in any::<u64>(), unit in "[smhdx]") {
        let _ = crate::duration::parse(&s);
        let _ = crate::duration::parse(&format!("{n}{unit}"));
        let _ = crate::duration::parse(&format!("{n}"));
    }
}
