//! Describing a parse error of outside input (a kubeconfig, KUBERNETES_EXEC_INFO,
//! an exec plugin's output, a cache entry, a JWT) without the input itself:
//! serde quotes the scalars it cannot use (`invalid type: string "..."`), and
//! those scalars may be tokens or keys. What stays: the path of the field,
//! the kind of error, what was expected, and where.

/// Kinds of serde error whose message quotes the offending value.
const QUOTING: [&str; 4] = [
    "invalid type",
    "invalid value",
    "invalid length",
    "unknown variant",
];

/// The message of a serde error with every quoted value left out.
fn kind_of(msg: &str) -> String {
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let found = QUOTING
        .iter()
        .chain(["missing field", "unknown field"].iter())
        .filter_map(|k| msg.find(k).map(|i| (i, *k)))
        .min();
    match found {
        // The path before it ("users[0].user.as-groups: ") names keys and
        // indices of the document's structure; the expectation comes from
        // the schema.
        Some((i, k)) if QUOTING.contains(&k) => {
            let path = &msg[..i];
            match msg[i..].rsplit_once(", expected ") {
                Some((_, expected)) => format!("{path}{k} (expected {expected})"),
                None => format!("{path}{k}"),
            }
        }
        // Field names come from the schema, not from the data.
        Some(_) => msg.split(", expected").next().unwrap_or(msg).to_string(),
        // Scanner and parser errors describe the structure, not the content.
        None => msg.to_string(),
    }
}

/// A YAML error: kind, expectation, line and column.
pub fn yaml(e: &serde_yaml::Error) -> String {
    let kind = kind_of(&e.to_string());
    match e.location() {
        Some(l) => format!("{kind} at line {}, column {}", l.line(), l.column()),
        None => kind,
    }
}

/// A JSON error: kind, expectation, line and column.
pub fn json(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Data => kind_of(&e.to_string()),
        serde_json::error::Category::Syntax => "not valid JSON".into(),
        serde_json::error::Category::Eof => "cut short".into(),
        serde_json::error::Category::Io => "unreadable".into(),
    };
    format!("{kind} at line {}, column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_name_kind_and_place_not_content() {
        let text = "users:\n- name: admin\n  user:\n    token: SECRET-TOKEN\n    as-groups: system:masters\n";
        let e = serde_yaml::from_str::<Doc>(text).unwrap_err();
        let d = yaml(&e);
        assert!(
            !d.contains("SECRET") && !d.contains("system:masters"),
            "{d}"
        );
        assert!(
            d.contains("line 5") && d.contains("expected a sequence"),
            "{d}"
        );
        let e = serde_yaml::from_str::<Doc>("users: [\n  token: SECRET\n").unwrap_err();
        let d = yaml(&e);
        assert!(!d.contains("SECRET") && d.contains("line"), "{d}");
    }

    #[test]
    fn json_errors_name_kind_and_place_not_content() {
        let e = serde_json::from_str::<Doc>(
            r#"{"users":[{"name":"u","user":{"token":"SECRET","as-groups":"SECRET2"}}]}"#,
        )
        .unwrap_err();
        let d = json(&e);
        assert!(!d.contains("SECRET"), "{d}");
        assert!(
            d.contains("expected a sequence") && d.contains("column"),
            "{d}"
        );
        let e = serde_json::from_str::<Doc>("SECRET{").unwrap_err();
        assert_eq!(json(&e), "not valid JSON at line 1, column 1");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        users: Vec<NamedUser>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct NamedUser {
        name: String,
        user: User,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        token: Option<String>,
        #[serde(rename = "as-groups")]
        as_groups: Option<Vec<String>>,
    }
}
