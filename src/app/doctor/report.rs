//! `doctor`'s findings: one each, ok, warn or FAIL, with a fix; written as
//! lines, or as JSON (`-o json`).

use std::io::Write;

use serde_json::json;

use crate::options::Format;

#[derive(Default)]
pub(super) struct Report {
    /// (result, message): "ok", "warn" or "fail".
    findings: Vec<(&'static str, String)>,
    pub(super) failed: usize,
}

impl Report {
    pub(super) fn ok(&mut self, msg: impl Into<String>) {
        self.findings.push(("ok", msg.into()));
    }
    pub(super) fn warn(&mut self, msg: impl Into<String>) {
        self.findings.push(("warn", msg.into()));
    }
    pub(super) fn fail(&mut self, msg: impl Into<String>) {
        self.failed += 1;
        self.findings.push(("fail", msg.into()));
    }

    /// Text: `ok    ...`, `warn  ...`, `FAIL  ...`, one per line. JSON:
    /// `{"problems": N, "findings": [{"result": "ok", "message": ...}]}`.
    pub(super) fn write(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Text => {
                for (result, msg) in &self.findings {
                    let tag = if *result == "fail" { "FAIL" } else { result };
                    writeln!(out, "{tag:<6}{msg}")?;
                }
            }
            Format::Json | Format::Yaml => {
                let findings: Vec<_> = self
                    .findings
                    .iter()
                    .map(|(result, msg)| json!({"result": result, "message": msg}))
                    .collect();
                let v = json!({"problems": self.failed, "findings": findings});
                format.write_document(&v, out)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_as_lines_and_as_json() {
        let mut r = Report::default();
        r.ok("a");
        r.warn("b");
        r.fail("c");
        let mut text = Vec::new();
        r.write(Format::Text, &mut text).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "ok    a\nwarn  b\nFAIL  c\n"
        );
        let mut j = Vec::new();
        r.write(Format::Json, &mut j).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["problems"], 1);
        assert_eq!(v["findings"][2], json!({"result": "fail", "message": "c"}));
    }
}
