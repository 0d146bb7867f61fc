//! One message: handle it with the dispatcher while a ticker renews its lock, then settle it as the
//! dispatcher says (complete, abandon — after a pause that grows with the delivery count, see
//! `retry` —, park, or for a deferral: send the scheduled re-check, then complete). When the worker's grace period runs out the work is
//! dropped and the message abandoned, so it is delivered again. A panic while handling is caught at
//! this boundary: the message is parked with the panic as its reason (`guarded`).

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tracing::Instrument;

use super::retry;
use super::shutdown::Shutdown;
use super::status::WorkerStatus;
use crate::dispatch::{Dispatcher, Handled, MessageOutcome, Settle};
use crate::id::ResourceId;
use crate::source::{Delivery, MessageId};
use crate::telemetry::metrics;

/// How a message was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Completed (deleted).
    Completed,
    /// Abandoned for redelivery (transient failure).
    Abandoned,
    /// Sent to the poison queue, then completed.
    Parked,
    /// Abandoned unfinished because the shutdown grace period ran out.
    Interrupted,
    /// The settle operation failed (the message is delivered again when its lock expires).
    Failed(String),
}

impl Settled {
    /// snake_case label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
            Self::Parked => "parked",
            Self::Interrupted => "interrupted",
            Self::Failed(_) => "settle_failed",
        }
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReport {
    /// Line number or `MessageId`.
    pub id: MessageId,
    /// `DeliveryCount` when received.
    pub delivery_count: u32,
    /// The outcome; `None` when the message was interrupted by shutdown.
    pub outcome: Option<MessageOutcome>,
    /// The cluster acted on.
    pub cluster: Option<ResourceId>,
    /// Why (ignored reason, blocker, error).
    pub reason: Option<String>,
    /// How it was settled.
    pub settled: Settled,
    /// Successful lock renewals while it was worked on.
    pub renewals: u32,
    /// Time from receive to settle.
    pub elapsed: Duration,
}

/// What every message task shares.
pub(super) struct Ctx {
    pub dispatcher: Dispatcher,
    pub renew_every: Duration,
    /// Requested when the grace period is over: unfinished messages are abandoned.
    pub abort: Shutdown,
    /// The worker's shutdown: ends a retry pause early.
    pub stopping: Shutdown,
    pub status: WorkerStatus,
    pub reports: Option<UnboundedSender<MessageReport>>,
}

