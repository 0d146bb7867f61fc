//! `fleetgate report`: per cluster — status, registries wired / missing, the gating identity, pending
//! actions, blockers with their fix — and fleet totals, from the bulk observation alone (no per-cluster
//! reads, no writes). Rendering is in `report_format`.

use serde::Serialize;

use super::observe::{BulkEntry, BulkResult, Verdict};
use super::report_rollup::{ReportFilter, SubscriptionRollup, rollup};
use crate::core::gating::{GatingAddition, has_entry};
use crate::core::{ActionKind, Blocker, Observation, Plan, PlanStatus};
use crate::id::ResourceId;

/// A cluster's status in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Gated deployment is fully in place.
    Compliant,
    /// fleetgate would make changes (see `actions`).
    ChangesNeeded,
    /// Something fleetgate must not fix is in the way (see `blockers`).
    Blocked,
    /// Opted out by tag.
    Excluded,
    /// Its Resource Graph row could not be read (see `error`).
    Unreadable,
}

impl ReportStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::ChangesNeeded => "changes_needed",
            Self::Blocked => "blocked",
            Self::Excluded => "excluded",
            Self::Unreadable => "unreadable",
        }
    }
}

/// One cluster's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The cluster.
    pub cluster: ResourceId,
    /// Status.
    pub status: ReportStatus,
    /// The gating identity (dedicated or kubelet), when it can be named.
    pub identity: Option<ResourceId>,
    /// Whether that identity exists.
    pub identity_exists: bool,
    /// Registries with AcrPull for the identity **and** a gating entry.
    pub registries_wired: Vec<ResourceId>,
    /// Registries the cluster uses that lack either.
    pub registries_missing: Vec<ResourceId>,
    /// Actions fleetgate would take, in order.
    pub actions: Vec<ActionKind>,
    /// Blockers, each with what to do.
    pub blockers: Vec<Blocker>,
    /// Why the row is unreadable.
    pub error: Option<String>,
    /// One line: the error, the first blocker, or the pending actions.
    pub detail: Option<String>,
}

/// Fleet totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Clusters reported.
    pub clusters: usize,
    /// Compliant.
    pub compliant: usize,
    /// Changes needed.
    pub changes_needed: usize,
    /// Blocked.
    pub blocked: usize,
    /// Excluded.
    pub excluded: usize,
    /// Unreadable.
    pub unreadable: usize,
}

/// The report: `{"clusters": [rows], "totals": {…}, "subscriptions": [roll-up], "warnings": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetReport {
    /// One row per cluster, sorted by ID.
    pub clusters: Vec<ReportRow>,
    /// Totals.
    pub totals: Totals,
    /// Per-subscription roll-up, by subscription ID.
    pub subscriptions: Vec<SubscriptionRollup>,
    /// Reads that failed (their clusters may show changes that are not needed).
    pub warnings: Vec<String>,
}

impl FleetReport {
    /// Builds the report from a bulk observation that kept its entries.
    pub fn from_bulk(bulk: &BulkResult) -> Self {
        Self::from_rows(bulk.items.iter().cloned().map(report_row).collect(), bulk.warnings.clone())
    }

    /// Builds the report from rows (sorted here by cluster ID) and the observation's warnings.
    pub fn from_rows(mut clusters: Vec<ReportRow>, warnings: Vec<String>) -> Self {
        clusters.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        let n = |s: ReportStatus| clusters.iter().filter(|r| r.status == s).count();
        let totals = Totals {
            clusters: clusters.len(),
            compliant: n(ReportStatus::Compliant),
            changes_needed: n(ReportStatus::ChangesNeeded),
            blocked: n(ReportStatus::Blocked),
            excluded: n(ReportStatus::Excluded),
            unreadable: n(ReportStatus::Unreadable),
        };
        let subscriptions = rollup(&clusters).0;
        Self { clusters, totals, subscriptions, warnings }
    }

    /// The report of the rows `filter` keeps (totals and roll-up recounted).
    pub fn filtered(self, filter: &ReportFilter) -> Self {
        if filter.is_empty() {
            return self;
        }
        let rows = self.clusters.into_iter().filter(|r| filter.keeps(r)).collect();
        Self::from_rows(rows, self.warnings)
    }
}

/// One cluster's row (use with [`super::bulk_plan_map`] so plans are not kept).
pub fn report_row(entry: BulkEntry) -> ReportRow {
    match entry.verdict {
        Verdict::Planned { plan, wired, .. } => row(&plan, &wired),
        Verdict::Unreadable { error } => ReportRow {
            cluster: entry.cluster,
            status: ReportStatus::Unreadable,
            identity: None,
            identity_exists: false,
            registries_wired: Vec::new(),
            registries_missing: Vec::new(),
            actions: Vec::new(),
            blockers: Vec::new(),
            detail: Some(format!("unreadable in Resource Graph: {error}")),
            error: Some(error),
        },
    }
}

fn row(plan: &Plan, wired: &[ResourceId]) -> ReportRow {
    let status = match plan.status {
        PlanStatus::Compliant => ReportStatus::Compliant,
        PlanStatus::ChangesNeeded => ReportStatus::ChangesNeeded,
        PlanStatus::Blocked => ReportStatus::Blocked,
        PlanStatus::Excluded => ReportStatus::Excluded,
    };
    let (wired, missing): (Vec<ResourceId>, Vec<ResourceId>) = plan.registries.iter().cloned().partition(|r| wired.contains(r));
    // An excluded cluster is not observed beyond its document: its identity is unknown, not absent.
    let identity = plan.identity.resource_id.clone().filter(|_| status != ReportStatus::Excluded);
    ReportRow {
        cluster: plan.cluster.clone(),
        status,
        identity,
        identity_exists: plan.identity.exists,
        registries_wired: wired,
        registries_missing: missing,
        actions: plan.actions.iter().map(|a| a.kind()).collect(),
        blockers: plan.blockers.clone(),
        error: None,
        detail: match plan.status {
            PlanStatus::Blocked => plan.blockers.first().map(|b| format!("{}: {}", b.code, b.message)),
            PlanStatus::ChangesNeeded => Some(super::changes::action_summary(&plan.actions.iter().map(|a| a.kind()).collect::<Vec<_>>())),
            PlanStatus::Compliant | PlanStatus::Excluded => None,
        },
    }
}

/// The plan's registries on which the gating identity holds AcrPull and the cluster has its gating entry.
pub(super) fn wired_registries(plan: &Plan, obs: &Observation) -> Vec<ResourceId> {
    plan.registries.iter().filter(|r| is_wired(plan, obs, r)).cloned().collect()
}

/// True when the gating identity holds AcrPull on `registry` and the cluster has its gating entry.
fn is_wired(plan: &Plan, obs: &Observation, registry: &ResourceId) -> bool {
    let identity = &plan.identity;
    let (Some(id), Some(principal), true) = (&identity.resource_id, &identity.principal_id, identity.exists) else { return false };
    let acr_pull = obs.identity_acr_pulls.iter().any(|a| a.grants_acr_pull_at(principal, registry));
    let login_server = obs.registry(registry).and_then(|r| r.login_server()).map(str::to_string);
    let addition = GatingAddition { registry: registry.clone(), login_server, azure_container_registry: String::new() };
    let entries = obs.cluster_view().map(|c| c.gating_entries()).unwrap_or_default();
    acr_pull && has_entry(entries, &addition, id, identity.client_id.as_deref(), Some(principal))
}
