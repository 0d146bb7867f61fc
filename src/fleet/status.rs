//! The fleet's status for the `fleetgate_clusters{status, subscription}` gauge: counted from a
//! backfill's results ([`RunReport::cluster_counts`]), a report ([`FleetReport::cluster_counts`]) or,
//! for the worker's drift resync, from one bulk observation ([`fleet_status`]: the report's Resource
//! Graph reads plus one pricing GET per subscription — no per-cluster read, no write).

use super::observe::{BulkOptions, bulk_plan_map};
use super::report::{FleetReport, ReportStatus, report_row};
use super::summary::{ClusterStatus, RunReport};
use super::{FicMode, FleetError, Selection};
use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::Policy;
use crate::telemetry::metrics::{ClusterCounts, GaugeStatus};

/// The gauge status of a report row (unreadable = failed).
pub fn report_gauge_status(status: ReportStatus) -> GaugeStatus {
    match status {
        ReportStatus::Compliant => GaugeStatus::Compliant,
        ReportStatus::ChangesNeeded => GaugeStatus::ChangesNeeded,
        ReportStatus::Blocked => GaugeStatus::Blocked,
        ReportStatus::Excluded => GaugeStatus::Excluded,
        ReportStatus::Unreadable => GaugeStatus::Failed,
    }
}

/// The gauge status of a backfill result: converged is compliant; what is still to do (planned,
/// enqueued, refused by a saved plan, not reached, interrupted) needs changes.
pub fn run_gauge_status(status: ClusterStatus) -> GaugeStatus {
    match status {
        ClusterStatus::Compliant | ClusterStatus::Converged => GaugeStatus::Compliant,
        ClusterStatus::Blocked => GaugeStatus::Blocked,
        ClusterStatus::Excluded => GaugeStatus::Excluded,
        ClusterStatus::Failed => GaugeStatus::Failed,
        ClusterStatus::ChangesNeeded
        | ClusterStatus::Enqueued
        | ClusterStatus::ChangedSincePlan
        | ClusterStatus::NotReached
        | ClusterStatus::Interrupted => GaugeStatus::ChangesNeeded,
    }
}

impl RunReport {
    /// Clusters per subscription and gauge status.
    pub fn cluster_counts(&self) -> ClusterCounts {
        let mut counts = ClusterCounts::default();
        for r in &self.clusters {
            counts.add(r.cluster.subscription_id(), run_gauge_status(r.status));
        }
        counts
    }
}

impl FleetReport {
    /// Clusters per subscription and gauge status.
    pub fn cluster_counts(&self) -> ClusterCounts {
        let mut counts = ClusterCounts::default();
        for r in &self.clusters {
            counts.add(r.cluster.subscription_id(), report_gauge_status(r.status));
        }
        counts
    }
}

/// Counts the selection's clusters by status from one bulk observation; every selected subscription
/// is included (a subscription without clusters reads 0).
pub async fn fleet_status(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
) -> Result<ClusterCounts, FleetError> {
    let options = BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: settings.backfill.concurrency };
    let rows = bulk_plan_map(arm, settings, policy, selection, options, report_row).await?;
    let mut counts = ClusterCounts::default();
    for sub in &selection.subscriptions {
        counts.include(sub);
    }
    for r in &rows.items {
        counts.add(r.cluster.subscription_id(), report_gauge_status(r.status));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::report_fixture::fleet;

    #[test]
    fn report_rows_count_under_their_gauge_status() {
        let counts = fleet().cluster_counts();
        let sub1 = "00000000-0000-0000-0000-000000000001";
        assert_eq!(counts.total(), 12);
        assert_eq!(
            [GaugeStatus::Compliant, GaugeStatus::ChangesNeeded, GaugeStatus::Blocked, GaugeStatus::Excluded, GaugeStatus::Failed]
                .map(|s| counts.get(sub1, s)),
            [1, 1, 1, 1, 0]
        );
        assert_eq!(counts.get("00000000-0000-0000-0000-000000000002", GaugeStatus::Failed), 1, "unreadable counts as failed");
    }

    #[test]
    fn backfill_outcomes_map_to_what_is_left_to_do() {
        assert_eq!(run_gauge_status(ClusterStatus::Converged), GaugeStatus::Compliant);
        assert_eq!(run_gauge_status(ClusterStatus::Enqueued), GaugeStatus::ChangesNeeded);
        assert_eq!(run_gauge_status(ClusterStatus::NotReached), GaugeStatus::ChangesNeeded);
        assert_eq!(run_gauge_status(ClusterStatus::Failed), GaugeStatus::Failed);
    }
}
