//! The `apply --output json` shape. (The plan's shape is [`crate::core::plan::Plan`] itself.)

use serde::{Deserialize, Serialize};

use crate::core::action::{Action, ActionKind};
use crate::core::blocker::Blocker;
use crate::core::plan::{Plan, PlanStatus};
use crate::id::ResourceId;

/// The result of `apply` for one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyStatus {
    /// The cluster is compliant (nothing was needed, or everything was applied).
    Converged,
    /// Blockers prevented any write.
    Blocked,
    /// The cluster carries the opt-out tag.
    Excluded,
    /// An action failed, or the cluster was still not compliant afterwards.
    Failed,
}

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written.
    Applied,
    /// ARM said it already existed (e.g. `RoleAssignmentExists`), or a re-read showed it in place.
    AlreadyPresent,
    /// Gave up.
    Failed,
}

/// One action's result: `{"kind", "resource", "outcome", "attempts"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAction {
    /// The action kind.
    pub kind: ActionKind,
    /// The resource written (with the real name once known).
    pub resource: String,
    /// What happened.
    pub outcome: Outcome,
    /// HTTP attempts made, the first included.
    pub attempts: u32,
}

impl AppliedAction {
    /// A result for `action`.
    pub fn new(action: &Action, outcome: Outcome, attempts: u32) -> Self {
        Self { kind: action.kind(), resource: action.resource(), outcome, attempts }
    }
}

/// `apply --output json`: `{"cluster", "status", "actions", "blockers", "error"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// The cluster's ARM ID.
    pub cluster: ResourceId,
    /// Verdict.
    pub status: ApplyStatus,
    /// What was done, in order.
    pub actions: Vec<AppliedAction>,
    /// Blockers (status `blocked`), or what is still missing after applying.
    pub blockers: Vec<Blocker>,
    /// What failed, on which resource, and what to do (status `failed`); `null` otherwise.
    pub error: Option<String>,
}

impl ApplyReport {
    /// The report for a plan that needs no IO: compliant → `converged`, blocked, excluded.
    /// `None` for `changes_needed` (the actions must run first).
    pub fn without_writes(plan: &Plan) -> Option<Self> {
        let status = match plan.status {
            PlanStatus::Compliant => ApplyStatus::Converged,
            PlanStatus::Blocked => ApplyStatus::Blocked,
            PlanStatus::Excluded => ApplyStatus::Excluded,
            PlanStatus::ChangesNeeded => return None,
        };
        Some(Self { cluster: plan.cluster.clone(), status, actions: Vec::new(), blockers: plan.blockers.clone(), error: None })
    }

    /// The report once the actions ran and the cluster was observed and planned again: compliant →
    /// `converged`; still changes needed → `failed` with an error listing what is missing; blocked or
    /// excluded as the new plan says.
    pub fn finish(actions: Vec<AppliedAction>, after: &Plan) -> Self {
        let (status, error) = match after.status {
            PlanStatus::Compliant => (ApplyStatus::Converged, None),
            PlanStatus::Blocked => (ApplyStatus::Blocked, None),
            PlanStatus::Excluded => (ApplyStatus::Excluded, None),
            PlanStatus::ChangesNeeded => {
                let missing: Vec<String> = after.actions.iter().map(|a| format!("{} {}", a.kind(), a.resource())).collect();
                let error = format!(
                    "cluster {} is still not compliant after applying; still missing: {}. Run `fleetgate plan --cluster {}` to see why (another writer, or ARM not yet consistent) and apply again",
                    after.cluster,
                    missing.join("; "),
                    after.cluster
                );
                (ApplyStatus::Failed, Some(error))
            }
        };
        Self { cluster: after.cluster.clone(), status, actions, blockers: after.blockers.clone(), error }
    }

