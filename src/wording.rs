//! Words for people: a count with its noun in the right number.

/// `1 rule`, `2 rules`, `0 contexts`: the noun's plural is `s` added.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `s` as one word of a POSIX shell command line: as it is when it is
/// plain, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./@:+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_and_many() {
        use super::counted;
        assert_eq!(counted(1, "rule"), "1 rule");
        assert_eq!(counted(0, "context"), "0 contexts");
        assert_eq!(counted(3, "context"), "3 contexts");
    }
}
