//! `doctor`'s findings: one line each, ok, warn or FAIL, with a fix.

#[derive(Default)]
pub(super) struct Report {
    pub(super) lines: Vec<String>,
    pub(super) failed: usize,
}

impl Report {
    pub(super) fn ok(&mut self, msg: impl Into<String>) {
        self.lines.push(format!("ok    {}", msg.into()));
    }
    pub(super) fn warn(&mut self, msg: impl Into<String>) {
        self.lines.push(format!("warn  {}", msg.into()));
    }
    pub(super) fn fail(&mut self, msg: impl Into<String>) {
        self.failed += 1;
        self.lines.push(format!("FAIL  {}", msg.into()));
    }
}
