//! Cluster deleted: with `gating.gc_on_delete = true`, delete the dedicated identity fleetgate created
//! for it (found by its deterministic name and verified by its tags) and the AcrPull assignments
//! fleetgate made for that identity — on registries inside `scope.subscriptions`, under its
//! deterministic names (`made_by_fleetgate`); anything else the list returns is left alone. The
//! deletion is confirmed with ARM first: the cluster must answer 404.

use super::registry::arm_failure;
use super::{Dispatcher, Handled, MessageOutcome};
use crate::config::{IdentityStrategy, ScopeSettings};
use crate::core::model::{IdentityView, RoleAssignmentView};
use crate::core::names::{ACR_PULL_ROLE_GUID, CLUSTER_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, acr_pull_assignment_id};
use crate::id::ResourceId;

/// The registry resource type (the only scope fleetgate assigns AcrPull at).
const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";

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
        for a in &assignments {
            if made_by_fleetgate(a, &identity.principal_id, &self.settings.scope) {
                arm.delete(&a.id, &versions.role_assignments).await?;
            } else if a.principal_id.eq_ignore_ascii_case(&identity.principal_id) {
                tracing::info!(assignment = %a.id, "garbage collection leaves alone a role assignment fleetgate did not make in scope");
            }
        }
        arm.delete(identity.id.as_str(), &versions.managed_identity).await?;
        Ok(())
    }
}

/// True for an assignment garbage collection may delete: AcrPull for `principal`, at a registry inside
/// `scope.subscriptions`, under the deterministic name fleetgate gives the assignments it makes. List
/// by principal also returns assignments at management-group or tenant-root scope, in other
/// subscriptions, or made by someone else — none of those is fleetgate's to delete.
fn made_by_fleetgate(a: &RoleAssignmentView, principal: &str, scope: &ScopeSettings) -> bool {
    let Some(at) = a.scope.as_ref() else { return false };
    a.is_role(ACR_PULL_ROLE_GUID)
        && a.principal_id.eq_ignore_ascii_case(principal)
        && scope.allows(at)
        && at.is_type(REGISTRY_TYPE)
        && ResourceId::parse(&a.id).is_ok_and(|id| acr_pull_assignment_id(at, principal).is_ok_and(|ours| ours == id))
}

/// True when the identity's tags say fleetgate created it for `cluster`.
fn managed_for(identity: &IdentityView, cluster: &ResourceId) -> bool {
    let tag = |k: &str| identity.tags.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
    tag(MANAGED_BY_TAG).is_some_and(|v| v.eq_ignore_ascii_case(MANAGED_BY_VALUE))
        && tag(CLUSTER_TAG).and_then(|v| ResourceId::parse(v).ok()).is_some_and(|id| &id == cluster)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";
    const OTHER: &str = "00000000-0000-0000-0000-0000000000ff";
    const PRINCIPAL: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const ACR_PULL: &str = "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d";

    fn scope() -> ScopeSettings {
        ScopeSettings { subscriptions: vec![SUB.into()], exclude_tag: "fleetgate.io/exclude".into() }
    }

    fn registry(sub: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr")).unwrap()
    }

    fn view(scope: &str, name: &str, principal: &str, role: &str) -> RoleAssignmentView {
        let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
        RoleAssignmentView::from_json(
            &json!({"id": id, "properties": {"scope": scope, "principalId": principal, "roleDefinitionId": role}}),
        )
        .unwrap()
    }

    fn ours(sub: &str) -> RoleAssignmentView {
        let acr = registry(sub);
        let id = acr_pull_assignment_id(&acr, PRINCIPAL).unwrap();
        view(acr.as_str(), id.name(), PRINCIPAL, ACR_PULL)
    }

    #[test]
    fn only_fleetgate_s_own_assignments_in_scope_are_collected() {
        assert!(made_by_fleetgate(&ours(SUB), PRINCIPAL, &scope()));
        let upper = view(&registry(SUB).as_str().to_uppercase(), ours(SUB).id.rsplit('/').next().unwrap(), PRINCIPAL, ACR_PULL);
        assert!(made_by_fleetgate(&upper, PRINCIPAL, &scope()), "IDs compare case-insensitively");
    }

    #[test]
    fn foreign_management_group_root_and_hand_made_assignments_are_left_alone() {
        let random = "0b7e3a1c-7d51-4c0e-9a3f-2f6d8e9c1a22";
        let cases = [
            ("another subscription", ours(OTHER)),
            ("management group", view("/providers/Microsoft.Management/managementGroups/mg1", random, PRINCIPAL, ACR_PULL)),
            ("tenant root", view("/", random, PRINCIPAL, ACR_PULL)),
            ("made by hand (random name)", view(registry(SUB).as_str(), random, PRINCIPAL, ACR_PULL)),
            ("another principal", view(registry(SUB).as_str(), ours(SUB).id.rsplit('/').next().unwrap(), OTHER, ACR_PULL)),
            (
                "another role",
                view(
                    registry(SUB).as_str(),
                    ours(SUB).id.rsplit('/').next().unwrap(),
                    PRINCIPAL,
                    "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
                ),
            ),
            ("the subscription itself", view(&format!("/subscriptions/{SUB}"), random, PRINCIPAL, ACR_PULL)),
        ];
        for (what, a) in cases {
            assert!(!made_by_fleetgate(&a, PRINCIPAL, &scope()), "{what}: {a:?}");
        }
    }
}