/// Handles and settles one message.
pub(super) async fn process(ctx: Arc<Ctx>, delivery: Delivery) -> MessageReport {
    let span = tracing::info_span!(
        "message",
        message_id = %delivery.id,
        delivery_count = delivery.delivery_count,
        cluster = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    let report = run(&ctx, delivery).instrument(span).await;
    if let Some(tx) = &ctx.reports {
        let _ = tx.send(report.clone());
    }
    report
}

async fn run(ctx: &Ctx, delivery: Delivery) -> MessageReport {
    let started = Instant::now();
    ctx.status.started_message();
    metrics().in_flight(1);
    let renewals = AtomicU32::new(0);
    let handled = tokio::select! {
        biased;
        _ = ctx.abort.requested() => None,
        handled = guarded(handle(ctx, &delivery)) => Some(handled),
        never = keep_lock(&delivery, ctx.renew_every, &renewals) => match never {},
    };
    let mut report = MessageReport {
        id: delivery.id.clone(),
        delivery_count: delivery.delivery_count,
        outcome: None,
        cluster: None,
        reason: None,
        settled: Settled::Interrupted,
        renewals: renewals.load(Ordering::Relaxed),
        elapsed: Duration::ZERO,
    };
    match handled {
        None => {
            if let Err(e) = delivery.abandon().await {
                tracing::warn!(error = %e, "could not abandon an interrupted message; it is delivered again when its lock expires");
            }
            tracing::warn!("shutdown grace period over: message abandoned unfinished");
        }
        Some(h) => {
            let span = tracing::Span::current();
            span.record("outcome", h.outcome.label());
            if let Some(c) = &h.cluster {
                span.record("cluster", c.as_str());
            }
            report.settled = settle(&delivery, &h.settle).await;
            report.outcome = Some(h.outcome);
            report.cluster = h.cluster;
            report.reason = h.reason;
        }
    }
    report.elapsed = started.elapsed();
    record(&report);
    ctx.status.finished_message();
    metrics().in_flight(-1);
    report
}

/// Handles the body. A transient failure of a broker message (one that abandoning brings back) is
/// held, its lock renewed, for [`retry::pause`] before it is abandoned — unless the worker is stopping.
async fn handle(ctx: &Ctx, delivery: &Delivery) -> Handled {
    let handled = ctx.dispatcher.handle(&delivery.body).await;
    if handled.settle == Settle::Abandon && delivery.needs_renewal() && !ctx.stopping.is_requested() {
        let pause = retry::pause(delivery.delivery_count, fastrand::f64());
        let pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(pause_ms, "transient failure: keeping the message a while before abandoning it, so retries slow down");
        tokio::select! {
            _ = ctx.stopping.requested() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
    handled
}

/// Runs the handling, turning a panic inside it into a `failed` outcome that parks the message with
/// the panic as its reason (counted in `fleetgate_message_panics_total`): a message is never left
/// without an outcome, and a message that crashes the handler is not redelivered into it again.
async fn guarded(handling: impl Future<Output = Handled>) -> Handled {
    match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(handled) => handled,
        Err(payload) => {
            metrics().message_panic();
            let reason = format!(
                "internal error: fleetgate panicked while handling this message ({}); it was parked so it can be replayed once fixed — please report it",
                panic_text(payload.as_ref())
            );
            tracing::error!(reason = %reason, "a message handler panicked; the message is parked");
            Handled { outcome: MessageOutcome::Failed, cluster: None, reason: Some(reason.clone()), settle: Settle::Park(reason) }
        }
    }
}

/// The panic message (cut to 300 characters), or a placeholder for a non-text payload.
fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
    text.map_or_else(|| "no message".to_string(), |t| t.chars().take(300).collect())
}

/// Settles per the dispatcher's verdict; a failure is logged and reported, never retried here.
async fn settle(delivery: &Delivery, settle: &Settle) -> Settled {
    let result = match settle {
        Settle::Complete => delivery.complete().await.map(|()| Settled::Completed),
        Settle::Abandon => delivery.abandon().await.map(|()| Settled::Abandoned),
        Settle::Park(reason) => delivery.park(reason).await.map(|()| Settled::Parked),
        Settle::Defer(scheduled) => delivery.schedule_then_complete(scheduled).await.map(|()| Settled::Completed),
    };
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not settle the message; it will be delivered again (handling is idempotent)");
        Settled::Failed(e.to_string())
    })
}

/// Renews the lock every `every` until the task ends; never returns. A lost lock stops the renewals
/// (the result is still settled if the service allows it).
async fn keep_lock(delivery: &Delivery, every: Duration, renewals: &AtomicU32) -> Infallible {
    if delivery.needs_renewal() && !every.is_zero() {
        let mut ticker = tokio::time::interval_at(crate::deadline::from_now(every), every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match delivery.renew().await {
                Ok(()) => {
                    renewals.fetch_add(1, Ordering::Relaxed);
                    metrics().lock_renewal(true);
                    tracing::debug!("lock renewed");
                }
                Err(e) if e.is_lock_lost() => {
                    metrics().lock_renewal(false);
                    tracing::warn!(error = %e, "lock lost while working; the message may be delivered again (handling is idempotent)");
                    break;
                }
                Err(e) => {
                    metrics().lock_renewal(false);
                    tracing::warn!(error = %e, "lock renewal failed; retrying at the next tick");
                }
            }
        }
    }
    std::future::pending().await
}

fn record(report: &MessageReport) {
    let outcome = report.outcome.map_or("interrupted", MessageOutcome::label);
    metrics().message(outcome);
    if report.cluster.is_some() {
        metrics().reconcile_duration(report.elapsed.as_secs_f64(), outcome);
    }
    let elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX);
    let reason = report.reason.as_deref().unwrap_or("");
    let settled = report.settled.label();
    // Rejected messages are parked with their reason (the durable record); failures need attention.
    match report.outcome {
        Some(MessageOutcome::Failed) => {
            tracing::warn!(outcome, settled, reason, elapsed_ms, renewals = report.renewals, "message handled")
        }
        _ => tracing::info!(outcome, settled, reason, elapsed_ms, renewals = report.renewals, "message handled"),
    }
}
