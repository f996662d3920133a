//! Durations on the command line: "90s", "10m", "1h30m", "2h", or seconds;
//! [`parse`] reads them and [`flag`] writes them.

use std::time::Duration;

/// Parses "90s", "10m", "1h30m", "2h", or plain seconds.
pub fn parse(s: &str) -> Result<Duration, String> {
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
                    "invalid duration {s:?}: use forms like 90s, 10m, 1h30m, 7d (d is the largest unit)"
                ));
            }
        };
        let n: u64 = num.parse().map_err(|_| {
            format!(
                "invalid duration {s:?}: use forms like 90s, 10m, 1h30m, 7d (d is the largest unit)"
            )
        })?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| too_long(s))?;
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: a number needs a unit (s, m, h, d)"
        ));
    }
    bounded(s, total)
}

/// The longest duration any option takes: ten years. Anything longer is a
/// typo, and would overflow time arithmetic.
pub(crate) const MAX_SECS: u64 = 10 * 365 * 86_400;

fn too_long(s: &str) -> String {
    format!("duration {s:?} is too long: at most 3650d")
}

fn bounded(s: &str, secs: u64) -> Result<Duration, String> {
    if secs > MAX_SECS {
        return Err(too_long(s));
    }
    Ok(Duration::from_secs(secs))
}

/// A duration as the command line writes it: "2h", "30m", else "45s".
pub fn flag(d: Duration) -> String {
    let s = d.as_secs();
    if s != 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s != 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert!(parse("10").is_ok());
        assert!(parse("1x").is_err());
        // Issue 33: the message names every unit, d the largest.
        assert!(
            parse("1y")
                .unwrap_err()
                .contains("7d (d is the largest unit)")
        );
        assert!(parse("5m3").is_err());
        assert!(parse("9999999999999s").unwrap_err().contains("too long"));
        assert!(parse("99999999999999999999h").is_err());
        assert!(parse("3650d").is_ok());
    }

    #[test]
    fn display_is_the_shortest_exact_unit() {
        assert_eq!(flag(Duration::from_secs(7200)), "2h");
        assert_eq!(flag(Duration::from_secs(600)), "10m");
        assert_eq!(flag(Duration::from_secs(90)), "90s");
        assert_eq!(flag(Duration::ZERO), "0s");
    }
}
