//! The dispatcher's side of deferral (the Service Bus worker's deferring engine, see
//! [`crate::defer`]): a reconcile that ended [`Pending`] becomes a `deferred` outcome whose settle
//! sends the scheduled re-check before completing; a due re-check that carries fleetgate's operation URL
//! polls it once first (running → defer again; failed/canceled → `failed`, completed, counted;
//! succeeded → the full reconcile, reported `converged`).

use time::OffsetDateTime;

use super::{Dispatcher, Handled, Settle};
use crate::arm::OperationStatus;
use crate::defer::{self, DeferState};
use crate::id::ResourceId;
use crate::reconcile::Pending;
use crate::telemetry::metrics;

/// Which deferral chain a message belongs to.
#[derive(Debug, Clone, Default)]
pub(super) struct Chain {
    /// The `id` of the event being handled (names a new chain).
    pub event_id: String,
    /// The state of a deferral command being handled.
    pub prior: Option<DeferState>,
}

impl Chain {
    /// A message that is not an event (a trigger built in process): a fresh, unique chain.
    pub fn fresh() -> Self {
        Self { event_id: uuid::Uuid::new_v4().to_string(), prior: None }
    }

    /// True when the message is a re-check of fleetgate's own cluster PUT.
    pub fn resumes_operation(&self) -> bool {
        self.prior.as_ref().is_some_and(|p| p.operation.is_some())
    }
}

impl Dispatcher {
    /// A due re-check carrying an operation URL: polls it once. `Some` = the message's result;
    /// `None` = the operation succeeded (or cannot be read any more): reconcile fully.
    pub(super) async fn resume_operation(&self, cluster: &ResourceId, chain: &Chain) -> Option<Handled> {
        let operation = chain.prior.as_ref()?.operation.as_deref()?;
        match self.engine.arm().operation_status(cluster.as_str(), operation).await {
            Ok(OperationStatus::Running { retry_after }) => {
                let pending =
                    Pending { cluster: cluster.clone(), state: "Updating".into(), operation: Some(operation.into()), retry_after };
                Some(self.defer(cluster, chain, pending))
            }
            Ok(OperationStatus::Succeeded) => None,
            Ok(OperationStatus::Ended(e)) => {
                metrics().deferral("operation_failed");
                let reason = format!("{cluster}: fleetgate's cluster update did not succeed: {e}");
                tracing::warn!(%cluster, reason = %reason, "the deferred cluster operation failed; reported once, not retried");
                Some(Handled::failed(cluster, reason, Settle::Complete))
            }
            Err(e) if e.disposition().is_retried_in_client() => Some(super::registry::arm_failure(&e)),
            Err(e) => {
                tracing::info!(%cluster, error = %e, "the deferred operation cannot be polled; observing the cluster instead");
                None
            }
        }
    }

    /// The `deferred` result of `pending`: the next scheduled re-check, or `failed` (completed) past
    /// `defer.max_wait`.
    pub(super) fn defer(&self, cluster: &ResourceId, chain: &Chain, pending: Pending) -> Handled {
        let now = OffsetDateTime::now_utc();
        match defer::schedule(chain.prior.as_ref(), &chain.event_id, &pending, &self.settings.defer, now) {
            Ok(scheduled) => {
                metrics().deferral("scheduled");
                let what =
                    if pending.operation.is_some() { "fleetgate's cluster update is running" } else { "an AKS operation is running" };
                let reason = format!(
                    "{what} (provisioningState {}); re-check {} scheduled in {} s",
                    pending.state,
                    scheduled.state.generation,
                    scheduled.delay.as_secs()
                );
                Handled::deferred(cluster, reason, scheduled)
            }
            Err(e) => {
                metrics().deferral("expired");
                tracing::warn!(%cluster, reason = %e, "deferral expired (defer.max_wait)");
                Handled::failed(cluster, e.to_string(), Settle::Complete)
            }
        }
    }
}
