//! What a run is about to write, as data for the confirmation screen and the JSON outputs: per cluster
//! the planned action kinds, and — listed separately, because one write changes a whole subscription
//! and may change its bill — the subscription-wide changes to the Defender for Containers plan.
//!
//! Renderers (text, JSON) live with the commands; this module only gathers the facts.

use serde::{Deserialize, Serialize};

use crate::core::pricing::STANDARD_TIER;
use crate::core::{Action, ActionKind, Plan, PlanStatus};
use crate::id::ResourceId;

/// One subscription's Containers plan change (from an `enable_defender_plan` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionChange {
    /// The subscription.
    pub subscription: String,
    /// `/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers`.
    pub resource: ResourceId,
    /// True when the plan goes from Free (or absent) to Standard: billing starts for the subscription.
    pub starts_billing: bool,
    /// The extensions and properties turned on (e.g. `ContainerSensor`, `SecurityGatingEnabled`).
    pub turn_on: Vec<String>,
    /// Clusters whose plans need this change.
    pub clusters: usize,
}

impl SubscriptionChange {
    /// The change an `enable_defender_plan` action asks for; `None` for other actions.
    pub fn from_action(action: &Action) -> Option<Self> {
        let Action::EnableDefenderPlan { resource, subscription, missing } = action else { return None };
        let starts_billing = missing.iter().any(|m| m == STANDARD_TIER);
        let turn_on = missing.iter().filter(|m| m.as_str() != STANDARD_TIER).cloned().collect();
        Some(Self { subscription: subscription.clone(), resource: resource.clone(), starts_billing, turn_on, clusters: 1 })
    }

    /// One line: `Defender for Containers: Free → Standard on subscription X (billed per vCore); turn on …`.
    pub fn describe(&self) -> String {
        let pieces = if self.turn_on.is_empty() { String::new() } else { format!("; turn on {}", self.turn_on.join(", ")) };
        if self.starts_billing {
            format!(
                "Defender for Containers: Free → Standard on subscription {} (billed per vCore, for every cluster and node of the subscription){pieces}",
                self.subscription
            )
        } else {
            format!("Defender for Containers on subscription {} (already Standard, no change of tier){pieces}", self.subscription)
        }
    }
}

/// One cluster that will be written, and what will be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterChange {
    /// The cluster.
    pub cluster: ResourceId,
    /// Planned action kinds in order (the subscription-wide pricing actions included).
    pub actions: Vec<ActionKind>,
}

/// Everything a run will write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Clusters with writes, in ID order.
    pub clusters: Vec<ClusterChange>,
    /// Subscription-wide plan changes, by subscription.
    pub subscriptions: Vec<SubscriptionChange>,
}

impl Changes {
    /// Adds a cluster's plan (only `changes_needed` plans write anything).
    pub fn add_plan(&mut self, plan: &Plan) {
        if plan.status != PlanStatus::ChangesNeeded {
            return;
        }
        self.add(
            &plan.cluster,
            plan.actions.iter().map(Action::kind).collect(),
            plan.actions.iter().filter_map(SubscriptionChange::from_action),
        );
    }

    /// Adds a cluster with its action kinds and the subscription changes its plan needs.
    pub fn add(&mut self, cluster: &ResourceId, actions: Vec<ActionKind>, subscriptions: impl IntoIterator<Item = SubscriptionChange>) {
        for change in subscriptions {
            match self.subscriptions.iter_mut().find(|c| c.resource == change.resource) {
                Some(known) => {
                    known.clusters += 1;
                    known.starts_billing |= change.starts_billing;
                    for piece in change.turn_on {
                        if !known.turn_on.contains(&piece) {
                            known.turn_on.push(piece);
                        }
                    }
                }
                None => self.subscriptions.push(change),
            }
        }
        self.clusters.push(ClusterChange { cluster: cluster.clone(), actions });
    }

    /// Sorts clusters by ID and subscriptions by ID (stable output).
    pub fn sort(&mut self) {
        self.clusters.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        self.subscriptions.sort_by(|a, b| a.resource.cmp(&b.resource));
    }

    /// True when nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.subscriptions.is_empty()
    }

    /// True when a subscription's plan would go from Free to Standard.
    pub fn starts_billing(&self) -> bool {
        self.subscriptions.iter().any(|s| s.starts_billing)
    }
}

/// `create_identity, assign_acr_pull ×2, update_security_gating`: kinds in order, repeats counted.
pub fn action_summary(actions: &[ActionKind]) -> String {
    let mut parts: Vec<(ActionKind, usize)> = Vec::new();
    for kind in actions {
        match parts.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => parts.push((*kind, 1)),
        }
    }
    parts.iter().map(|(k, n)| if *n > 1 { format!("{k} ×{n}") } else { k.to_string() }).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pricing(sub: &str, missing: &[&str]) -> Action {
        Action::EnableDefenderPlan {
            resource: ResourceId::parse(&format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers")).unwrap(),
            subscription: sub.into(),
            missing: missing.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn cluster(name: &str) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
        ))
        .unwrap()
    }

    const SUB: &str = "00000000-0000-0000-0000-000000000002";

    #[test]
    fn a_free_plan_is_listed_once_as_a_billing_change() {
        let free = pricing(SUB, &[STANDARD_TIER, "ContainerSensor", "SecurityGatingEnabled"]);
        let mut changes = Changes::default();
        for name in ["b", "a"] {
            let change = SubscriptionChange::from_action(&free);
            changes.add(&cluster(name), vec![ActionKind::EnableDefenderPlan, ActionKind::CreateIdentity], change);
        }
        changes.sort();
        assert_eq!(changes.subscriptions.len(), 1);
        let s = &changes.subscriptions[0];
        assert!(s.starts_billing && s.clusters == 2 && s.turn_on == ["ContainerSensor", "SecurityGatingEnabled"], "{s:?}");
        assert!(s.describe().starts_with(&format!("Defender for Containers: Free → Standard on subscription {SUB} (billed per vCore")));
        assert!(changes.starts_billing() && changes.clusters[0].cluster.name() == "a");
    }

    #[test]
    fn a_standard_plan_only_gets_its_pieces_and_no_billing_line() {
        let s = SubscriptionChange::from_action(&pricing(SUB, &["SecurityGatingEnabled"])).unwrap();
        assert!(!s.starts_billing);
        assert!(s.describe().contains("(already Standard, no change of tier); turn on SecurityGatingEnabled"), "{}", s.describe());
        assert!(
            SubscriptionChange::from_action(&Action::UpdateSecurityGating { resource: cluster("a"), enable: true, add: vec![] }).is_none()
        );
    }

    #[test]
    fn action_summary_counts_repeats() {
        use ActionKind::*;
        assert_eq!(
            action_summary(&[CreateIdentity, AssignAcrPull, AssignAcrPull, UpdateSecurityGating]),
            "create_identity, assign_acr_pull ×2, update_security_gating"
        );
        assert_eq!(action_summary(&[]), "");
    }
}
