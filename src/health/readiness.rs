//! Readiness: a cheap shared handle the worker marks as things succeed or fail, and the pure rule
//! that turns those marks into ready / not ready.
//!
//! Ready means: the configuration is valid (always true once a `Readiness` exists: it is created after the
//! settings loaded), the credential produced a token within the staleness window, and the queue answered
//! within the window, and the process is not draining. The latest observation wins: a recorded failure
//! makes its check not ready until the next success.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

/// Default staleness window: a check whose last success is older than this is not ready.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

/// Longest failure reason kept (longer reasons are cut at a character boundary).
const MAX_REASON: usize = 300;

/// What is known about one dependency.
#[derive(Debug, Clone, Default)]
struct Signal {
    last_ok: Option<Instant>,
    /// The most recent failure, when it is newer than `last_ok`.
    error: Option<String>,
}

impl Signal {
    fn ok(&mut self, now: Instant) {
        self.last_ok = Some(now);
        self.error = None;
    }

    fn fail(&mut self, reason: &str) {
        let mut reason = reason.trim().to_string();
        if reason.len() > MAX_REASON {
            let cut = (0..=MAX_REASON).rev().find(|i| reason.is_char_boundary(*i)).unwrap_or(0);
            reason.truncate(cut);
            reason.push('…');
        }
        self.error = Some(reason);
    }

    fn check(&self, name: &'static str, what: &str, now: Instant, stale_after: Duration) -> CheckReport {
        let age = self.last_ok.map(|t| now.saturating_duration_since(t));
        let reason = match (&self.error, age) {
            (Some(e), _) => Some(e.clone()),
            (None, None) => Some(format!("no {what} yet")),
            (None, Some(a)) if a > stale_after => Some(format!("no {what} in the last {}s", stale_after.as_secs())),
            (None, Some(_)) => None,
        };
        CheckReport { name, ok: reason.is_none(), reason, last_ok_seconds_ago: age.map(|a| a.as_secs()) }
    }
}

#[derive(Debug, Default)]
struct State {
    credential: Signal,
    queue: Signal,
    draining: bool,
}

/// Shared readiness state; clone freely (one `Arc`).
#[derive(Debug, Clone)]
pub struct Readiness {
    state: Arc<Mutex<State>>,
    stale_after: Duration,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new(DEFAULT_STALE_AFTER)
    }
}

impl Readiness {
    /// Nothing observed yet (not ready); successes older than `stale_after` stop counting.
    pub fn new(stale_after: Duration) -> Self {
        Self { state: Arc::new(Mutex::new(State::default())), stale_after }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The credential produced a token (a cached one counts).
    pub fn mark_credential_ok(&self) {
        self.with(|s| s.credential.ok(Instant::now()));
    }

    /// The credential failed; `reason` is shown in `/readyz` (it must not contain secrets).
    pub fn mark_credential_error(&self, reason: &str) {
        self.with(|s| s.credential.fail(reason));
    }

    /// The queue answered (a message or an empty receive).
    pub fn mark_queue_ok(&self) {
        self.with(|s| s.queue.ok(Instant::now()));
    }

    /// The queue could not be reached; `reason` is shown in `/readyz` (it must not contain secrets).
    pub fn mark_queue_error(&self, reason: &str) {
        self.with(|s| s.queue.fail(reason));
    }

    /// Shutting down: not ready from now on.
    pub fn mark_draining(&self) {
        self.with(|s| s.draining = true);
    }

    /// The current verdict.
    pub fn report(&self) -> ReadinessReport {
        self.report_at(Instant::now())
    }

    /// The verdict at `now`.
    pub fn report_at(&self, now: Instant) -> ReadinessReport {
        self.with(|s| {
            let checks = vec![
                CheckReport { name: "config", ok: true, reason: None, last_ok_seconds_ago: None },
                s.credential.check("credential", "token obtained", now, self.stale_after),
                s.queue.check("queue", "successful queue call", now, self.stale_after),
                CheckReport {
                    name: "running",
                    ok: !s.draining,
                    reason: s.draining.then(|| "shutting down".to_string()),
                    last_ok_seconds_ago: None,
                },
            ];
            ReadinessReport::new(checks)
        })
    }
}

/// One check in the `/readyz` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// `config`, `credential`, `queue` or `running`.
    pub name: &'static str,
    /// Whether this check passes.
    pub ok: bool,
    /// Why it does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds since the last success, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ok_seconds_ago: Option<u64>,
}

/// The `/readyz` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessReport {
    /// All checks pass.
    pub ready: bool,
    /// Names of the failing checks.
    pub not_ready: Vec<&'static str>,
    /// Every check.
    pub checks: Vec<CheckReport>,
}

impl ReadinessReport {
    fn new(checks: Vec<CheckReport>) -> Self {
        let not_ready: Vec<&'static str> = checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
        Self { ready: not_ready.is_empty(), not_ready, checks }
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&CheckReport> {
        self.checks.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests;
