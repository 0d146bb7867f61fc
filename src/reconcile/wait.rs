//! Waiting for a cluster to leave a transitional `provisioningState` (an AKS operation in progress).

use std::time::Duration;

use super::{Engine, ReconcileError};
use crate::arm::{ArmResponse, Disposition};
use crate::core::Plan;
use crate::id::ResourceId;

/// Poll interval while a cluster operation is in progress.
const SETTLE_POLL: Duration = Duration::from_secs(2);

fn is_terminal(state: Option<&str>) -> bool {
    match state {
        None => true,
        Some(s) => ["succeeded", "failed", "canceled", "cancelled"].contains(&s.to_ascii_lowercase().as_str()),
    }
}

impl Engine {
    /// GETs the cluster until its `provisioningState` is terminal, within `azure.operation_timeout`.
    pub(super) async fn wait_cluster_terminal(&self, cluster: &ResourceId) -> Result<ArmResponse, ReconcileError> {
        let version = &self.settings.azure.api_versions.managed_clusters;
        let deadline = crate::deadline::from_now(self.settings.azure.operation_timeout);
        loop {
            let resp = self
                .arm
                .get(cluster.as_str(), version)
                .await?
                .ok_or_else(|| ReconcileError::ClusterGone { cluster: cluster.to_string() })?;
            let state = resp.provisioning_state().map(str::to_string);
            if is_terminal(state.as_deref()) {
                return Ok(resp);
            }
            if crate::deadline::from_now(SETTLE_POLL) > deadline {
                return Err(ReconcileError::ClusterBusy { cluster: cluster.to_string(), state: state.unwrap_or_default() });
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// After a 409 "operation in progress" wait for the cluster to settle; after a 412 nothing to wait for.
    pub(super) async fn settle_after(&self, e: &ReconcileError, plan: &Plan) -> Result<(), ReconcileError> {
        if e.disposition() == Some(Disposition::WaitForTerminalState) {
            self.wait_cluster_terminal(&plan.cluster).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_terminal;

    #[test]
    fn terminal_states() {
        assert!(is_terminal(None));
        assert!(is_terminal(Some("Succeeded")) && is_terminal(Some("FAILED")) && is_terminal(Some("Canceled")));
        assert!(!is_terminal(Some("Updating")) && !is_terminal(Some("Creating")) && !is_terminal(Some("Upgrading")));
    }
}
