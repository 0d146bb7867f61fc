//! Cluster deleted: with `gating.gc_on_delete = true`, delete the dedicated identity fleetgate created
//! for it (found by its deterministic name and verified by its tags) and that identity's AcrPull
//! assignments. The deletion is confirmed with ARM first: the cluster must answer 404.

use super::registry::arm_failure;
use super::{Dispatcher, Handled, MessageOutcome};
use crate::config::IdentityStrategy;
use crate::core::model::IdentityView;
use crate::core::names::{ACR_PULL_ROLE_GUID, CLUSTER_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE};
use crate::id::ResourceId;

impl Dispatcher {
    /// Handles a managed-cluster delete.
    pub(super) async fn cluster_deleted(&self, cluster: &ResourceId) -> Handled {
        self.forget(cluster);
        if !self.settings.gating.gc_on_delete {
            return Handled::ignored(Some(cluster.clone()), "gc_on_delete_disabled");
        }
        if self.settings.gating.identity_strategy == IdentityStrategy::Kubelet {
            return Handled::ignored(Some(cluster.clone()), "kubelet_strategy_created_no_identity");
        }
        let versions = &self.settings.azure.api_versions;
        let arm = self.engine.arm();
        match arm.get(cluster.as_str(), &versions.managed_clusters).await {
            Ok(Some(_)) => return Handled::ignored(Some(cluster.clone()), "cluster_still_exists"),
            Ok(None) => {}
            Err(e) => return arm_failure(&e),
        }
        let Ok(identity_id) = self.engine.policy().dedicated_identity_id(cluster) else {
            return Handled::ignored(Some(cluster.clone()), "no_dedicated_identity_name");
        };
        let identity = match arm.get(identity_id.as_str(), &versions.managed_identity).await {
            Ok(Some(resp)) => IdentityView::from_json(&resp.body),
            Ok(None) => return Handled::ignored(Some(cluster.clone()), "identity_already_gone"),
            Err(e) => return arm_failure(&e),
        };
        let Ok(identity) = identity else { return Handled::rejected(format!("{identity_id}: unreadable identity document")) };
        if !managed_for(&identity, cluster) {
            return Handled::ignored(Some(cluster.clone()), "identity_not_managed_by_fleetgate_for_this_cluster");
        }
        match self.delete_identity(&identity).await {
            Ok(()) => Handled::done(MessageOutcome::Converged, cluster, Some("deleted the dedicated gating identity".into())),
            Err(e) => arm_failure(&e),
        }
    }

    async fn delete_identity(&self, identity: &IdentityView) -> Result<(), crate::arm::ArmError> {
        let arm = self.engine.arm();
        let versions = &self.settings.azure.api_versions;
        let subs = self.settings.scope.subscriptions.clone();
        let assignments = self.engine.acr_pulls_of(&identity.principal_id, subs).await.map_err(|e| match e {
            crate::reconcile::ReconcileError::Arm(a) => a,
            other => crate::arm::ArmError::Setup(other.to_string()),
        })?;
        for a in assignments.iter().filter(|a| a.is_role(ACR_PULL_ROLE_GUID) && a.principal_id.eq_ignore_ascii_case(&identity.principal_id))
        {
            arm.delete(&a.id, &versions.role_assignments).await?;
        }
        arm.delete(identity.id.as_str(), &versions.managed_identity).await?;
        Ok(())
    }
}

/// True when the identity's tags say fleetgate created it for `cluster`.
fn managed_for(identity: &IdentityView, cluster: &ResourceId) -> bool {
    let tag = |k: &str| identity.tags.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
    tag(MANAGED_BY_TAG).is_some_and(|v| v.eq_ignore_ascii_case(MANAGED_BY_VALUE))
        && tag(CLUSTER_TAG).and_then(|v| ResourceId::parse(v).ok()).is_some_and(|id| &id == cluster)
}
