//! Waiting for a cluster to leave a transitional `provisioningState` (an AKS operation in progress), and
//! the checks every cluster read that may precede a write passes ([`Engine::guard_read`]).

use std::time::Duration;

use super::{Engine, ReconcileError};
use crate::arm::{ArmResponse, Disposition};
use crate::core::Plan;
use crate::core::model::ClusterView;
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
    /// Every read passes [`Engine::guard_read`]: a cluster opted out while we wait stops here. A
    /// deferring engine reads once: a transitional state ends the reconcile ([`ReconcileError::Deferred`]).
    pub(super) async fn wait_cluster_terminal(&self, cluster: &ResourceId) -> Result<ArmResponse, ReconcileError> {
        let version = &self.settings.azure.api_versions.managed_clusters;
        let deadline = crate::deadline::from_now(self.settings.azure.operation_timeout);
        loop {
            let resp = self
                .arm
                .get(cluster.as_str(), version)
                .await?
                .ok_or_else(|| ReconcileError::ClusterGone { cluster: cluster.to_string() })?;
            self.guard_read(cluster, &resp)?;
            let state = resp.provisioning_state().map(str::to_string);
            if is_terminal(state.as_deref()) {
                return Ok(resp);
            }
            if self.defer {
                return Err(self.busy(cluster, state.as_deref().unwrap_or_default(), resp.retry_after));
            }
            if crate::deadline::from_now(SETTLE_POLL) > deadline {
                return Err(ReconcileError::ClusterBusy { cluster: cluster.to_string(), state: state.unwrap_or_default() });
            }
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }

    /// [`Engine::wait_cluster_terminal`] with the read's (guarded) view.
    pub(super) async fn read_settled(&self, cluster: &ResourceId) -> Result<(ArmResponse, ClusterView), ReconcileError> {
        let resp = self.wait_cluster_terminal(cluster).await?;
        let view = self.guard_read(cluster, &resp)?;
        Ok((resp, view))
    }

    /// The checks on a cluster read that may precede a write: the answer is the cluster asked for and
    /// in scope, and it does not carry the opt-out tag (`scope.exclude_tag`, re-checked at the last
    /// moment: a cluster tagged after it was planned gets no further write). Returns its view.
    pub(super) fn guard_read(&self, cluster: &ResourceId, resp: &ArmResponse) -> Result<ClusterView, ReconcileError> {
        let view = ClusterView::from_json(&resp.body).map_err(|e| ReconcileError::model(cluster, e))?;
        if view.id != *cluster || !self.policy.allows(&view.id) {
            return Err(ReconcileError::ForeignDocument { cluster: cluster.to_string(), got: view.id.to_string() });
        }
        if self.policy.is_excluded(&view) {
            tracing::info!(%cluster, tag = %self.policy.exclude_tag, "cluster opted out since it was planned; stopping before any further write");
            return Err(ReconcileError::OptedOut { cluster: cluster.to_string(), tag: self.policy.exclude_tag.clone() });
        }
        Ok(view)
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
