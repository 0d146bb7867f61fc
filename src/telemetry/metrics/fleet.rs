//! The fleet gauge `fleetgate_clusters{status, subscription}`: how many clusters of each subscription
//! are compliant, need changes, are blocked, excluded or failed, as the last resync or backfill found
//! them. Every refresh records all five statuses of every subscription it covers (zeros included), and
//! zeros the subscriptions an earlier refresh of this process reported but this one does not, so a
//! series never keeps a stale count.

use std::collections::BTreeMap;

/// The `status` label values, in this order.
pub const CLUSTER_STATUSES: [&str; 5] = ["compliant", "changes_needed", "blocked", "excluded", "failed"];

/// A cluster's status as the gauge counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GaugeStatus {
    /// Gated deployment in place (a converged cluster included).
    Compliant,
    /// fleetgate has changes to make (planned, enqueued, not reached).
    ChangesNeeded,
    /// Blocked: an owner must act.
    Blocked,
    /// Opted out by tag.
    Excluded,
    /// Could not be converged or read.
    Failed,
}

impl GaugeStatus {
    /// The label value.
    pub fn label(self) -> &'static str {
        CLUSTER_STATUSES[self as usize]
    }
}

/// Cluster counts per subscription and status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterCounts {
    by_subscription: BTreeMap<String, [u64; 5]>,
}

impl ClusterCounts {
    /// Counts one cluster of `subscription` (IDs compare case-insensitively).
    pub fn add(&mut self, subscription: &str, status: GaugeStatus) {
        self.by_subscription.entry(subscription.to_ascii_lowercase()).or_default()[status as usize] += 1;
    }

    /// Makes `subscription` part of the refresh even with no cluster (its series read 0).
    pub fn include(&mut self, subscription: &str) {
        self.by_subscription.entry(subscription.to_ascii_lowercase()).or_default();
    }

    /// The count of `status` in `subscription`.
    pub fn get(&self, subscription: &str, status: GaugeStatus) -> u64 {
        self.by_subscription.get(&subscription.to_ascii_lowercase()).map_or(0, |c| c[status as usize])
    }

    /// Subscriptions covered, each with its five counts in [`CLUSTER_STATUSES`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u64; 5])> {
        self.by_subscription.iter().map(|(s, c)| (s.as_str(), c))
    }

    /// All clusters counted.
    pub fn total(&self) -> u64 {
        self.by_subscription.values().flatten().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_subscription_and_status_case_insensitively() {
        let mut c = ClusterCounts::default();
        c.add("AAAA", GaugeStatus::Compliant);
        c.add("aaaa", GaugeStatus::Compliant);
        c.add("aaaa", GaugeStatus::Failed);
        c.include("bbbb");
        assert_eq!(c.get("aaaa", GaugeStatus::Compliant), 2);
        assert_eq!(c.get("AaAa", GaugeStatus::Failed), 1);
        assert_eq!(
            c.iter().map(|(s, n)| (s.to_string(), *n)).collect::<Vec<_>>(),
            [("aaaa".into(), [2, 0, 0, 0, 1]), ("bbbb".into(), [0; 5])]
        );
        assert_eq!(c.total(), 3);
        assert_eq!(GaugeStatus::ChangesNeeded.label(), "changes_needed");
    }
}
