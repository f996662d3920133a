//! `inspect` of an X.509 user's certificate.

use std::io::Write;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::credential::Credential;
use crate::error::Error;
use crate::options::Format;
use crate::x509;

use super::super::admin_session::AdminSession;
use super::super::broker_cluster::command_info;
use super::super::kube_minter::credential_client;
use super::input::{Cached, Request};
use super::report::{s, time_line, when};

/// `inspect` of an X.509 user's certificate: subject, groups, serial,
/// validity, issuer; with `--verify` and the cached key, a SelfSubjectReview
/// with it.
pub(super) fn inspect_certificate(
    req: &Request<'_>,
    pem: &str,
    credential: Option<&Credential>,
    cached: Option<&Cached>,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let info = x509::parse(pem)?;
    let now = clock.now().unix_timestamp();
    let verification = match (req.verify, credential, cached) {
        (false, _, _) => None,
        (true, Some(credential), Some(Cached { opts, cluster, .. })) => {
            let session =
                AdminSession::new(opts.spec.kubeconfig.as_deref(), &opts.spec.admin_context);
            let who = format!("the cached certificate of {}", opts.spec.label());
            // A broker's: asked on its cluster with the certificate alone.
            let info = command_info(&opts.spec)?;
            let client = credential_client(&session, &info, credential, cluster, &who, "")?;
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
        "kind": if info.is_ca { "caCertificate" } else { "certificate" },
        "subject": info.subject,
        "user": info.user,
        "groups": info.groups,
        "serial": info.serial,
        "credentialId": crate::credential_id::of_certificate(&info),
        "issuer": info.issuer,
        "notBefore": when(Some(info.not_before), now),
        "expires": when(Some(info.not_after), now),
        "expired": info.not_after <= now,
        "verification": verification,
    });
    match req.format {
        Format::Json | Format::Yaml => req.format.write_document(&report, out)?,
        Format::Text => {
            let kind = if info.is_ca {
                "X.509 CA certificate (a cluster's or a signer's: it authenticates no one)"
            } else {
                "X.509 client certificate (CertificateSigningRequest)"
            };
            writeln!(out, "Type:             {kind}")?;
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
            if let Some(id) = report["credentialId"].as_str() {
                writeln!(out, "Credential ID:    {id}")?;
            }
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
            if !info.is_ca {
                writeln!(
                    out,
                    "Revocation:       none possible (Kubernetes cannot revoke client certificates; they die at expiry)"
                )?;
            }
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
