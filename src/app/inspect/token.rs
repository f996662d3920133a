//! `inspect` of a token: header and claims, and — only with `--verify` —
//! whether it is valid (signature against the cluster's JWKS, and
//! TokenReview).

use std::io::Write;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::Error;
use crate::jwt::{Claims, Header, decode};
use crate::kube_api::Admin;
use crate::options::Format;
use crate::secret::Token;

use super::super::admin_session::AdminSession;
use super::input::{Cached, Request};
use super::report::{when, write_text};

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

/// The report on `token` (`cached`: the cache entry it came from).
pub(super) fn inspect_token(
    req: &Request<'_>,
    token: &Token,
    cached: Option<&Cached>,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let (header, claims) = decode(token)?;
    let now = clock.now().unix_timestamp();
    let legacy = claims.is_legacy();
    // The cluster to ask: --admin-context, else the cached entry's own.
    let admin_context = req
        .admin_context
        .or(cached.map(|c| c.opts.spec.admin_context.as_str()));
    let kubeconfig = match (req.admin_context, cached) {
        (None, Some(c)) => c.opts.spec.kubeconfig.as_deref(),
        _ => req.kubeconfig,
    };
    if req.verify
        && req.admin_context.is_none()
        && let Some(b) = cached.and_then(|c| c.opts.spec.broker.as_ref())
    {
        return Err(Error::Usage(format!(
            "--verify checks a token with an admin context (the cluster's signing keys, a TokenReview), and this one comes from the broker at {}: `kube-sa-token whoami` asks the server with the token itself, or give --admin-context",
            b.socket.display()
        )));
    }
    let verification = match (req.verify, admin_context) {
        (true, Some(ctx)) => {
            let session = AdminSession::new(kubeconfig, ctx);
            let admin = session.admin(None)?;
            // A cached token goes (in a TokenReview) only where it is bound.
            if let Some(c) = cached {
                let who = format!("the cached token of {}", c.opts.spec.label());
                admin.may_receive(&c.cluster, &who)?;
            }
            Some(session.block_on(verify(admin, token, &header, &claims))??)
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
        // What the API server's audit log calls requests made with it.
        "credentialId": crate::credential_id::of_token(&claims),
        "vaultLease": cached.and_then(|c| c.lease.clone()),
        "claims": serde_json::to_value(&claims).unwrap_or(Value::Null),
        "verification": verification,
    });
    match req.format {
        Format::Json | Format::Yaml => req.format.write_document(&report, out)?,
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
