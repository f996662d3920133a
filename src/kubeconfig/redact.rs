//! Kubeconfig entries shown to people (`setup --dry-run`): credentials
//! replaced as `kubectl config view` replaces them, and an entry's change
//! written as a diff of those redacted lines.

use serde_yaml::{Mapping, Value};

use super::error::KubeconfigError;
use super::files::to_yaml;

const REDACTED: &str = "REDACTED";
const OMITTED: &str = "DATA+OMITTED";

/// Fields whose value is a credential, wherever they appear (a user's
/// `token`, `client-key-data`, `password`; an auth provider's tokens and
/// secret).
const SECRET_FIELDS: &[&str] = &[
    "token",
    "password",
    "client-key-data",
    "id-token",
    "refresh-token",
    "access-token",
    "client-secret",
];
/// Fields that are long data, not secrets, left out as kubectl does.
const DATA_FIELDS: &[&str] = &["client-certificate-data", "certificate-authority-data"];
/// Command-line flags of exec plugins whose value is a credential.
const SECRET_FLAGS: &[&str] = &["--token", "--password", "--client-secret", "--secret"];

/// `item` with every credential in it replaced by `REDACTED` (and long data
/// by `DATA+OMITTED`): the fields above, every exec `env` value, every
/// auth-provider `config` value, and the value of a secret-looking exec flag.
pub fn redacted(item: &Value) -> Value {
    match item {
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                let v = if v.is_null() {
                    v.clone()
                } else if SECRET_FIELDS.contains(&key) {
                    Value::from(REDACTED)
                } else if DATA_FIELDS.contains(&key) {
                    Value::from(OMITTED)
                } else if key == "env" {
                    env_redacted(v)
                } else if key == "config" {
                    all_values_redacted(v)
                } else if key == "args" {
                    args_redacted(v)
                } else {
                    redacted(v)
                };
                out.insert(k.clone(), v);
            }
            Value::Mapping(out)
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

fn env_redacted(v: &Value) -> Value {
    match v {
        Value::Sequence(s) => Value::Sequence(
            s.iter()
                .map(|e| match e {
                    Value::Mapping(m) => {
                        let mut m = m.clone();
                        if m.contains_key("value") {
                            m.insert(Value::from("value"), Value::from(REDACTED));
                        }
                        Value::Mapping(m)
                    }
                    _ => Value::from(REDACTED),
                })
                .collect(),
        ),
        _ => Value::from(REDACTED),
    }
}

fn all_values_redacted(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, _)| (k.clone(), Value::from(REDACTED)))
                .collect(),
        ),
        _ => Value::from(REDACTED),
    }
}

fn args_redacted(v: &Value) -> Value {
    let Value::Sequence(args) = v else {
        return redacted(v);
    };
    let mut out = Vec::with_capacity(args.len());
    let mut next_is_secret = false;
    for a in args {
        let s = a.as_str().unwrap_or_default();
        if next_is_secret {
            out.push(Value::from(REDACTED));
            next_is_secret = false;
        } else if let Some((flag, _)) = s.split_once('=')
            && SECRET_FLAGS.contains(&flag)
        {
            out.push(Value::from(format!("{flag}={REDACTED}")));
        } else {
            next_is_secret = SECRET_FLAGS.contains(&s);
            out.push(a.clone());
        }
    }
    Value::Sequence(out)
}

/// The change of one list item as a diff of its redacted YAML: `-` lines
/// were there before, `+` lines will be, `  ` lines stay.
pub fn diff(before: Option<&Value>, after: &Value) -> Result<String, KubeconfigError> {
    let lines = |v: Option<&Value>| -> Result<Vec<String>, KubeconfigError> {
        Ok(match v {
            Some(v) => to_yaml(&Value::Sequence(vec![redacted(v)]))?
                .lines()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        })
    };
    let (a, b) = (lines(before)?, lines(Some(after))?);
    // Longest common subsequence of lines; items are a few dozen lines.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", a[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = r#"
- name: admin
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZU0VDUkVU, token: tok-SECRET-1}
- name: oidc
  user:
    auth-provider: {name: oidc, config: {id-token: ID-SECRET, refresh-token: RT-SECRET, idp-issuer-url: https://idp}}
- name: plugin
  user:
    exec:
      command: vault-login
      args: [--token, ARG-SECRET, --password=PW-SECRET, --role, reader]
      env: [{name: VAULT_TOKEN, value: ENV-SECRET}]
- name: basic
  user: {username: bob, password: BASIC-SECRET}
"#;

    #[test]
    fn no_credential_survives_and_the_rest_stays() {
        let users: Value = serde_yaml::from_str(USERS).unwrap();
        let shown = to_yaml(&redacted(&users)).unwrap();
        for secret in [
            "S0VZU0VDUkVU",
            "tok-SECRET-1",
            "ID-SECRET",
            "RT-SECRET",
            "ARG-SECRET",
            "PW-SECRET",
            "ENV-SECRET",
            "BASIC-SECRET",
            "Q0VSVA==",
        ] {
            assert!(!shown.contains(secret), "{secret} in\n{shown}");
        }
        for kept in ["vault-login", "--role", "reader", "VAULT_TOKEN", "bob"] {
            assert!(shown.contains(kept), "{kept} missing from\n{shown}");
        }
        // An auth provider's whole config is withheld, issuer URL and all.
        assert!(!shown.contains("https://idp"), "{shown}");
    }

    #[test]
    fn a_diff_shows_what_goes_and_what_comes() {
        let before: Value =
            serde_yaml::from_str("{name: u, user: {token: OLD-SECRET, username: a}}").unwrap();
        let after: Value =
            serde_yaml::from_str("{name: u, user: {exec: {command: kube-sa-token}}}").unwrap();
        let d = diff(Some(&before), &after).unwrap();
        assert!(!d.contains("OLD-SECRET"), "{d}");
        assert!(
            d.contains("- ") && d.contains("+ ") && d.contains("kube-sa-token"),
            "{d}"
        );
        assert!(
            diff(None, &after)
                .unwrap()
                .lines()
                .all(|l| l.starts_with("+ "))
        );
        assert!(
            diff(Some(&after), &after)
                .unwrap()
                .lines()
                .all(|l| l.starts_with("  "))
        );
    }
}
