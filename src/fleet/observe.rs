//! The bulk observation (IO): Resource Graph for clusters, gating identities, AcrPull assignments and
//! registries; one Containers-pricing GET per subscription that matters (Resource Graph has no pricing
//! table in the simulator); then one [`Observation`](crate::core::Observation) and one [`Plan`] per cluster from the
//! [`Inventory`]. A compliant cluster costs zero per-cluster reads.
//!
//! Memory: the small fleet-wide indexes are loaded first, then the cluster query (the big one) is
//! planned page by page as it streams in (`fleet::planner`): a cluster's view is dropped once `map`
//! has turned its entry into whatever the caller keeps.
//!
//! Federated credentials per [`FicMode`]: `Trust` reads none; `Verify` lists the credentials of the
//! gating identity of every cluster whose plan is compliant but for the credential (one read each).
//! A listing that fails leaves that cluster "changes needed", so the per-cluster path re-checks it.
//!
//! Resource Graph lags ARM: these plans decide only *which* clusters need the per-cluster path, which
//! re-reads everything from ARM (and the cluster for its ETag) before any write. A stale "compliant"
//! costs nothing now and is caught by the next run or the worker's resync.

use tokio::sync::mpsc;

use super::inventory::{FicMode, Inventory};
use super::load::{load_surroundings, stream_clusters};
use super::planner::{BulkPlanner, Replanner};
use super::stream::{Admission, ClusterRow};
use super::{FleetError, Selection};
use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::model::ClusterView;
use crate::core::{Plan, Policy};
use crate::id::ResourceId;

/// How to observe in bulk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOptions {
    /// Federated credentials: trust or verify.
    pub fic_mode: FicMode,
    /// Only the first N clusters (by ID).
    pub max_clusters: Option<usize>,
    /// Reads in flight at once (credential listings).
    pub concurrency: usize,
}

/// One cluster's bulk verdict.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Observed and planned.
    Planned {
        /// The plan.
        plan: Box<Plan>,
        /// The plan's registries that are fully wired (AcrPull for the gating identity and a gating
        /// entry). The observation itself is not kept: memory at fleet scale.
        wired: Vec<ResourceId>,
        /// The cluster as Resource Graph showed it (what the plan was made from; the per-cluster path
        /// compares it with ARM before writing).
        seen: Box<ClusterView>,
    },
    /// Its Resource Graph row could not be read (the per-cluster path will say why from ARM).
    Unreadable {
        /// What is wrong with the row.
        error: String,
    },
}

/// A cluster and its bulk verdict.
#[derive(Debug, Clone)]
pub struct BulkEntry {
    /// The cluster.
    pub cluster: ResourceId,
    /// Its verdict.
    pub verdict: Verdict,
}

impl BulkEntry {
    /// The plan, when the row was readable.
    pub fn plan(&self) -> Option<&Plan> {
        match &self.verdict {
            Verdict::Planned { plan, .. } => Some(plan),
            Verdict::Unreadable { .. } => None,
        }
    }
}

/// The result of a bulk observation, each entry mapped by the caller (see [`bulk_plan_map`]).
#[derive(Debug, Clone)]
pub struct BulkMapped<T> {
    /// One item per cluster: the readable ones in the order Resource Graph returned them (by ID), then
    /// the unreadable ones.
    pub items: Vec<T>,
    /// Reads that failed without stopping the run (the affected clusters were left to the per-cluster path).
    pub warnings: Vec<String>,
    /// Subscriptions whose pricing was read.
    pub pricing_reads: usize,
    /// Identities whose credentials were listed.
    pub fic_listings: usize,
}

/// The result of a bulk observation with every entry kept.
pub type BulkResult = BulkMapped<BulkEntry>;

impl<T> Default for BulkMapped<T> {
    fn default() -> Self {
        Self { items: Vec::new(), warnings: Vec::new(), pricing_reads: 0, fic_listings: 0 }
    }
}

/// Observes and plans every selected cluster from bulk reads, keeping every entry.
pub async fn bulk_plan(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
    options: BulkOptions,
) -> Result<BulkResult, FleetError> {
    bulk_plan_map(arm, settings, policy, selection, options, |entry| entry).await
}

/// Observes and plans every selected cluster from bulk reads, handing each entry to `map` as soon as
/// it is planned, so only what `map` keeps stays in memory (a fleet's plans are large; a backfill keeps
/// one summary line per cluster and the plans that need writes).
///
/// The fleet-wide indexes are loaded first; then the cluster query streams page by page, each row
/// reduced to its typed view in the page sink and planned as it arrives (see `fleet::planner`).
/// Items come in the order Resource Graph returns the clusters (the query orders by ID; with
/// `max_clusters`, in ID order), the unreadable ones last.
pub async fn bulk_plan_map<T>(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
    options: BulkOptions,
    map: impl FnMut(BulkEntry) -> T,
) -> Result<BulkMapped<T>, FleetError> {
    Ok(bulk_observe(arm, settings, policy, selection, options, map).await?.0)
}

/// [`bulk_plan_map`], also returning the [`Replanner`] over the loaded indexes. The indexes are
/// loaded before the first cluster row is known, so a selection without clusters still costs their
/// (three at most) Resource Graph queries.
pub(super) async fn bulk_observe<T>(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
    options: BulkOptions,
    map: impl FnMut(BulkEntry) -> T,
) -> Result<(BulkMapped<T>, Replanner), FleetError> {
    let mut inv = Inventory::default();
    load_surroundings(arm, policy, selection, &mut inv).await?;
    let mut planner = BulkPlanner::new(arm, settings, policy, options, inv, map);
    let mut admission = Admission::new(options.max_clusters);
    // The page sink cannot await; the rows it parses are planned here, concurrently with the paging
    // (a pricing read in between only delays planning, never the next page).
    let (tx, mut rx) = mpsc::unbounded_channel::<ClusterRow>();
    let produce = async move {
        let mut send = |row: ClusterRow| {
            // The receiver lives until this future has finished.
            let _ = tx.send(row);
        };
        stream_clusters(arm, selection, &mut send).await
    };
    let consume = async {
        while let Some(row) = rx.recv().await {
            if let Some(row) = admission.admit(row) {
                planner.take(row).await;
            }
        }
    };
    let (streamed, ()) = tokio::join!(produce, consume);
    streamed?;
    for row in admission.finish() {
        planner.take(row).await;
    }
    Ok(planner.finish().await)
}
