//! Logs on stderr (stdout of `get` is the ExecCredential), and only this
//! crate's: warnings always, -v info, -vv debug. Other crates (kube, hyper)
//! are never enabled, so no HTTP-level log can carry a token. A subscriber of
//! a few lines: `get` sets it up before every kubectl command, and a
//! general-purpose one costs more to build than the rest of a cache hit.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

struct StderrLog {
    max: Level,
}

/// The message and the `key=value` fields of an event, on one line.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for StderrLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max && metadata.target().starts_with("kube_sa_token")
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        eprintln!(
            "{:>5} {}",
            event.metadata().level(),
            one_line(&format!("{}{}", line.message, line.fields))
        );
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `s` with its control characters escaped (`\n`, `\u{1b}`): a message is
/// one line of the journal whatever a name in it holds (issue 32, finding
/// 7: a newline in a requested name must not forge a line).
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// Installs the stderr logger: `verbose` 0 warnings, 1 info, 2+ debug.
pub fn init(verbose: u8) {
    let max = match verbose {
        0 => Level::WARN,
        1 => Level::INFO,
        _ => Level::DEBUG,
    };
    let _ = tracing::subscriber::set_global_default(StderrLog { max });
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_never_start_a_line() {
        use super::one_line;
        assert_eq!(one_line("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            one_line("ns\n{\"forged\":1}\r\u{1b}[2J\u{0}"),
            "ns\\n{\"forged\":1}\\r\\u{1b}[2J\\0"
        );
    }
}
