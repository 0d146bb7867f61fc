//! The worker runtime: receive from a [`Source`], handle each message with the [`Dispatcher`] under
//! bounded concurrency, renew locks while working, settle, and shut down cleanly.
//!
//! - **Receive loop** ([`Worker::run`]): takes a concurrency permit (a semaphore of
//!   `queue.max_concurrency`) *before* receiving, so a locked message never waits for capacity; one task
//!   per message. Receive errors are logged and retried with bounded exponential backoff
//!   (`backoff`); an unreadable `BrokerProperties` is logged and the loop continues (the message is
//!   redelivered when its lock expires); a replay file's read error stops the worker.
//! - **Per message** (`message`): `Dispatcher::handle` runs while a ticker renews the lock every
//!   `queue.lock_renewal_interval`; then the message is settled per `Handled.settle`. The dispatcher
//!   serializes reconciles per cluster, so duplicate events make one set of writes.
//! - **Shutdown** ([`Shutdown`]): the first request stops receiving and lets in-flight work finish within
//!   `shutdown.grace`; then (or at a second request) the remaining messages are abandoned and `run`
//!   returns. The command maps SIGTERM/SIGINT onto the token.
//! - **Status** ([`WorkerStatus`]): for the readiness probe.
//! - `output`: the `run --output json|text` lines.
//! - `demo`: `fleetgate demo`, the simulator plus this worker end to end.

mod backoff;
pub mod demo;
mod message;
pub mod output;
mod shutdown;
mod status;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::config::Settings;
use crate::dispatch::{Dispatcher, MessageOutcome};
use crate::source::{Polled, Source, SourceError};

pub use backoff::Backoff;
pub use message::{MessageReport, Settled};
pub use shutdown::Shutdown;
pub use status::WorkerStatus;

/// How long interrupted messages get to be abandoned after the grace period.
const ABANDON_DEADLINE: Duration = Duration::from_secs(10);

/// Runtime knobs (normally from `[queue]` and `[shutdown]`).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Messages handled at once (at least 1).
    pub max_concurrency: usize,
    /// Long-poll wait of one receive.
    pub receive_wait: Duration,
    /// Lock renewal period while a message is worked on.
    pub lock_renewal_interval: Duration,
    /// How long in-flight work may finish after shutdown is requested.
    pub grace: Duration,
    /// First delay after a receive error.
    pub backoff_initial: Duration,
    /// Longest delay between failing receives.
    pub backoff_max: Duration,
}

impl WorkerOptions {
    /// From `queue.max_concurrency`, `queue.receive_timeout`, `queue.lock_renewal_interval` and
    /// `shutdown.grace`; receive errors back off from 1 s to 60 s.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_concurrency: settings.queue.max_concurrency.max(1),
            receive_wait: settings.queue.receive_timeout,
            lock_renewal_interval: settings.queue.lock_renewal_interval,
            grace: settings.shutdown.grace,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// Why [`Worker::run`] returned.
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

    fn record(&mut self, report: &MessageReport) {
        self.renewals += u64::from(report.renewals);
        match report.outcome {
            Some(o) => *self.outcomes.entry(o).or_default() += 1,
            None => self.interrupted += 1,
        }
        if matches!(report.settled, Settled::Failed(_)) {
            self.settle_failures += 1;
        }
    }

