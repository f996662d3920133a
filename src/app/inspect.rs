//! `inspect`: header and claims of a token, and — only with `--verify` —
//! whether it is valid (signature against the cluster's JWKS, and TokenReview).

use std::io::{Read, Write};

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cache::Cache;
use crate::clock::{Clock, human, rfc3339};
use crate::cluster_identity::ClusterIdentity;
use crate::credential::Credential;
use crate::error::Error;
use crate::jwt::{Claims, Header, decode};
use crate::kube_api::Admin;
use crate::options::{Format, GetOptions, InspectInput};
use crate::token::Token;
use crate::x509;

use super::admin_session::AdminSession;

/// What `inspect` reads: a token, or a user's certificate (with its key
/// when it comes from the cache).
enum Inspected {
    Token(Token),
    Certificate {
        pem: String,
        credential: Option<Credential>,
    },
}

/// A cached credential's entry options and the cluster it is bound to.
struct Cached<'a> {
    opts: &'a GetOptions,
    cluster: ClusterIdentity,
}

fn read_input(input: &InspectInput) -> Result<(Inspected, Option<Cached<'_>>), Error> {
    let given = |text: &str| {
        let text = text.trim();
        if text.starts_with("-----BEGIN CERTIFICATE-----") {
            Inspected::Certificate {
                pem: text.to_string(),
                credential: None,
            }
        } else {
            Inspected::Token(Token::new(text.to_string()))
        }
    };
    Ok(match input {
        InspectInput::Stdin => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|source| Error::Input {
                    what: "the token from stdin",
                    source,
                })?;
            (given(&s), None)
        }
        InspectInput::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Input {
                what: "the token file",
                source,
            })?;
            (given(&text), None)
        }
        InspectInput::Given(t) => {
            tracing::warn!(
                "a token on the command line is visible to other users (ps, /proc/PID/cmdline) and stays in your shell history; pass it on stdin (`kube-sa-token inspect - < FILE`) or with --file PATH"
            );
            (given(t.expose()), None)
        }
        InspectInput::Cached(opts) => {
            let cluster = super::request::admin_cluster(&opts.spec)?;
            let key = super::request::entry_key(&opts.spec, &cluster);
            let server = &cluster.server;
            let cache = Cache::open(opts.cache)?;
            let kind = cache
                .kind()
                .ok_or_else(|| Error::Usage("--cache none keeps no token to inspect".into()))?;
            let entry = cache.load(&key)?.ok_or_else(|| {
                Error::Usage(format!(
                    "no cached credential for {} on {server} in the {kind} store; run kubectl with its context (or `kube-sa-token whoami ...`) first, or pass a TOKEN",
                    opts.spec.label(),
                ))
            })?;
            let inspected = match entry.credential {
                Credential::Token(t) => Inspected::Token(t),
                Credential::Certificate(c) => Inspected::Certificate {
                    pem: c.certificate.clone(),
                    credential: Some(Credential::Certificate(c)),
                },
            };
            (
                inspected,
                Some(Cached {
                    opts,
                    cluster: entry.cluster,
                }),
            )
        }
    })
}

fn when(t: Option<i64>, now: i64) -> Value {
    match t {
        Some(t) => json!({
            "time": OffsetDateTime::from_unix_timestamp(t).map(rfc3339).unwrap_or_default(),
            "unix": t,
            "relative": if t > now { format!("in {}", human(t - now)) } else { format!("{} ago", human(now - t)) },
        }),
        None => Value::Null,
    }
}

/// The bound object of a bound token.
fn bound_object(claims: &Claims) -> Value {
    match claims.service_account().bound {
        Some(o) => json!({"kind": o.kind, "name": o.name, "uid": o.uid}),
        None => Value::Null,
    }
}

fn service_account(claims: &Claims) -> Value {
    let sa = claims.service_account();
    let mut v = json!({"namespace": sa.namespace, "name": sa.name, "uid": sa.uid});
    if claims.other.get("kubernetes.io").is_none() {
        v["secret"] = json!(sa.legacy_secret);
    }
    v
}