    /// A failed report.
    pub fn failed(cluster: ResourceId, actions: Vec<AppliedAction>, error: String) -> Self {
        Self { cluster, status: ApplyStatus::Failed, actions, blockers: Vec::new(), error: Some(error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityStrategy;
    use crate::core::plan::PlanIdentity;
    use serde_json::json;

    const CLUSTER: &str =
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1";

    fn cluster() -> ResourceId {
        ResourceId::parse(CLUSTER).unwrap()
    }

    #[test]
    fn apply_json_shape() {
        let registry = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a",
        )
        .unwrap();
        let action = Action::AssignAcrPull {
            resource: format!("{registry}/providers/Microsoft.Authorization/roleAssignments/x"),
            registry,
            principal_id: Some("p".into()),
        };
        let report = ApplyReport {
            cluster: cluster(),
            status: ApplyStatus::Converged,
            actions: vec![AppliedAction::new(&action, Outcome::AlreadyPresent, 2)],
            blockers: vec![],
            error: None,
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(
            v,
            json!({"cluster": CLUSTER, "status": "converged", "actions": [{"kind": "assign_acr_pull", "resource": action.resource(),
                "outcome": "already_present", "attempts": 2}], "blockers": [], "error": null})
        );
        assert_eq!(serde_json::from_value::<ApplyReport>(v).unwrap(), report);
        let v = serde_json::to_value(&report).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["cluster", "status", "actions", "blockers", "error"]);
    }

    #[test]
    fn statuses_and_outcomes_serialize_as_documented() {
        let statuses = [ApplyStatus::Converged, ApplyStatus::Blocked, ApplyStatus::Excluded, ApplyStatus::Failed];
        assert_eq!(serde_json::to_value(statuses).unwrap(), json!(["converged", "blocked", "excluded", "failed"]));
        assert_eq!(
            serde_json::to_value([Outcome::Applied, Outcome::AlreadyPresent, Outcome::Failed]).unwrap(),
            json!(["applied", "already_present", "failed"])
        );
        let failed = ApplyReport::failed(cluster(), vec![], "PUT x failed: AuthorizationFailed; grant ...".into());
        assert_eq!(serde_json::to_value(&failed).unwrap()["error"], "PUT x failed: AuthorizationFailed; grant ...");
    }

    #[test]
    fn without_writes_maps_plan_statuses() {
        let identity =
            PlanIdentity { strategy: IdentityStrategy::Dedicated, resource_id: None, principal_id: None, client_id: None, exists: false };
        let mut plan = Plan {
            cluster: cluster(),
            status: PlanStatus::Blocked,
            identity,
            registries: vec![],
            blockers: vec![Blocker::cluster_not_found(&cluster())],
            actions: vec![],
        };
        let r = ApplyReport::without_writes(&plan).unwrap();
        assert_eq!((r.status, r.blockers.len()), (ApplyStatus::Blocked, 1));
        plan.status = PlanStatus::Compliant;
        assert_eq!(ApplyReport::without_writes(&plan).unwrap().status, ApplyStatus::Converged);
        plan.status = PlanStatus::Excluded;
        assert_eq!(ApplyReport::without_writes(&plan).unwrap().status, ApplyStatus::Excluded);
        plan.status = PlanStatus::ChangesNeeded;
        assert!(ApplyReport::without_writes(&plan).is_none());
    }

    #[test]
    fn finish_reports_what_is_still_missing() {
        let identity =
            PlanIdentity { strategy: IdentityStrategy::Dedicated, resource_id: None, principal_id: None, client_id: None, exists: false };
        let gating = Action::UpdateSecurityGating { resource: cluster(), enable: true, add: vec![] };
        let mut after = Plan {
            cluster: cluster(),
            status: PlanStatus::ChangesNeeded,
            identity,
            registries: vec![],
            blockers: vec![],
            actions: vec![gating.clone()],
        };
        let done = vec![AppliedAction::new(&gating, Outcome::Applied, 1)];
        let failed = ApplyReport::finish(done.clone(), &after);
        assert_eq!(failed.status, ApplyStatus::Failed);
        let error = failed.error.unwrap();
        assert!(error.contains("update_security_gating") && error.contains(CLUSTER), "{error}");
        after.status = PlanStatus::Compliant;
        after.actions.clear();
        let ok = ApplyReport::finish(done, &after);
        assert_eq!((ok.status, ok.error, ok.actions.len()), (ApplyStatus::Converged, None, 1));
    }
}
