//! The bulk observation (IO): Resource Graph for clusters, gating identities, AcrPull assignments and
//! registries; one Containers-pricing GET per subscription that matters (Resource Graph has no pricing
//! table in the simulator); then one [`Observation`] and one [`Plan`] per cluster from the
//! [`Inventory`]. A compliant cluster costs zero per-cluster reads.
//!
//! Federated credentials per [`FicMode`]: `Trust` reads none; `Verify` lists the credentials of the
//! gating identity of every cluster whose plan is compliant but for the credential (one read each).
//! A listing that fails leaves that cluster "changes needed", so the per-cluster path re-checks it.
//!
//! Resource Graph lags ARM: these plans decide only *which* clusters need the per-cluster path, which
//! re-reads everything from ARM (and the cluster for its ETag) before any write. A stale "compliant"
//! costs nothing now and is caught by the next run or the worker's resync.

use futures::{StreamExt, TryFutureExt, stream};
use serde_json::Value;

use super::inventory::{FicMode, Inventory};
use super::queries::{self, ACR_PULL_ASSIGNMENTS, CLUSTERS, REGISTRIES};
use super::{FleetError, Selection};
use crate::arm::ArmClient;
use crate::config::{IdentityStrategy, Settings};
use crate::core::model::{FicView, PricingView};
use crate::core::names::containers_pricing_id;
use crate::core::{Action, Observation, Plan, Policy, plan};
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
        /// What it was planned from.
        observation: Box<Observation>,
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

/// The result of a bulk observation.
#[derive(Debug, Clone, Default)]
pub struct BulkResult {
    /// One entry per cluster, sorted by ID.
    pub entries: Vec<BulkEntry>,
    /// Reads that failed without stopping the run (the affected clusters were left to the per-cluster path).
    pub warnings: Vec<String>,
    /// Subscriptions whose pricing was read.
    pub pricing_reads: usize,
    /// Identities whose credentials were listed.
    pub fic_listings: usize,
}

