//! Deferring mode ([`Engine::deferring`]): the engine never waits on Azure's clock. Where the waiting
//! engine polls — a cluster found `Creating`/`Updating`, a write answered 409 "operation in progress",
//! the cluster PUT's long-running operation — a deferring engine ends the reconcile with a [`Pending`]
//! (carried as [`ReconcileError::Deferred`] through the engine and surfaced as [`Applied::pending`](super::Applied)).
//! The Service Bus worker turns it into a scheduled reconcile command; the CLI and `run --source file:`
//! use the waiting engine.

use std::time::Duration;

use super::{Engine, ReconcileError};
use crate::arm::{ArmResponse, OperationStatus};
use crate::id::ResourceId;

/// Why a reconcile stopped to wait for Azure, and what to re-check later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The cluster.
    pub cluster: ResourceId,
    /// Its `provisioningState` as observed (`Creating`, `Updating`, …).
    pub state: String,
    /// The long-running operation of fleetgate's own cluster PUT (`Azure-AsyncOperation`, else
    /// `Location`), when the reconcile stopped right after that PUT was accepted.
    pub operation: Option<String>,
    /// The service's `Retry-After` on that answer, when it sent one.
    pub retry_after: Option<Duration>,
}

impl Engine {
    /// This engine in deferring mode (see the module docs): used by the Service Bus worker.
    pub fn deferring(mut self) -> Self {
        self.defer = true;
        self
    }

    /// True for an engine made by [`Engine::deferring`].
    pub fn is_deferring(&self) -> bool {
        self.defer
    }

    /// The deferral of a cluster found in a transitional `state`.
    pub(super) fn busy(&self, cluster: &ResourceId, state: &str, retry_after: Option<Duration>) -> ReconcileError {
        tracing::info!(%cluster, state, "cluster operation in progress; deferring instead of waiting");
        ReconcileError::Deferred(Box::new(Pending { cluster: cluster.clone(), state: state.to_string(), operation: None, retry_after }))
    }

    /// In deferring mode, after fleetgate's cluster PUT was accepted as a long-running operation: polls
    /// the operation once, without waiting. `Ok(true)` = it already succeeded (read the cluster back
    /// now); `Ok(false)` = not deferring, or the answer was final (follow it as the waiting engine
    /// does); still running = [`ReconcileError::Deferred`] carrying the operation URL.
    pub(super) async fn accepted_put_done(&self, cluster: &ResourceId, resp: &ArmResponse) -> Result<bool, ReconcileError> {
        if !self.defer {
            return Ok(false);
        }
        let operation = resp.azure_async_operation.clone().or_else(|| resp.location.clone());
        let state = resp.provisioning_state().unwrap_or("Updating").to_string();
        let retry_after = match &operation {
            Some(url) => match self.arm.operation_status(cluster.as_str(), url).await? {
                OperationStatus::Succeeded => return Ok(true),
                OperationStatus::Ended(e) => return Err(e.into()),
                OperationStatus::Running { retry_after } => retry_after.or(resp.retry_after),
            },
            None if resp.provisioning_state().is_some_and(|s| !is_terminal_state(s)) => resp.retry_after,
            None => return Ok(false),
        };
        tracing::info!(%cluster, state, has_operation = operation.is_some(), "cluster PUT accepted; deferring its operation instead of polling it");
        Err(ReconcileError::Deferred(Box::new(Pending { cluster: cluster.clone(), state, operation, retry_after })))
    }
}

/// `Succeeded`, `Failed`, `Canceled`/`Cancelled` (any case).
pub(super) fn is_terminal_state(state: &str) -> bool {
    ["succeeded", "failed", "canceled", "cancelled"].contains(&state.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::is_terminal_state;

    #[test]
    fn transitional_states_are_not_terminal() {
        assert!(is_terminal_state("Succeeded") && is_terminal_state("FAILED") && is_terminal_state("Cancelled"));
        assert!(!is_terminal_state("Creating") && !is_terminal_state("Updating") && !is_terminal_state("Upgrading"));
    }
}
