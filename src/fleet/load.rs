//! The bulk reads: Resource Graph queries streamed page by page into the [`Inventory`] (memory holds
//! one page of rows at a time), the selection's cluster enumeration, and the per-subscription pricing.

use serde_json::Value;

use super::inventory::Inventory;
use super::queries::{self, ACR_PULL_ASSIGNMENTS, CLUSTERS, REGISTRIES};
use super::stream::ClusterRow;
use super::{FleetError, Selection};
use crate::arm::{ArmClient, GraphScope};
use crate::config::{IdentityStrategy, Settings};
use crate::core::Policy;
use crate::core::model::PricingView;
use crate::core::names::containers_pricing_id;
use crate::id::ResourceId;

/// The managed clusters of the selection, sorted by ID (one Resource Graph query, no properties).
pub async fn enumerate_clusters(arm: &ArmClient, selection: &Selection) -> Result<Vec<ResourceId>, FleetError> {
    let query = "resources | where type =~ 'microsoft.containerservice/managedclusters' | project id | order by id asc";
    let mut ids: Vec<ResourceId> = Vec::new();
    cluster_rows(arm, selection, query, &mut |id, _| ids.push(id)).await?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Streams the selection's cluster rows, with their parsed ID, to `sink`: over `--management-group`s
/// when given, else the subscriptions; rows outside the selected subscriptions (or without a valid
/// ID) are dropped either way.
async fn cluster_rows(
    arm: &ArmClient,
    selection: &Selection,
    query: &str,
    sink: &mut (dyn FnMut(ResourceId, Value) + Send),
) -> Result<(), FleetError> {
    let mgs = !selection.management_groups.is_empty();
    let scope =
        if mgs { GraphScope::ManagementGroups(&selection.management_groups) } else { GraphScope::Subscriptions(&selection.subscriptions) };
    let mut filter = |row: Value| {
        let id = row.get("id").and_then(Value::as_str).and_then(|s| ResourceId::parse(s).ok());
        if let Some(id) = id.filter(|id| selection.selects(id.subscription_id())) {
            sink(id, row);
        }
    };
    arm.resource_graph_each(scope, query, &mut filter).await.map_err(|e| FleetError::graph("managed clusters", mgs, e))?;
    Ok(())
}

/// Streams the selection's clusters to `sink`, each row reduced to its typed [`ClusterRow`] in the
/// page sink (the JSON row is dropped there), in the order Resource Graph returns them.
pub(super) async fn stream_clusters(
    arm: &ArmClient,
    selection: &Selection,
    sink: &mut (dyn FnMut(ClusterRow) + Send),
) -> Result<(), FleetError> {
    cluster_rows(arm, selection, CLUSTERS, &mut |id, row| {
        sink(match queries::cluster_from_row(row) {
            Ok(view) => ClusterRow::Readable(Box::new(view)),
            Err(e) => ClusterRow::Unreadable(id, e.to_string()),
        })
    })
    .await
}

/// Gating identities (dedicated strategy, selected subscriptions), AcrPull assignments and registries
/// (every subscription in scope): one query after the other — they share the Resource Graph quota.
pub(super) async fn load_surroundings(
    arm: &ArmClient,
    policy: &Policy,
    selection: &Selection,
    inv: &mut Inventory,
) -> Result<(), FleetError> {
    let graph = |what: &'static str| move |e| FleetError::graph(what, false, e);
    if policy.strategy == IdentityStrategy::Dedicated {
        let mut sink = |row: Value| match queries::identity_from_row(&row) {
            Ok(i) => inv.add_identity(i),
            Err(e) => tracing::warn!(error = %e, "bulk observation: skipping an identity row"),
        };
        let scope = GraphScope::Subscriptions(&selection.subscriptions);
        arm.resource_graph_each(scope, &queries::gating_identities(), &mut sink).await.map_err(graph("gating identities"))?;
    }
    let scope = GraphScope::Subscriptions(&selection.scope);
    let mut sink = |row: Value| {
        if let Ok(Some(a)) = queries::assignment_from_row(&row) {
            inv.add_acr_pull(a);
        }
    };
    arm.resource_graph_each(scope, ACR_PULL_ASSIGNMENTS, &mut sink).await.map_err(graph("AcrPull role assignments"))?;
    let mut sink = |row: Value| match queries::registry_from_row(&row) {
        Ok(r) => inv.add_registry(r),
        Err(e) => tracing::warn!(error = %e, "bulk observation: skipping a registry row"),
    };
    arm.resource_graph_each(scope, REGISTRIES, &mut sink).await.map_err(graph("container registries"))?;
    Ok(())
}

/// One subscription's Containers pricing (`None` = absent).
pub(super) async fn read_pricing(arm: &ArmClient, settings: &Settings, sub: &str) -> Result<Option<PricingView>, FleetError> {
    let what = || format!("the Containers pricing of subscription {sub}");
    let id = containers_pricing_id(sub).map_err(|e| FleetError::Shape { what: what(), message: e.to_string() })?;
    let resp = arm
        .get(id.as_str(), &settings.azure.api_versions.pricings)
        .await
        .map_err(|e| FleetError::Read { what: what(), error: Box::new(e) })?;
    resp.map(|r| PricingView::from_json(&r.body).map_err(|e| FleetError::Shape { what: what(), message: e.to_string() })).transpose()
}
