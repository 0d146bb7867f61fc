//! The fleet report at scale: the per-subscription roll-up (clusters, compliant, needs changes, blocked
//! — by blocker code —, excluded, failed) and the row filters of `report` (`--status`,
//! `--resource-group`; `--subscription` narrows the bulk read itself).

use std::collections::BTreeMap;

use serde::Serialize;

use super::report::{ReportRow, ReportStatus};

/// One subscription's counts (`subscriptions[]` of `report --output json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriptionRollup {
    /// The subscription ID.
    pub subscription: String,
    /// Clusters reported.
    pub clusters: usize,
    /// Compliant.
    pub compliant: usize,
    /// Needing changes.
    pub changes_needed: usize,
    /// Blocked (any blocker).
    pub blocked: usize,
    /// Blocked clusters per blocker code (a cluster with two codes counts under each).
    pub blocked_by_code: BTreeMap<String, usize>,
    /// Excluded by tag.
    pub excluded: usize,
    /// Failed: rows that could not be read (status `unreadable`).
    pub failed: usize,
}

impl SubscriptionRollup {
    fn add(&mut self, row: &ReportRow) {
        self.clusters += 1;
        match row.status {
            ReportStatus::Compliant => self.compliant += 1,
            ReportStatus::ChangesNeeded => self.changes_needed += 1,
            ReportStatus::Blocked => {
                self.blocked += 1;
                let mut codes: Vec<&str> = row.blockers.iter().map(|b| b.code.as_str()).collect();
                codes.dedup();
                for code in codes {
                    *self.blocked_by_code.entry(code.to_string()).or_default() += 1;
                }
            }
            ReportStatus::Excluded => self.excluded += 1,
            ReportStatus::Unreadable => self.failed += 1,
        }
    }

    /// `kubernetes_version_unsupported 1, oidc_issuer_disabled 2` (empty when nothing is blocked).
    pub fn codes_line(&self) -> String {
        self.blocked_by_code.iter().map(|(code, n)| format!("{code} {n}")).collect::<Vec<_>>().join(", ")
    }
}

/// The roll-up of `rows`, one entry per subscription sorted by ID, plus the fleet total
/// (`subscription` = `"total"`).
pub fn rollup(rows: &[ReportRow]) -> (Vec<SubscriptionRollup>, SubscriptionRollup) {
    let mut by_sub: BTreeMap<String, SubscriptionRollup> = BTreeMap::new();
    let mut total = SubscriptionRollup { subscription: "total".into(), ..SubscriptionRollup::default() };
    for row in rows {
        let sub = row.cluster.subscription_id().to_ascii_lowercase();
        by_sub.entry(sub.clone()).or_insert_with(|| SubscriptionRollup { subscription: sub, ..SubscriptionRollup::default() }).add(row);
        total.add(row);
    }
    (by_sub.into_values().collect(), total)
}

/// Which rows `report` shows: any of `statuses` (all when empty) and any of `resource_groups`
/// (case-insensitive; all when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Statuses to keep.
    pub statuses: Vec<ReportStatus>,
    /// Resource groups to keep.
    pub resource_groups: Vec<String>,
}

impl ReportFilter {
    /// True when `row` passes.
    pub fn keeps(&self, row: &ReportRow) -> bool {
        let status = self.statuses.is_empty() || self.statuses.contains(&row.status);
        let rg = row.cluster.resource_group().unwrap_or_default();
        let group = self.resource_groups.is_empty() || self.resource_groups.iter().any(|g| g.eq_ignore_ascii_case(rg));
        status && group
    }

    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty() && self.resource_groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ActionKind, Blocker};
    use crate::id::ResourceId;

    fn row(sub: &str, rg: &str, name: &str, status: ReportStatus, blockers: Vec<Blocker>) -> ReportRow {
        let cluster = ResourceId::parse(&format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
        ))
        .unwrap();
        ReportRow {
            cluster,
            status,
            identity: None,
            identity_exists: false,
            registries_wired: vec![],
            registries_missing: vec![],
            actions: if status == ReportStatus::ChangesNeeded { vec![ActionKind::CreateIdentity] } else { vec![] },
            blockers,
            error: None,
            detail: None,
        }
    }

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";

    fn rows() -> Vec<ReportRow> {
        let c = |n: &str| {
            ResourceId::parse(&format!("/subscriptions/{A}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{n}"))
                .unwrap()
        };
        vec![
            row(A, "rg-1", "a1", ReportStatus::Compliant, vec![]),
            row(
                A,
                "rg-1",
                "a2",
                ReportStatus::Blocked,
                vec![Blocker::oidc_issuer_disabled(&c("a2")), Blocker::no_kubelet_identity(&c("a2"))],
            ),
            row(A, "RG-2", "a3", ReportStatus::Blocked, vec![Blocker::oidc_issuer_disabled(&c("a3"))]),
            row(B, "rg-1", "b1", ReportStatus::ChangesNeeded, vec![]),
            row(B, "rg-1", "b2", ReportStatus::Excluded, vec![]),
            row(B, "rg-9", "b3", ReportStatus::Unreadable, vec![]),
        ]
    }

    #[test]
    fn rollup_counts_each_subscription_and_blocked_clusters_by_code() {
        let (subs, total) = rollup(&rows());
        assert_eq!(subs.len(), 2);
        let a = &subs[0];
        assert_eq!((a.subscription.as_str(), a.clusters, a.compliant, a.blocked), (A, 3, 1, 2));
        assert_eq!(a.blocked_by_code, BTreeMap::from([("no_kubelet_identity".into(), 1), ("oidc_issuer_disabled".into(), 2)]));
        assert_eq!(a.codes_line(), "no_kubelet_identity 1, oidc_issuer_disabled 2");
        let b = &subs[1];
        assert_eq!((b.clusters, b.changes_needed, b.excluded, b.failed, b.blocked), (3, 1, 1, 1, 0));
        assert_eq!((total.subscription.as_str(), total.clusters, total.blocked, total.failed), ("total", 6, 2, 1));
    }

    #[test]
    fn filters_by_status_and_resource_group_case_insensitively() {
        let rows = rows();
        let keep = |f: &ReportFilter| rows.iter().filter(|r| f.keeps(r)).map(|r| r.cluster.name().to_string()).collect::<Vec<_>>();
        assert_eq!(keep(&ReportFilter::default()).len(), 6);
        let blocked = ReportFilter { statuses: vec![ReportStatus::Blocked], ..ReportFilter::default() };
        assert_eq!(keep(&blocked), ["a2", "a3"]);
        let rg = ReportFilter { resource_groups: vec!["rg-2".into(), "RG-9".into()], ..ReportFilter::default() };
        assert_eq!(keep(&rg), ["a3", "b3"]);
        let both = ReportFilter { statuses: vec![ReportStatus::Blocked], resource_groups: vec!["rg-1".into()] };
        assert_eq!(keep(&both), ["a2"]);
    }
}
