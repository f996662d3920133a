//! Durations on the command line: "90s", "10m", "1h30m", "2h", or seconds.

use std::fmt;
use std::time::Duration;

/// A duration on the command line: "90s", "10m", "1h30m", or seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dur(pub(super) Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::clock::flag_duration(self.0))
    }
}

pub(super) fn parse_dur(s: &str) -> Result<Dur, String> {
    parse_duration(s).map(Dur)
}

/// Parses "90s", "10m", "1h30m", "2h", or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(n) = s.parse::<u64>() {
        return bounded(s, n);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "invalid duration {s:?}: use forms like 90s, 10m, 1h30m"
                ));
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: use forms like 90s, 10m, 1h30m"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| too_long(s))?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: a number needs a unit (s, m, h)"
        ));
    }
    bounded(s, total)
}

/// The longest duration any option takes: ten years. Anything longer is a
/// typo, and would overflow time arithmetic.
const MAX_SECS: u64 = 10 * 365 * 86_400;

fn too_long(s: &str) -> String {
    format!("duration {s:?} is too long: at most 3650d")
}

fn bounded(s: &str, secs: u64) -> Result<Duration, String> {
    if secs > MAX_SECS {
        return Err(too_long(s));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10").is_ok());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("5m3").is_err());
        assert!(
            parse_duration("9999999999999s")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("3650d").is_ok());
    }

    #[test]
    fn display_is_the_shortest_exact_unit() {
        assert_eq!(Dur(Duration::from_secs(7200)).to_string(), "2h");
        assert_eq!(Dur(Duration::from_secs(600)).to_string(), "10m");
        assert_eq!(Dur(Duration::from_secs(90)).to_string(), "90s");
        assert_eq!(Dur(Duration::ZERO).to_string(), "0s");
    }
}
