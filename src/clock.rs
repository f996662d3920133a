//! Time source. Production reads the system clock; tests use [`FakeClock`].

use time::OffsetDateTime;

/// When this process started (first asked: `run()` asks at its start), in
/// nanoseconds since the epoch by the system clock. A `logout` records its
/// own time in the entry's lock file; a process that started before it never
/// mints or keeps a credential for that entry afterwards.
pub fn process_started() -> i128 {
    static STARTED: std::sync::OnceLock<i128> = std::sync::OnceLock::new();
    *STARTED.get_or_init(unix_nanos)
}

/// The system clock now, in nanoseconds since the epoch.
pub fn unix_nanos() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos()
}

/// A clock offset is believed up to a year; more is a damaged entry.
pub const MAX_OFFSET_SECS: i64 = 365 * 86_400;

/// `t` moved by `secs` seconds (the server's time for a local one, or back).
pub fn shift(t: OffsetDateTime, secs: i64) -> OffsetDateTime {
    let secs = secs.clamp(-MAX_OFFSET_SECS, MAX_OFFSET_SECS);
    t.checked_add(time::Duration::seconds(secs)).unwrap_or(t)
}

/// `t` plus a configured interval (at most ten years: see the CLI).
pub fn after(t: OffsetDateTime, d: std::time::Duration) -> OffsetDateTime {
    t.checked_add(time::Duration::seconds(
        d.as_secs().min(i64::MAX as u64) as i64
    ))
    .unwrap_or(t)
}

pub trait Clock {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until moved; for tests.
#[cfg(test)]
pub struct FakeClock(pub std::cell::Cell<OffsetDateTime>);

#[cfg(test)]
impl FakeClock {
    pub fn at_unix(secs: i64) -> Self {
        FakeClock(std::cell::Cell::new(
            OffsetDateTime::from_unix_timestamp(secs).expect("valid timestamp"),
        ))
    }

    pub fn advance(&self, secs: i64) {
        self.0.set(self.0.get() + time::Duration::seconds(secs));
    }
}

#[cfg(test)]
impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        self.0.get()
    }
}

/// RFC 3339 in UTC with whole seconds, as client-go and kube-rs parse it.
/// A time as every JSON output writes one: RFC 3339, unix seconds, and
/// relative to `now` ("in 5m", "3m ago"); `null` for none.
pub fn time_json(t: Option<i64>, now: i64) -> serde_json::Value {
    match t {
        Some(t) => serde_json::json!({
            "time": OffsetDateTime::from_unix_timestamp(t).map(rfc3339).unwrap_or_default(),
            "unix": t,
            "relative": if t > now { format!("in {}", human(t - now)) } else { format!("{} ago", human(now - t)) },
        }),
        None => serde_json::Value::Null,
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// "1h2m", "9m30s", "-3s": a short human duration.
pub fn human(secs: i64) -> String {
    let (sign, mut s) = if secs < 0 { ("-", -secs) } else { ("", secs) };
    let d = s / 86_400;
    s %= 86_400;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::from(sign);
    if d > 0 {
        out.push_str(&format!("{d}d"));
    }
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 && d == 0 {
        out.push_str(&format!("{m}m"));
    }
    if (sec > 0 || out.len() == sign.len()) && d == 0 && h == 0 {
        out.push_str(&format!("{sec}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc_whole_seconds() {
        let c = FakeClock::at_unix(1_700_000_000);
        assert_eq!(rfc3339(c.now()), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(0), "0s");
        assert_eq!(human(59), "59s");
        assert_eq!(human(3600 + 120), "1h2m");
        assert_eq!(human(570), "9m30s");
        assert_eq!(human(-3), "-3s");
        assert_eq!(human(2 * 86_400 + 3600), "2d1h");
    }
}