    fn collect(&mut self, joined: Result<MessageReport, JoinError>) {
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

/// A worker over one source.
pub struct Worker {
    dispatcher: Dispatcher,
    source: Arc<dyn Source>,
    options: WorkerOptions,
    status: WorkerStatus,
    reports: Option<UnboundedSender<MessageReport>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("source", &self.source).field("options", &self.options).finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker handling messages from `source` with `dispatcher`.
    pub fn new(dispatcher: Dispatcher, source: Arc<dyn Source>, options: WorkerOptions) -> Self {
        Self { dispatcher, source, options, status: WorkerStatus::new(), reports: None }
    }

    /// Sends every [`MessageReport`] to `tx` as soon as its message is settled.
    pub fn with_reports(mut self, tx: UnboundedSender<MessageReport>) -> Self {
        self.reports = Some(tx);
        self
    }

    /// The live status (for `/readyz`).
    pub fn status(&self) -> WorkerStatus {
        self.status.clone()
    }

    /// Receives and handles messages until `shutdown` is requested or the source is exhausted, then
    /// drains (see the module docs). Errors only when the source cannot continue.
    pub async fn run(self, shutdown: Shutdown) -> Result<WorkerSummary, WorkerError> {
        let abort = Shutdown::new();
        let ctx = Arc::new(message::Ctx {
            dispatcher: self.dispatcher.clone(),
            renew_every: self.options.lock_renewal_interval,
            abort: abort.clone(),
            status: self.status.clone(),
            reports: self.reports.clone(),
        });
        let mut tasks = JoinSet::new();
        let mut summary = WorkerSummary::default();
        tracing::info!(source = %self.source.describe(), max_concurrency = self.options.max_concurrency, "worker started");
        let fatal = self.receive_loop(&ctx, &shutdown, &mut tasks, &mut summary).await;
        self.status.stopping();
        self.drain(&mut tasks, &mut summary, &shutdown, &abort).await;
        tracing::info!(finished = summary.finished(), interrupted = summary.interrupted, "worker stopped");
        match fatal {
            None => Ok(summary),
            Some(error) => Err(WorkerError { source_name: self.source.describe(), error, summary }),
        }
    }

    async fn receive_loop(
        &self,
        ctx: &Arc<message::Ctx>,
        shutdown: &Shutdown,
        tasks: &mut JoinSet<MessageReport>,
        summary: &mut WorkerSummary,
    ) -> Option<SourceError> {
        let permits = Arc::new(Semaphore::new(self.options.max_concurrency.max(1)));
        let mut backoff = Backoff::new(self.options.backoff_initial, self.options.backoff_max);
        loop {
            while let Some(joined) = tasks.try_join_next() {
                summary.collect(joined);
            }
            let permit = tokio::select! {
                biased;
                _ = shutdown.requested() => return None,
                permit = Arc::clone(&permits).acquire_owned() => permit.ok()?,
            };
            let polled = tokio::select! {
                biased;
                _ = shutdown.requested() => return None,
                polled = self.source.receive(self.options.receive_wait) => polled,
            };
            match polled {
                Ok(Polled::Message(delivery)) => {
                    self.status.receive_ok();
                    backoff.reset();
                    let ctx = Arc::clone(ctx);
                    tasks.spawn(async move {
                        let report = message::process(ctx, delivery).await;
                        drop(permit);
                        report
                    });
                }
                Ok(Polled::Empty) => {
                    self.status.receive_ok();
                    backoff.reset();
                }
                Ok(Polled::Exhausted) => {
                    summary.stop = StopReason::Exhausted;
                    return None;
                }
                Err(e) if e.is_malformed_message() => {
                    summary.malformed += 1;
                    self.status.receive_ok();
                    tracing::warn!(error = %e, "skipped a message that cannot be read; Service Bus delivers it again when its lock expires");
                }
                Err(e) if e.is_fatal() => return Some(e),
                Err(e) => {
                    summary.receive_errors += 1;
                    self.status.receive_failed(&e.to_string());
                    let delay = backoff.next_delay();
                    tracing::error!(error = %e, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "receive failed");
                    tokio::select! {
                        biased;
                        _ = shutdown.requested() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Waits for in-flight messages: all of them when the source is exhausted (until a shutdown
    /// request), at most `grace` after a shutdown request (less at a second request); then abandons
    /// the rest.
    async fn drain(&self, tasks: &mut JoinSet<MessageReport>, summary: &mut WorkerSummary, shutdown: &Shutdown, abort: &Shutdown) {
        if !shutdown.is_requested() {
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.requested() => break,
                    joined = tasks.join_next() => match joined {
                        Some(joined) => summary.collect(joined),
                        None => return,
                    },
                }
            }
        }
        if tasks.is_empty() {
            return;
        }
        tracing::info!(in_flight = tasks.len(), grace_ms = millis(self.options.grace), "shutting down: letting in-flight messages finish");
        let deadline = Instant::now() + self.options.grace;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.forced() => {
                    tracing::warn!(in_flight = tasks.len(), "second shutdown request: abandoning in-flight messages now");
                    break;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(in_flight = tasks.len(), "shutdown grace period over: abandoning in-flight messages");
                    break;
                }
                joined = tasks.join_next() => match joined {
                    Some(joined) => summary.collect(joined),
                    None => return,
                },
            }
        }
        abort.request();
        let deadline = Instant::now() + ABANDON_DEADLINE;
        while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
            summary.collect(joined);
        }
        if !tasks.is_empty() {
            tracing::warn!(left = tasks.len(), "messages could not be abandoned in time; they are delivered again when their locks expire");
            summary.interrupted += tasks.len() as u64;
            tasks.abort_all();
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
