//! The policy's patterns: `*` matches any run of characters but `/`, so a
//! pattern's parts between slashes match the same parts of a name, and no
//! `*` reaches across (issue 32: `ci-*/deployer` never matches a namespace
//! with a path in it).

/// `pattern` with '*' matching any run of characters but '/' (none
/// included): a '/' only matches a '/' in the pattern.
pub fn glob(pattern: &str, s: &str) -> bool {
    pattern.split('/').count() == s.split('/').count()
        && pattern
            .split('/')
            .zip(s.split('/'))
            .all(|(p, s)| glob_part(p, s))
}

fn glob_part(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("team/*", "team/viewer"));
        assert!(glob("*/viewer", "a/viewer"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "ac"));
        assert!(!glob("team/*", "teams/viewer"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("ab*ba", "aba"));
        // No '*' matches a '/'.
        assert!(!glob("ci-*", "ci-a/serviceaccounts/admin"));
        assert!(!glob("*", "a/b"));
        assert!(glob("*/*", "a/b"));
    }
}