/// The signature check: its JSON for the report, and whether the token may be
/// sent to this cluster for a TokenReview: only when it verified against the
/// cluster's keys, or when its key is the cluster's but its algorithm is one
/// this build cannot check. A token another cluster issued is never sent here.
fn check_signature(
    jwks: Result<String, String>,
    token: &Token,
    header: &Header,
    claims: &Claims,
) -> (Value, bool) {
    let text = match jwks {
        Ok(t) => t,
        Err(e) => {
            return (
                json!({"valid": Value::Null, "detail": format!("could not fetch JWKS: {e}")}),
                false,
            );
        }
    };
    let set = match serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(&text) {
        Ok(set) => set,
        Err(e) => {
            let detail = format!(
                "cluster JWKS is not valid: {}",
                crate::parse_error::json(&e)
            );
            return (json!({"valid": false, "detail": detail}), false);
        }
    };
    let jwk = match &header.kid {
        Some(kid) => set.find(kid),
        None => set.keys.first(),
    };
    let Some(jwk) = jwk else {
        let detail = format!("no key with kid {:?} in the cluster's JWKS", header.kid);
        return (json!({"valid": false, "detail": detail}), false);
    };
    let alg = header.alg.clone().unwrap_or_default();
    let Ok(algorithm) = alg.parse::<jsonwebtoken::Algorithm>() else {
        let detail =
            format!("its key is the cluster's, but algorithm {alg:?} cannot be checked here");
        return (json!({"valid": Value::Null, "detail": detail}), true);
    };
    let mut v = jsonwebtoken::Validation::new(algorithm);
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v.validate_exp = claims.exp.is_some();
    v.leeway = 0;
    match jsonwebtoken::DecodingKey::from_jwk(jwk).and_then(|k| {
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(token.expose(), &k, &v)
    }) {
        Ok(_) => (
            json!({"valid": true, "detail": "signature matches the cluster's JWKS"}),
            true,
        ),
        Err(e) => (json!({"valid": false, "detail": e.to_string()}), false),
    }
}

/// Checks the signature against the cluster's JWKS and, if the token is the
/// cluster's, asks for a TokenReview.
async fn verify(
    admin: &Admin,
    token: &Token,
    header: &Header,
    claims: &Claims,
) -> Result<Value, Error> {
    let jwks = admin.jwks().await.map_err(|e| e.to_string());
    let (signature, send) = check_signature(jwks, token, header, claims);
    let review = if !send {
        json!({"authenticated": Value::Null, "error": "not sent: the token is not signed by this cluster, and a token is only ever sent to the cluster that issued it"})
    } else {
        match admin.token_review(token, &claims.aud.to_vec()).await {
            Ok(r) => json!({
                "authenticated": r.authenticated,
                "username": r.user.as_ref().and_then(|u| u.username.clone()),
                "error": r.error,
            }),
            Err(e) => json!({"authenticated": Value::Null, "error": e.to_string()}),
        }
    };
    Ok(json!({"signature": signature, "tokenReview": review}))
}

pub struct Request<'a> {
    pub input: &'a InspectInput,
    pub kubeconfig: Option<&'a std::path::Path>,
    pub admin_context: Option<&'a str>,
    pub verify: bool,
    pub format: Format,
}

pub fn inspect(req: Request<'_>, clock: &dyn Clock, out: &mut dyn Write) -> Result<(), Error> {
    let (inspected, cached) = read_input(req.input)?;
    let token = match inspected {
        Inspected::Token(t) => t,
        Inspected::Certificate { pem, credential } => {
            return inspect_certificate(
                &req,
                &pem,
                credential.as_ref(),
                cached.as_ref(),
                clock,
                out,
            );
        }
    };
    let (header, claims) = decode(&token)?;
    let now = clock.now().unix_timestamp();
    let legacy = claims.is_legacy();
    let verification = match (req.verify, req.admin_context) {
        (true, Some(ctx)) => {
            let session = AdminSession::new(req.kubeconfig, ctx);
            let admin = session.admin(None)?;
            // A cached token goes (in a TokenReview) only where it is bound.
            if let Some(c) = &cached {
                let who = format!("the cached token of {}", c.opts.spec.label());
                admin.may_receive(&c.cluster, &who)?;
            }
            Some(session.block_on(verify(admin, &token, &header, &claims))??)
        }
        _ => None,
    };
    let report = json!({
        "kind": if legacy { "legacy" } else { "bound" },
        "header": {"alg": header.alg, "kid": header.kid, "typ": header.typ},
        "issuer": claims.iss,
        "subject": claims.sub,
        "audiences": claims.aud.to_vec(),
        "issuedAt": when(claims.iat, now),
        "notBefore": when(claims.nbf, now),
        "expires": when(claims.exp, now),
        "expired": claims.exp.map(|e| e <= now),
        "serviceAccount": service_account(&claims),
        "boundObject": bound_object(&claims),
        "jti": claims.jti,
        "claims": serde_json::to_value(&claims).unwrap_or(Value::Null),
        "verification": verification,
    });
    match req.format {
        Format::Json => write_json(&report, out)?,
        Format::Text => write_text(&report, out)?,
    }
    if let Some(v) = &report["verification"].as_object() {
        let sig_ok = v["signature"]["valid"] == Value::Bool(true);
        let review_ok = v["tokenReview"]["authenticated"] == Value::Bool(true);
        if !(sig_ok && review_ok) {
            return Err(Error::CheckFailed(
                "the token did not verify (see above); mint a new one with `kube-sa-token logout ...` then kubectl, or check --admin-context points at the cluster that issued it".into(),
            ));
        }
    }
    Ok(())
}

