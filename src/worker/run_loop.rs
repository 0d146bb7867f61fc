//! The receive loop and the drain at the end of [`Worker::run`].
//!
//! Shutdown never cancels a receive that is already waiting at the service: the service may have locked
//! a message for it, and a dropped request would strand that lock until `lockDuration` passes (costing
//! a delivery). The outstanding receive is left to finish (it ends within the long-poll wait) and any
//! message it brings is abandoned unhandled. Only when the grace period ends (or at a second request)
//! is it cancelled.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::message::{self, MessageReport};
use super::{Backoff, Shutdown, StopReason, Worker, WorkerSummary};
use crate::source::{Polled, SourceError};

/// How long interrupted messages get to be abandoned after the grace period.
const ABANDON_DEADLINE: Duration = Duration::from_secs(10);

/// How the receive loop ended.
pub(super) struct Stopped {
    /// The source cannot continue.
    pub fatal: Option<SourceError>,
    /// A receive that was waiting at the service when shutdown came; its message is abandoned.
    pub pending_receive: Option<JoinHandle<()>>,
}

impl Stopped {
    fn clean() -> Self {
        Self { fatal: None, pending_receive: None }
    }
}

impl Worker {
    /// Receives until shutdown, exhaustion or a fatal source error, spawning one task per message.
    pub(super) async fn receive_loop(
        &self,
        ctx: &Arc<message::Ctx>,
        shutdown: &Shutdown,
        tasks: &mut JoinSet<MessageReport>,
        summary: &mut WorkerSummary,
    ) -> Stopped {
        let permits = Arc::new(Semaphore::new(self.options.max_concurrency.max(1)));
        let mut backoff = Backoff::new(self.options.backoff_initial, self.options.backoff_max);
        loop {
            while let Some(joined) = tasks.try_join_next() {
                summary.collect(joined);
            }
            let permit = tokio::select! {
                biased;
                _ = shutdown.requested() => return Stopped::clean(),
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return Stopped::clean(),
                },
            };
            let source = Arc::clone(&self.source);
            let wait = self.options.receive_wait;
            let mut receiving = Box::pin(async move { source.receive(wait).await });
            let polled = tokio::select! {
                biased;
                _ = shutdown.requested() => {
                    return Stopped { fatal: None, pending_receive: Some(tokio::spawn(abandon_late(receiving))) };
                }
                polled = &mut receiving => polled,
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
                    return Stopped::clean();
                }
                Err(e) if e.is_malformed_message() => {
                    summary.malformed += 1;
                    self.status.receive_ok();
                    tracing::warn!(error = %e, "skipped a message that cannot be read; Service Bus delivers it again when its lock expires");
                }
                Err(e) if e.is_fatal() => return Stopped { fatal: Some(e), pending_receive: None },
                Err(e) => {
                    summary.receive_errors += 1;
                    self.status.receive_failed(&e.to_string());
                    let delay = backoff.next_delay();
                    tracing::error!(error = %e, retry_in_ms = millis(delay), "receive failed");
                    tokio::select! {
                        biased;
                        _ = shutdown.requested() => return Stopped::clean(),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Waits for in-flight messages: all of them when the source ended (until a shutdown request), at
    /// most `grace` after a shutdown request (less at a second request); then abandons the rest.
    pub(super) async fn drain(
        &self,
        tasks: &mut JoinSet<MessageReport>,
        summary: &mut WorkerSummary,
        shutdown: &Shutdown,
        abort: &Shutdown,
        pending_receive: Option<JoinHandle<()>>,
    ) {
        if !shutdown.is_requested() {
            while !tasks.is_empty() {
                tokio::select! {
                    biased;
                    _ = shutdown.requested() => break,
                    Some(joined) = tasks.join_next() => summary.collect(joined),
                }
            }
        }
        let deadline = crate::deadline::from_now(self.options.grace);
        if !tasks.is_empty() {
            tracing::info!(
                in_flight = tasks.len(),
                grace_ms = millis(self.options.grace),
                "shutting down: letting in-flight messages finish"
            );
        }
        let mut cut_short = false;
        while !tasks.is_empty() {
            tokio::select! {
                biased;
                _ = shutdown.forced() => {
                    tracing::warn!(in_flight = tasks.len(), "second shutdown request: abandoning in-flight messages now");
                    cut_short = true;
                    break;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(in_flight = tasks.len(), "shutdown grace period over: abandoning in-flight messages");
                    cut_short = true;
                    break;
                }
                Some(joined) = tasks.join_next() => summary.collect(joined),
            }
        }
        if cut_short {
            abandon_in_flight(tasks, summary, abort).await;
        }
        if let Some(mut receive) = pending_receive {
            let until = if cut_short { Instant::now() } else { deadline };
            tokio::select! {
                biased;
                _ = &mut receive => {}
                _ = shutdown.forced() => receive.abort(),
                _ = tokio::time::sleep_until(until) => receive.abort(),
            }
        }
    }
}

/// Tells the message tasks to abandon their messages and waits (bounded) for them.
async fn abandon_in_flight(tasks: &mut JoinSet<MessageReport>, summary: &mut WorkerSummary, abort: &Shutdown) {
    abort.request();
    let deadline = crate::deadline::from_now(ABANDON_DEADLINE);
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        summary.collect(joined);
    }
    if !tasks.is_empty() {
        tracing::warn!(left = tasks.len(), "messages could not be abandoned in time; they are delivered again when their locks expire");
        summary.interrupted += tasks.len() as u64;
        tasks.abort_all();
    }
}

/// Finishes a receive that was waiting when shutdown came; its message is abandoned unhandled.
async fn abandon_late(receiving: impl Future<Output = Result<Polled, SourceError>>) {
    if let Ok(Polled::Message(delivery)) = receiving.await {
        tracing::info!(message_id = %delivery.id, "received while shutting down; abandoned without handling");
        if let Err(e) = delivery.abandon().await {
            tracing::warn!(error = %e, "could not abandon a message received while shutting down; it is delivered again when its lock expires");
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
