//! "Registry attached": an AcrPull role assignment written on an ACR. The event only names the
//! assignment; its role and principal are read from ARM, and the clusters whose kubelet identity is
//! that principal are found with Resource Graph.

use std::time::Duration;

use serde_json::Value;

use super::deferral::Chain;
use super::{Dispatcher, Handled, MessageOutcome, Settle};
use crate::arm::ArmError;
use crate::core::model::RoleAssignmentView;
use crate::core::names::ACR_PULL_ROLE_GUID;
use crate::id::{ResourceId, is_guid};

/// GETs of a just-written assignment that may answer 404 while it replicates.
const NOT_FOUND_TRIES: u32 = 4;

impl Dispatcher {
    /// Handles a role-assignment write on `registry`.
    pub(super) async fn registry_attached(&self, assignment: &ResourceId, registry: &ResourceId, chain: &Chain) -> Handled {
        let body = match self.read_assignment(assignment).await {
            Ok(Some(body)) => body,
            Ok(None) => return Handled::ignored(None, "role_assignment_not_found"),
            Err(e) => return arm_failure(&e),
        };
        let Ok(view) = RoleAssignmentView::from_json(&body) else {
            return Handled::rejected(format!("{assignment}: ARM returned a role assignment fleetgate cannot read"));
        };
        if !view.is_role(ACR_PULL_ROLE_GUID) {
            return Handled::ignored(None, "not_acr_pull");
        }
        if view.scope.as_ref() != Some(registry) {
            return Handled::ignored(None, "not_a_registry_scope");
        }
        if !is_guid(&view.principal_id) {
            return Handled::rejected(format!("{assignment}: principalId {:?} is not a GUID", view.principal_id));
        }
        let clusters = match self.clusters_with_kubelet(&view.principal_id).await {
            Ok(c) => c,
            Err(e) => return arm_failure(&e),
        };
        let mut results = Vec::new();
        for cluster in clusters.iter().filter(|c| self.settings.scope.allows(c)) {
            results.push(self.reconcile_in(cluster, chain).await);
        }
        Handled::combine(results).unwrap_or_else(|| Handled::ignored(None, "not_a_kubelet_identity"))
    }

    /// GET the assignment, retrying a 404 briefly (role assignments replicate).
    async fn read_assignment(&self, assignment: &ResourceId) -> Result<Option<Value>, ArmError> {
        let version = &self.settings.azure.api_versions.role_assignments;
        let mut delay = self.settings.azure.retry.initial_backoff.max(Duration::from_millis(1));
        for attempt in 1..=NOT_FOUND_TRIES {
            if let Some(resp) = self.engine.arm().get(assignment.as_str(), version).await? {
                return Ok(Some(resp.body));
            }
            if attempt < NOT_FOUND_TRIES {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Ok(None)
    }

    /// Managed clusters in scope whose kubelet identity's object ID is `principal` (a validated GUID).
    async fn clusters_with_kubelet(&self, principal: &str) -> Result<Vec<ResourceId>, ArmError> {
        let query = format!(
            "resources | where type =~ 'microsoft.containerservice/managedclusters' \
             | where tostring(properties.identityProfile.kubeletidentity.objectId) =~ '{principal}' | project id"
        );
        let rows = self.engine.arm().resource_graph(&self.settings.scope.subscriptions, &query).await?;
        Ok(rows.iter().filter_map(|r| r.get("id").and_then(Value::as_str)).filter_map(|id| ResourceId::parse(id).ok()).collect())
    }
}

/// An ARM failure outside a reconcile: retry later unless it is fatal.
pub(super) fn arm_failure(e: &ArmError) -> Handled {
    let reason = e.to_string();
    let settle = if e.disposition() == crate::arm::Disposition::Fatal { Settle::Park(reason.clone()) } else { Settle::Abandon };
    Handled { outcome: MessageOutcome::Failed, cluster: None, reason: Some(reason), settle }
}