/// `inspect` of an X.509 user's certificate: subject, groups, serial,
/// validity, issuer; with `--verify` and the cached key, a SelfSubjectReview
/// with it.
fn inspect_certificate(
    req: &Request<'_>,
    pem: &str,
    credential: Option<&Credential>,
    cached: Option<&Cached<'_>>,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let info = x509::parse(pem)?;
    let now = clock.now().unix_timestamp();
    let verification = match (req.verify, credential, cached) {
        (false, _, _) => None,
        (true, Some(credential), Some(Cached { opts, cluster })) => {
            let session =
                AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
            let who = format!("the cached certificate of {}", opts.spec.label());
            let client = session.token_client(credential, cluster, &who)?;
            Some(match session.block_on(client.whoami())? {
                Ok(u) => json!({"authenticated": true, "username": u.username, "groups": u.groups}),
                Err(e) => json!({"authenticated": false, "error": e.to_string()}),
            })
        }
        (true, _, _) => Some(
            json!({"authenticated": Value::Null, "error": "a certificate without its key cannot be checked with the server; inspect the cached one (--admin-context and --user) instead"}),
        ),
    };
    let report = json!({
        "kind": "certificate",
        "subject": info.subject,
        "user": info.user,
        "groups": info.groups,
        "serial": info.serial,
        "issuer": info.issuer,
        "notBefore": when(Some(info.not_before), now),
        "expires": when(Some(info.not_after), now),
        "expired": info.not_after <= now,
        "verification": verification,
    });
    match req.format {
        Format::Json => write_json(&report, out)?,
        Format::Text => {
            writeln!(
                out,
                "Type:             X.509 client certificate (CertificateSigningRequest)"
            )?;
            writeln!(out, "Subject:          {}", s(&report["subject"]))?;
            writeln!(out, "User:             {}", s(&report["user"]))?;
            let groups = if info.groups.is_empty() {
                "-".to_string()
            } else {
                info.groups.join(", ")
            };
            writeln!(out, "Groups:           {groups}")?;
            writeln!(out, "Serial:           {}", s(&report["serial"]))?;
            writeln!(out, "Issuer:           {}", s(&report["issuer"]))?;
            writeln!(out, "Not before:       {}", time_line(&report["notBefore"]))?;
            let expired = if info.not_after <= now {
                "  EXPIRED"
            } else {
                ""
            };
            writeln!(
                out,
                "Expires:          {}{expired}",
                time_line(&report["expires"])
            )?;
            writeln!(
                out,
                "Revocation:       none possible (Kubernetes cannot revoke client certificates; they die at expiry)"
            )?;
            match &report["verification"] {
                Value::Null => writeln!(
                    out,
                    "Validity:         not checked (add --verify to ask the server)"
                )?,
                v => match v["authenticated"] {
                    Value::Bool(true) => writeln!(
                        out,
                        "Server:           authenticated as {} (groups {})",
                        s(&v["username"]),
                        s(&v["groups"])
                    )?,
                    Value::Bool(false) => writeln!(
                        out,
                        "Server:           NOT authenticated: {}",
                        s(&v["error"])
                    )?,
                    _ => writeln!(out, "Server:           not checked: {}", s(&v["error"]))?,
                },
            }
        }
    }
    if report["verification"]["authenticated"] == Value::Bool(false) {
        return Err(Error::CheckFailed(
            "the server did not accept the certificate (see above); drop it with `kube-sa-token logout ...` and run kubectl again for a new one".into(),
        ));
    }
    Ok(())
}

fn write_json(report: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(report).expect("json")
    )
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn time_line(v: &Value) -> String {
    if v.is_null() {
        "-".into()
    } else {
        format!("{} ({})", s(&v["time"]), s(&v["relative"]))
    }
}