/// The managed clusters of the selection, sorted by ID (one Resource Graph query, no properties).
pub async fn enumerate_clusters(arm: &ArmClient, selection: &Selection) -> Result<Vec<ResourceId>, FleetError> {
    let query = "resources | where type =~ 'microsoft.containerservice/managedclusters' | project id | order by id asc";
    let rows = cluster_rows(arm, selection, query).await?;
    let mut ids: Vec<ResourceId> =
        rows.iter().filter_map(|r| r.get("id").and_then(Value::as_str)).filter_map(|s| ResourceId::parse(s).ok()).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Cluster rows of the selection: over `--management-group`s when given, else the subscriptions;
/// rows outside the selected subscriptions are dropped either way.
async fn cluster_rows(arm: &ArmClient, selection: &Selection, query: &str) -> Result<Vec<Value>, FleetError> {
    let mgs = !selection.management_groups.is_empty();
    let rows = if mgs {
        arm.resource_graph_management_groups(&selection.management_groups, query).await
    } else {
        arm.resource_graph(&selection.subscriptions, query).await
    }
    .map_err(|e| FleetError::graph("managed clusters", mgs, e))?;
    Ok(rows.into_iter().filter(|r| row_subscription(r).is_some_and(|s| selection.selects(&s))).collect())
}

fn row_subscription(row: &Value) -> Option<String> {
    let id = ResourceId::parse(row.get("id")?.as_str()?).ok()?;
    Some(id.subscription_id().to_string())
}

/// Observes and plans every selected cluster from bulk reads.
pub async fn bulk_plan(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    selection: &Selection,
    options: BulkOptions,
) -> Result<BulkResult, FleetError> {
    let mut inv = Inventory::default();
    let mut out = BulkResult::default();
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
    let mut plans: Vec<(ResourceId, Plan, Observation)> = observe_all(&inv, policy, options.fic_mode);
    if options.fic_mode == FicMode::Verify {
        out.fic_listings = verify_fics(arm, settings, policy, &mut inv, &mut plans, options.concurrency, &mut out.warnings).await;
    }
    let mut entries: Vec<BulkEntry> = plans
        .into_iter()
        .map(|(cluster, plan, obs)| BulkEntry { cluster, verdict: Verdict::Planned { plan: Box::new(plan), observation: Box::new(obs) } })
        .collect();
    for (id, error) in &inv.unreadable {
        if let Ok(cluster) = ResourceId::parse(id) {
            entries.push(BulkEntry { cluster, verdict: Verdict::Unreadable { error: error.clone() } });
        }
    }
    entries.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    out.entries = entries;
    Ok(out)
}

/// The cluster rows, parsed, sorted by ID and cut to `max`.
async fn load_clusters(arm: &ArmClient, selection: &Selection, max: Option<usize>, inv: &mut Inventory) -> Result<(), FleetError> {
    let mut rows: Vec<(String, Value)> = cluster_rows(arm, selection, CLUSTERS)
        .await?
        .into_iter()
        .map(|r| (r.get("id").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(), r))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.dedup_by(|a, b| a.0 == b.0);
    rows.truncate(max.unwrap_or(usize::MAX));
    for (key, row) in rows {
        match queries::cluster_from_row(&row) {
            Ok((view, _)) => inv.clusters.push(view),
            Err(e) => inv.unreadable.push((row.get("id").and_then(Value::as_str).unwrap_or(&key).to_string(), e.to_string())),
        }
    }
    Ok(())
}

/// Identities (dedicated strategy), AcrPull assignments and registries, as three Graph queries.
async fn load_surroundings(arm: &ArmClient, policy: &Policy, selection: &Selection, inv: &mut Inventory) -> Result<(), FleetError> {
    let identity_query = queries::gating_identities();
    let identities = async {
        if policy.strategy == IdentityStrategy::Dedicated {
            arm.resource_graph(&selection.subscriptions, &identity_query)
                .await
                .map_err(|e| FleetError::graph("gating identities", false, e))
        } else {
            Ok(Vec::new())
        }
    };
    let assignments =
        arm.resource_graph(&selection.scope, ACR_PULL_ASSIGNMENTS).map_err(|e| FleetError::graph("AcrPull role assignments", false, e));
    let registries = arm.resource_graph(&selection.scope, REGISTRIES).map_err(|e| FleetError::graph("container registries", false, e));
    let (identities, assignments, registries) = futures::try_join!(identities, assignments, registries)?;
    for row in &identities {
        match queries::identity_from_row(row) {
            Ok(i) => inv.add_identity(i),
            Err(e) => tracing::warn!(error = %e, "bulk observation: skipping an identity row"),
        }
    }
    for row in &assignments {
        if let Ok(Some(a)) = queries::assignment_from_row(row) {
            inv.add_acr_pull(a);
        }
    }
    for row in &registries {
        match queries::registry_from_row(row) {
            Ok(r) => inv.add_registry(r),
            Err(e) => tracing::warn!(error = %e, "bulk observation: skipping a registry row"),
        }
    }
    Ok(())
}

/// Subscriptions whose pricing some cluster's plan needs (none when the plan is not managed).
fn pricing_subscriptions(inv: &Inventory, policy: &Policy, mode: FicMode) -> Vec<String> {
    let mut subs: Vec<String> = Vec::new();
    for view in &inv.clusters {
        let obs = inv.observe(view, policy, mode);
        let registry_ids: Vec<ResourceId> = obs.registries.iter().map(|r| r.id.clone()).collect();
        for sub in policy.pricing_subscriptions(&view.id, registry_ids.iter()) {
            let sub = sub.to_ascii_lowercase();
            if !subs.contains(&sub) && !policy.is_excluded(view) {
                subs.push(sub);
            }
        }
    }
    subs
}

async fn read_pricing(arm: &ArmClient, settings: &Settings, sub: &str) -> Result<Option<PricingView>, FleetError> {
    let what = || format!("the Containers pricing of subscription {sub}");
    let id = containers_pricing_id(sub).map_err(|e| FleetError::Shape { what: what(), message: e.to_string() })?;
    let resp = arm
        .get(id.as_str(), &settings.azure.api_versions.pricings)
        .await
        .map_err(|e| FleetError::Read { what: what(), error: Box::new(e) })?;
    resp.map(|r| PricingView::from_json(&r.body).map_err(|e| FleetError::Shape { what: what(), message: e.to_string() })).transpose()
}

/// One `(cluster, plan, observation)` per readable cluster, in `inv.clusters` order.
fn observe_all(inv: &Inventory, policy: &Policy, mode: FicMode) -> Vec<(ResourceId, Plan, Observation)> {
    inv.clusters
        .iter()
        .map(|view| {
            let obs = inv.observe(view, policy, mode);
            (view.id.clone(), plan(&obs, policy), obs)
        })
        .collect()
}

/// Lists the credentials of identities whose cluster lacks only the credential, and re-plans those.
async fn verify_fics(
    arm: &ArmClient,
    settings: &Settings,
    policy: &Policy,
    inv: &mut Inventory,
    plans: &mut [(ResourceId, Plan, Observation)],
    concurrency: usize,
    warnings: &mut Vec<String>,
) -> usize {
    let mut identities: Vec<ResourceId> = plans.iter().filter_map(|(_, p, _)| only_missing_fic(p)).collect();
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
    for ((_, p, obs), view) in plans.iter_mut().zip(&inv.clusters) {
        if only_missing_fic(p).is_some() {
            *obs = inv.observe(view, policy, FicMode::Verify);
            *p = plan(obs, policy);
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
