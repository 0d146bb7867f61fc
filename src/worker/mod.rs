//! The worker runtime: receive from a [`Source`], handle each message with the [`Dispatcher`] under
//! bounded concurrency, renew locks while working, settle, and shut down cleanly.
//!
//! - **Receive loop** ([`Worker::run`]): takes a concurrency permit (a semaphore of
//!   `queue.max_concurrency`) *before* receiving, so a locked message never waits for capacity; one task
//!   per message. Receive errors are logged and retried with bounded exponential backoff
//!   (`backoff`); an unreadable `BrokerProperties` is logged and the loop continues (the message is
//!   redelivered when its lock expires); a replay file's read error stops the worker.
//! - **Per message** (`message`): `Dispatcher::handle` runs while a ticker renews the lock every
//!   `queue.lock_renewal_interval`; then the message is settled per `Handled.settle` — a transient
//!   failure after a pause that doubles with each delivery (`retry`), so throttling does not spend
//!   `MaxDeliveryCount` in seconds. The dispatcher
//!   serializes reconciles per cluster, so duplicate events make one set of writes. A `deferred`
//!   message (the Service Bus worker's engine defers busy clusters) is settled by sending its scheduled
//!   re-check to the queue first and completing it only after that send.
//! - **Shutdown** ([`Shutdown`]): the first request stops receiving and lets in-flight work finish within
//!   `shutdown.grace`; then (or at a second request) the remaining messages are abandoned and `run`
//!   returns. The command maps SIGTERM/SIGINT onto the token.
//! - **Status** ([`WorkerStatus`]): for the readiness probe.
//! - `output`: the `run --output json|text` lines.
//! - `resync` ([`Resync`]): the Service Bus worker's periodic fleet re-check (`resync.enabled`), which
//!   sends reconcile commands to the worker's own queue; `fleetgate run` spawns it beside the worker.
//! - `demo`: `fleetgate demo`, the simulator plus this worker end to end.

mod backoff;
pub mod demo;
mod message;
pub mod output;
mod resync;
mod retry;
mod run_loop;
mod shutdown;
mod status;
mod summary;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::config::Settings;
use crate::dispatch::Dispatcher;
use crate::source::Source;

pub use backoff::Backoff;
pub use message::{MessageReport, Settled};
pub use resync::{Fired, Resync, ResyncError};
pub use shutdown::Shutdown;
pub use status::WorkerStatus;
pub use summary::{StopReason, WorkerError, WorkerSummary};

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
            stopping: shutdown.clone(),
            status: self.status.clone(),
            reports: self.reports.clone(),
        });
        let mut tasks = JoinSet::new();
        let mut summary = WorkerSummary::default();
        tracing::info!(source = %self.source.describe(), max_concurrency = self.options.max_concurrency, "worker started");
        let stopped = self.receive_loop(&ctx, &shutdown, &mut tasks, &mut summary).await;
        self.status.stopping();
        self.drain(&mut tasks, &mut summary, &shutdown, &abort, stopped.pending_receive).await;
        tracing::info!(finished = summary.finished(), interrupted = summary.interrupted, "worker stopped");
        match stopped.fatal {
            None => Ok(summary),
            Some(error) => Err(WorkerError { source_name: self.source.describe(), error, summary }),
        }
    }
}

#[cfg(test)]
mod tests;
