//! The bulk observation (IO): Resource Graph for clusters, gating identities, AcrPull assignments and
//! registries; one Containers-pricing GET per subscription that matters (Resource Graph has no pricing
//! table in the simulator); then one [`Observation`](crate::core::Observation) and one [`Plan`] per cluster from the
//! [`Inventory`]. A compliant cluster costs zero per-cluster reads.
//!
//! Federated credentials per [`FicMode`]: `Trust` reads none; `Verify` lists the credentials of the
//! gating identity of every cluster whose plan is compliant but for the credential (one read each).
//! A listing that fails leaves that cluster "changes needed", so the per-cluster path re-checks it.
//!
//! Resource Graph lags ARM: these plans decide only *which* clusters need the per-cluster path, which
//! re-reads everything from ARM (and the cluster for its ETag) before any write. A stale "compliant"
//! costs nothing now and is caught by the next run or the worker's resync.

use futures::{StreamExt, stream};

use super::inventory::{FicMode, Inventory};
use super::load::{load_clusters, load_surroundings, read_pricing};
use super::report::wired_registries;
use super::{FleetError, Selection};
use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::model::{ClusterView, FicView};
use crate::core::{Action, Plan, Policy, plan};
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
    /// One item per cluster: the readable ones in ID order, then the unreadable ones.
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
/// one summary line per cluster).
pub async fn bulk_plan_map<T>(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
    options: BulkOptions,
    mut map: impl FnMut(BulkEntry) -> T,
) -> Result<BulkMapped<T>, FleetError> {
    let mut inv = Inventory::default();
    let mut out = BulkMapped::default();
    load_clusters(arm, selection, options.max_clusters, &mut inv).await?;
    if !inv.clusters.is_empty() {
        load_surroundings(arm, policy, selection, &mut inv).await?;
    }
    let needed = pricing_subscriptions(&inv, policy, options.fic_mode);
    out.pricing_reads = needed.len();
    for sub in needed {
        match read_pricing(arm, settings, &sub).await {
            Ok(p) => inv.set_pricing(&sub, p),
            Err(e) => out.warnings.push(e.to_string()),
        }
    }
    if options.fic_mode == FicMode::Verify {
        out.fic_listings = verify_fics(arm, settings, policy, &mut inv, options.concurrency, &mut out.warnings).await;
    }
    out.items.reserve(inv.clusters.len() + inv.unreadable.len());
    for view in &inv.clusters {
        let (plan, wired) = plan_one(&inv, view, policy, options.fic_mode);
        let verdict = Verdict::Planned { plan: Box::new(plan), wired, seen: Box::new(view.clone()) };
        out.items.push(map(BulkEntry { cluster: view.id.clone(), verdict }));
    }
    for (cluster, error) in std::mem::take(&mut inv.unreadable) {
        out.items.push(map(BulkEntry { cluster, verdict: Verdict::Unreadable { error } }));
    }
    Ok(out)
}

/// Subscriptions whose pricing some cluster's plan needs (none when the plan is not managed).
fn pricing_subscriptions(inv: &Inventory, policy: &Policy, mode: FicMode) -> Vec<String> {
    let mut subs: Vec<String> = Vec::new();
    for view in inv.clusters.iter().filter(|v| !policy.is_excluded(v)) {
        let obs = inv.observe(view, policy, mode);
        for sub in policy.pricing_subscriptions(&view.id, obs.registries.iter().map(|r| &r.id)) {
            let sub = sub.to_ascii_lowercase();
            if !subs.contains(&sub) {
                subs.push(sub);
            }
        }
    }
    subs
}

/// Observes one cluster from the inventory and plans it (with its wired registries); the observation
/// is dropped.
fn plan_one(inv: &Inventory, view: &ClusterView, policy: &Policy, mode: FicMode) -> (Plan, Vec<ResourceId>) {
    let obs = inv.observe(view, policy, mode);
    let plan = plan(&obs, policy);
    let wired = wired_registries(&plan, &obs);
    (plan, wired)
}

/// Lists the credentials of the identities whose cluster lacks only the credential (one read each);
/// the listings then count instead of trust. Returns how many identities were listed.
async fn verify_fics(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    inv: &mut Inventory,
    concurrency: usize,
    warnings: &mut Vec<String>,
) -> usize {
    let mut identities: Vec<ResourceId> =
        inv.clusters.iter().filter_map(|view| only_missing_fic(&plan_one(inv, view, policy, FicMode::Verify).0)).collect();
    identities.sort();
    identities.dedup();
    let version = settings.azure.api_versions.managed_identity.as_str();
    let listed: Vec<(ResourceId, Result<Vec<FicView>, String>)> = stream::iter(identities)
        .map(|id| async move {
            let path = format!("{id}/federatedIdentityCredentials");
            let items = arm.list(&path, version, None).await.map_err(|e| e.to_string());
            let parsed = items.and_then(|items| items.iter().map(|v| FicView::from_json(v).map_err(|e| e.to_string())).collect());
            (id, parsed)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let count = listed.len();
    for (id, result) in listed {
        match result {
            Ok(fics) => inv.set_fics(&id, fics),
            Err(e) => warnings.push(format!("listing the federated credentials of {id} failed: {e}")),
        }
    }
    count
}

/// The identity of a plan whose only action is creating the credential on an existing identity.
fn only_missing_fic(p: &Plan) -> Option<ResourceId> {
    match p.actions.as_slice() {
        [Action::CreateFederatedCredential { identity, .. }] if p.identity.exists => Some(identity.clone()),
        _ => None,
    }
}
