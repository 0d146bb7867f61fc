//! The drift-resync loop of the Service Bus worker (`resync.enabled`): at [`next_resync`] times it
//! enumerates the fleet through Resource Graph ([`enumerate_clusters`]) and sends one
//! `io.fleetgate.reconcile` command per cluster ([`reconcile_messages`]) to the worker's own queue, so a
//! deleted federated credential, a removed gating entry or a new kubelet AcrPull is repaired without an
//! event. The commands are then handled like any message, by this replica or another.
//!
//! **Several replicas.** Every replica fires once per epoch-aligned window of `resync.interval`, at a
//! jittered point in its middle, and every replica's commands for a window carry the same `MessageId`s —
//! the queue's duplicate detection keeps one command per cluster and window (see
//! [`crate::fleet::resync`]).
//!
//! **Fleet status.** With [`Resync::with_fleet_status`] each completed fire also counts the fleet by
//! status from one bulk observation ([`crate::fleet::fleet_status`]) for the `fleetgate_clusters`
//! gauge, and sets `fleetgate_last_resync_timestamp_seconds`; a failed count is logged, never fails
//! the fire.
//!
//! **Failures.** A fire that cannot enumerate or send is retried (every `interval / 20`, 1 s to 60 s)
//! while its window lasts; commands already sent are deduplicated on the retry. Then the next window
//! tries again. Nothing here stops the worker.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;

use super::Shutdown;
use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::Policy;
use crate::fleet::{FleetError, Selection, enumerate_clusters, fleet_status, next_resync, reconcile_messages, window_start};
use crate::queue::{QueueError, ServiceBusQueue};

/// One completed fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// Start of the window the commands belong to.
    pub window: OffsetDateTime,
    /// Commands sent (one per cluster).
    pub sent: usize,
}

/// Why a fire failed.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    /// The clusters could not be enumerated.
    #[error("resync: enumerating the fleet failed: {0}")]
    Enumerate(#[from] FleetError),
    /// A batch could not be sent.
    #[error(
        "resync: sending reconcile commands to queue '{queue}' failed after {sent} of {total} ({source}); check the queue's send rights — the window is retried"
    )]
    Send {
        /// The queue.
        queue: String,
        /// Commands sent before the failure.
        sent: usize,
        /// Commands of the window.
        total: usize,
        /// The send error.
        source: QueueError,
    },
}

/// The resync loop of one replica.
#[derive(Debug)]
pub struct Resync {
    arm: ArmClient,
    selection: Selection,
    queue: ServiceBusQueue,
    interval: Duration,
    batch_size: usize,
    jitter: Option<f64>,
    fired: Option<UnboundedSender<Fired>>,
    status: Option<(Arc<Settings>, Policy)>,
}

impl Resync {
    /// A loop enumerating `selection` with `arm` every `interval` (±25 %) and sending to `queue` in
    /// batches of `batch_size`.
    pub fn new(arm: ArmClient, selection: Selection, queue: ServiceBusQueue, interval: Duration, batch_size: usize) -> Self {
        Self {
            arm,
            selection,
            queue,
            interval: interval.max(Duration::from_secs(1)),
            batch_size: batch_size.max(1),
            jitter: None,
            fired: None,
            status: None,
        }
    }

    /// After every fire, counts the fleet by status for the `fleetgate_clusters` gauge.
    pub fn with_fleet_status(mut self, settings: Arc<Settings>, policy: Policy) -> Self {
        self.status = Some((settings, policy));
        self
    }

    /// Uses `r` (in `[0, 1)`) as the jitter of every fire instead of a random draw (tests).
    pub fn with_jitter(mut self, r: f64) -> Self {
        self.jitter = Some(r);
        self
    }

    /// Reports every completed fire to `tx`.
    pub fn with_reports(mut self, tx: UnboundedSender<Fired>) -> Self {
        self.fired = Some(tx);
        self
    }

    /// Fires at every window's jittered point until `shutdown` is requested.
    pub async fn run(self, shutdown: Shutdown) {
        let mut last: Option<OffsetDateTime> = None;
        loop {
            let r = self.jitter.unwrap_or_else(fastrand::f64);
            let (at, window) = next_resync(OffsetDateTime::now_utc(), self.interval, r, last);
            tracing::debug!(window = %window, at = %at, "resync: next fire");
            if !sleep_until(at, &shutdown).await {
                return;
            }
            match self.fire_with_retries(window, &shutdown).await {
                Some(fired) => {
                    tracing::info!(window = %fired.window, sent = fired.sent, "resync: reconcile commands sent for every cluster");
                    if let Some(tx) = &self.fired {
                        let _ = tx.send(fired);
                    }
                }
                None if shutdown.is_requested() => return,
                None => tracing::warn!(window = %window, "resync: gave up on this window; the next one tries again"),
            }
            last = Some(window);
        }
    }

    /// One fire, retried while `window` lasts.
    async fn fire_with_retries(&self, window: OffsetDateTime, shutdown: &Shutdown) -> Option<Fired> {
        let retry_every = (self.interval / 20).clamp(Duration::from_secs(1), Duration::from_secs(60));
        loop {
            match self.fire(window).await {
                Ok(fired) => return Some(fired),
                Err(e) => tracing::error!(error = %e, "resync failed"),
            }
            let next = crate::deadline::datetime_after(OffsetDateTime::now_utc(), retry_every);
            if window_start(next, self.interval) != window || !sleep_until(next, shutdown).await {
                return None;
            }
        }
    }

    /// Enumerates the clusters and sends the window's commands.
    pub async fn fire(&self, window: OffsetDateTime) -> Result<Fired, ResyncError> {
        let clusters = enumerate_clusters(&self.arm, &self.selection).await?;
        let messages = reconcile_messages(&clusters, window);
        let mut sent = 0;
        for chunk in messages.chunks(self.batch_size) {
            self.queue.send_batch(chunk).await.map_err(|source| ResyncError::Send {
                queue: self.queue.name().to_string(),
                sent,
                total: messages.len(),
                source,
            })?;
            sent += chunk.len();
        }
        self.refresh_fleet_status().await;
        Ok(Fired { window, sent })
    }

    /// The fleet gauge (when configured) and the last-resync timestamp.
    async fn refresh_fleet_status(&self) {
        if let Some((settings, policy)) = &self.status {
            match fleet_status(&self.arm, settings, policy, &self.selection).await {
                Ok(counts) => crate::telemetry::metrics().fleet_clusters(&counts),
                Err(e) => {
                    tracing::warn!(error = %e, "resync: counting the fleet by status failed; fleetgate_clusters keeps its last values")
                }
            }
        }
        crate::telemetry::metrics().resync_completed(OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9);
    }
}

/// Sleeps until the wall-clock instant `at`; false when shutdown came first.
async fn sleep_until(at: OffsetDateTime, shutdown: &Shutdown) -> bool {
    let wait = Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO);
    tokio::select! {
        biased;
        _ = shutdown.requested() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_requested_shutdown_ends_the_wait_at_once() {
        let shutdown = Shutdown::new();
        shutdown.request();
        let far = OffsetDateTime::now_utc() + Duration::from_secs(3600);
        assert!(!sleep_until(far, &shutdown).await);
        assert!(sleep_until(OffsetDateTime::now_utc() - Duration::from_secs(1), &Shutdown::new()).await, "a past instant does not wait");
    }
}
