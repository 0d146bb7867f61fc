//! [`WorkerSummary`]: the totals of one run, and [`WorkerError`] when the source stops the worker.

use std::collections::BTreeMap;

use tokio::task::JoinError;

use super::message::{MessageReport, Settled};
use crate::dispatch::MessageOutcome;
use crate::source::SourceError;

/// Why [`Worker::run`](super::Worker::run) returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopReason {
    /// Shutdown was requested.
    #[default]
    Shutdown,
    /// The source ran out of messages (end of a replay file).
    Exhausted,
}

/// Totals of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Finished messages by outcome.
    pub outcomes: BTreeMap<MessageOutcome, u64>,
    /// Messages abandoned unfinished at shutdown.
    pub interrupted: u64,
    /// Settle operations that failed.
    pub settle_failures: u64,
    /// Successful lock renewals.
    pub renewals: u64,
    /// Failed receives (retried with backoff).
    pub receive_errors: u64,
    /// Received messages that could not be read (left to be redelivered).
    pub malformed: u64,
    /// Why the run ended.
    pub stop: StopReason,
}

impl WorkerSummary {
    /// Messages with `outcome`.
    pub fn count(&self, outcome: MessageOutcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// Finished messages.
    pub fn finished(&self) -> u64 {
        self.outcomes.values().sum()
    }

    pub(super) fn record(&mut self, report: &MessageReport) {
        self.renewals += u64::from(report.renewals);
        match report.outcome {
            Some(o) => *self.outcomes.entry(o).or_default() += 1,
            None => self.interrupted += 1,
        }
        if matches!(report.settled, Settled::Failed(_)) {
            self.settle_failures += 1;
        }
    }

    pub(super) fn collect(&mut self, joined: Result<MessageReport, JoinError>) {
        match joined {
            Ok(report) => self.record(&report),
            Err(e) if e.is_panic() => {
                tracing::error!(error = %e, "a message task panicked; its message is delivered again when its lock expires")
            }
            Err(_) => {}
        }
    }
}

/// The source stopped the worker.
#[derive(Debug, thiserror::Error)]
#[error("the worker stopped: {source_name}: {error}")]
pub struct WorkerError {
    /// What the source reads.
    pub source_name: String,
    /// Why.
    pub error: SourceError,
    /// What was done before it stopped.
    pub summary: WorkerSummary,
}
