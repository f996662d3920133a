//! `inspect`'s report, written as JSON or as text.

use std::io::Write;

use serde_json::Value;

pub(super) use crate::clock::time_json as when;

pub(super) fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn time_line(v: &Value) -> String {
    if v.is_null() {
        "-".into()
    } else {
        format!("{} ({})", s(&v["time"]), s(&v["relative"]))
    }
}

pub(super) fn write_text(r: &Value, out: &mut dyn Write) -> std::io::Result<()> {
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
    if let Some(lease) = r["vaultLease"].as_str() {
        writeln!(out, "Vault lease:      {lease}")?;
    }
    writeln!(out, "JWT ID:           {}", s(&r["jti"]))?;
    writeln!(
        out,
        "Credential ID:    {}",
        r["credentialId"]
            .as_str()
            .unwrap_or("- (a legacy token has none)")
    )?;
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