fn write_text(r: &Value, out: &mut dyn Write) -> std::io::Result<()> {
    let kind = if r["kind"] == "legacy" {
        "legacy Secret-based token (no expiry)"
    } else {
        "bound token (TokenRequest)"
    };
    writeln!(out, "Type:             {kind}")?;
    writeln!(
        out,
        "Algorithm:        {}  key id: {}",
        s(&r["header"]["alg"]),
        s(&r["header"]["kid"])
    )?;
    writeln!(out, "Issuer:           {}", s(&r["issuer"]))?;
    writeln!(out, "Subject:          {}", s(&r["subject"]))?;
    let sa = &r["serviceAccount"];
    writeln!(
        out,
        "Service account:  {}/{} (uid {})",
        s(&sa["namespace"]),
        s(&sa["name"]),
        s(&sa["uid"])
    )?;
    let aud: Vec<String> = r["audiences"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    writeln!(
        out,
        "Audiences:        {}",
        if aud.is_empty() {
            "-".into()
        } else {
            aud.join(", ")
        }
    )?;
    writeln!(out, "Issued at:        {}", time_line(&r["issuedAt"]))?;
    writeln!(out, "Not before:       {}", time_line(&r["notBefore"]))?;
    let exp = if r["expires"].is_null() {
        "never".to_string()
    } else {
        time_line(&r["expires"])
    };
    let expired = if r["expired"] == Value::Bool(true) {
        "  EXPIRED"
    } else {
        ""
    };
    writeln!(out, "Expires:          {exp}{expired}")?;
    let b = &r["boundObject"];
    let bound = if b.is_null() {
        match sa.get("secret") {
            Some(Value::String(secret)) => format!("token Secret {secret}"),
            _ => "-".into(),
        }
    } else {
        format!("{} {} (uid {})", s(&b["kind"]), s(&b["name"]), s(&b["uid"]))
    };
    writeln!(out, "Bound to:         {bound}")?;
    writeln!(out, "JWT ID:           {}", s(&r["jti"]))?;
    match r["verification"].as_object() {
        None => writeln!(
            out,
            "Validity:         not checked (add --verify to check the signature and ask the server)"
        )?,
        Some(v) => {
            let sig = &v["signature"];
            let sig_text = match sig["valid"] {
                Value::Bool(true) => "valid".to_string(),
                Value::Bool(false) => "INVALID".to_string(),
                _ => "unknown".to_string(),
            };
            writeln!(out, "Signature:        {sig_text}: {}", s(&sig["detail"]))?;
            let tr = &v["tokenReview"];
            match tr["authenticated"] {
                Value::Bool(true) => writeln!(
                    out,
                    "TokenReview:      authenticated as {}",
                    s(&tr["username"])
                )?,
                Value::Bool(false) => writeln!(
                    out,
                    "TokenReview:      NOT authenticated: {}",
                    s(&tr["error"])
                )?,
                _ => writeln!(out, "TokenReview:      not available: {}", s(&tr["error"]))?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::testing::{bound, mint};

    fn run(token: &Token, format: Format) -> String {
        let clock = FakeClock::at_unix(1_000_100);
        let mut out = Vec::new();
        let req = Request {
            input: &InspectInput::Given(token.clone()),
            kubeconfig: None,
            admin_context: None,
            verify: false,
            format,
        };
        inspect(req, &clock, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bound_token_text() {
        let t = bound(
            "team",
            "viewer",
            &["https://kubernetes.default.svc"],
            1_000_000,
            1_003_600,
        );
        let text = run(&t, Format::Text);
        assert!(text.contains("bound token"), "{text}");
        assert!(text.contains("system:serviceaccount:team:viewer"));
        assert!(text.contains("in 58m20s"), "{text}");
        assert!(text.contains("1m40s ago"), "{text}");
        assert!(
            text.contains("not checked"),
            "never claims validity unchecked: {text}"
        );
        assert!(!text.contains(t.expose()), "never prints the token");
    }

    #[test]
    fn a_given_certificate_shows_user_groups_validity_and_issuer() {
        let c = crate::testing::user_cert("alice", &["dev", "ops"], 1_000_000, 1_003_600);
        let text = run(&Token::new(c.certificate.clone()), Format::Text);
        assert!(text.contains("X.509 client certificate"), "{text}");
        assert!(text.contains("User:             alice"), "{text}");
        assert!(text.contains("Groups:           dev, ops"), "{text}");
        assert!(text.contains("Issuer:           CN=test-ca"), "{text}");
        assert!(text.contains("in 58m20s"), "{text}");
        assert!(text.contains("Serial:           2A"), "{text}");
        let v: Value =
            serde_json::from_str(&run(&Token::new(c.certificate), Format::Json)).unwrap();
        assert_eq!(v["kind"], "certificate");
        assert_eq!(v["groups"], json!(["dev", "ops"]));
        assert_eq!(v["expired"], false);
    }

    #[test]
    fn legacy_token_json() {
        let t = mint(
            json!({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:team:viewer",
            "kubernetes.io/serviceaccount/namespace": "team", "kubernetes.io/serviceaccount/secret.name": "viewer-token",
            "kubernetes.io/serviceaccount/service-account.name": "viewer"}),
        );
        let v: Value = serde_json::from_str(&run(&t, Format::Json)).unwrap();
        assert_eq!(v["kind"], "legacy");
        assert_eq!(v["expires"], Value::Null);
        assert_eq!(v["serviceAccount"]["secret"], "viewer-token");
        assert_eq!(v["verification"], Value::Null);
        let text = run(&t, Format::Text);
        assert!(
            text.contains("Expires:          never") && text.contains("token Secret viewer-token"),
            "{text}"
        );
    }
}
