//! What direct mode carries from the bulk observation to the per-cluster path: the clusters needing
//! changes as Resource Graph showed them, and what their plans write ([`Planned`]), what the
//! per-cluster path gets ([`Applying`]), and the order it takes them in ([`interleave`]: round-robin
//! over subscriptions, so every subscription's ARM budget is drawn on from the start instead of one
//! subscription after another).
//!
//! Memory: a bulk plan is several times the size of the cluster view it was made from, so a pending
//! cluster keeps only its view; the [`Replanner`] rebuilds its plan — the same plan — when its job
//! starts, so only the plans of the jobs in flight exist at once.

use std::collections::{HashMap, VecDeque};

use super::observe::BulkEntry;
use super::planner::Replanner;
use crate::core::model::ClusterView;
use crate::core::{Action, PlanStatus};
use crate::id::ResourceId;

/// A cluster needing changes, as Resource Graph showed it (its bulk plan is rebuilt from it).
pub(super) type PendingPlan = Box<ClusterView>;

/// What the per-cluster path of direct mode gets.
pub(super) struct Applying<'a> {
    /// The clusters needing changes, as planned (taken as their jobs start).
    pub plans: HashMap<ResourceId, PendingPlan>,
    /// Rebuilds their bulk plans.
    pub replanner: Option<&'a Replanner>,
    /// Pricing resources already enabled (their actions are skipped).
    pub enabled: &'a [ResourceId],
    /// Writes already made for a cluster (its subscriptions' plans).
    pub credit: &'a HashMap<ResourceId, usize>,
    /// A saved plan is applied: a cluster whose ARM document differs from what the plan was made from
    /// is refused instead of being reconciled afresh.
    pub strict: bool,
}

/// The indices of `items` reordered round-robin over their `key` (first-seen key order, each key's
/// items in their original order): `a1 a2 b1 c1 c2` → `a1 b1 c1 a2 c2`.
pub(super) fn interleave<'a>(items: &[usize], key: impl Fn(usize) -> &'a str) -> Vec<usize> {
    let mut groups: Vec<(String, VecDeque<usize>)> = Vec::new();
    for &i in items {
        let k = key(i).to_ascii_lowercase();
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, q)) => q.push_back(i),
            None => groups.push((k, VecDeque::from([i]))),
        }
    }
    let mut out = Vec::with_capacity(items.len());
    while out.len() < items.len() {
        for (_, q) in groups.iter_mut() {
            if let Some(i) = q.pop_front() {
                out.push(i);
            }
        }
    }
    out
}

/// What the bulk plans of the clusters needing changes ask to write.
#[derive(Debug, Default)]
pub(super) struct Planned {
    /// Distinct pricing resources (shared by the clusters of a subscription).
    pub pricing: Vec<ResourceId>,
    /// The pricing resources each cluster's plan needs.
    pricing_of: HashMap<ResourceId, Vec<ResourceId>>,
    /// Distinct writes: the pricing resources plus every other planned action.
    pub writes: u64,
    /// Direct mode: each such cluster as planned, for the per-cluster path.
    pub plans: HashMap<ResourceId, PendingPlan>,
    /// Direct mode: rebuilds the bulk plans of `plans`.
    pub replanner: Option<Replanner>,
}

impl Planned {
    /// Counts what one cluster's plan would write (nothing unless it needs changes).
    pub fn add(&mut self, entry: &BulkEntry) {
        let Some(plan) = entry.plan().filter(|p| p.status == PlanStatus::ChangesNeeded) else { return };
        for action in &plan.actions {
            match action {
                Action::EnableDefenderPlan { resource, .. } => {
                    self.pricing_of.entry(plan.cluster.clone()).or_default().push(resource.clone());
                    if !self.pricing.contains(resource) {
                        self.pricing.push(resource.clone());
                        self.writes += 1;
                    }
                }
                _ => self.writes += 1,
            }
        }
    }

    /// Per cluster, how many of its plan's pricing writes were made (`enabled`).
    pub fn credit(&self, enabled: &[ResourceId]) -> HashMap<ResourceId, usize> {
        self.pricing_of
            .iter()
            .map(|(cluster, ids)| (cluster.clone(), ids.iter().filter(|id| enabled.contains(id)).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_takes_one_per_key_in_turn_and_keeps_each_key_s_order() {
        let keys = ["A", "a", "b", "c", "C", "a"];
        assert_eq!(interleave(&[0, 1, 2, 3, 4, 5], |i| keys[i]), [0, 2, 3, 1, 4, 5], "keys compare case-insensitively");
        assert_eq!(interleave(&[4, 2], |i| keys[i]), [4, 2]);
        assert!(interleave(&[], |i| keys[i]).is_empty());
    }
}
