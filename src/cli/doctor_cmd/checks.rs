//! One doctor check's result and how it prints: `✔ what`, `✖ what` + `fix: …`, `- what` (skipped), or
//! as JSON (`{"check", "status", "message", "fix"}`).

use serde::Serialize;

/// Passed, failed, or not run (nothing to check, or it could not be read where that is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// ✔
    Pass,
    /// ✖
    Fail,
    /// -
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, e.g. `network.arm`, `servicebus.queue`.
    pub check: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do (failures only).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(check: &'static str, message: impl Into<String>) -> Self {
        Self { check, status: Status::Pass, message: message.into(), fix: None }
    }

    /// A failed check with its fix.
    pub fn fail(check: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, status: Status::Fail, message: message.into(), fix: Some(fix.into()) }
    }

    /// A check not run, and why.
    pub fn skip(check: &'static str, message: impl Into<String>) -> Self {
        Self { check, status: Status::Skip, message: message.into(), fix: None }
    }

    /// The text lines.
    pub fn text(&self) -> String {
        let mark = match self.status {
            Status::Pass => "✔",
            Status::Fail => "✖",
            Status::Skip => "-",
        };
        match &self.fix {
            Some(fix) => format!("{mark} {}\n    fix: {fix}", self.message),
            None => format!("{mark} {}", self.message),
        }
    }
}
