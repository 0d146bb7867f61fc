//! The simulated ARM surface: routing and one module per resource type.
//!
//! Routes (every one requires `api-version`; IDs match case-insensitively):
//!
//! | route | methods | module |
//! |---|---|---|
//! | `/subscriptions/{s}[/resourceGroups/{rg}]/providers/Microsoft.ContainerService/managedClusters` | GET (list) | [`clusters`] |
//! | `…/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}` | GET, PUT (LRO) | [`clusters`] |
//! | `/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/operations/{id}` | GET | [`operations`] |
//! | `/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/operationresults/{id}` | GET | [`operations`] |
//! | `/subscriptions/{s}/resourcegroups/{rg}` | GET | [`resource_groups`] |
//! | `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]` | GET (list, `$filter=roleName eq '…'`), GET | [`role_definitions`] |
//! | `…[/resourceGroups/{rg}]/providers/Microsoft.ManagedIdentity/userAssignedIdentities` | GET (list) | [`identities`] |
//! | `…/userAssignedIdentities/{name}` | GET, PUT, DELETE | [`identities`] |
//! | `…/userAssignedIdentities/{name}/federatedIdentityCredentials[/{fic}]` | GET (list), GET, PUT, DELETE | [`fics`] |
//! | `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]` | GET (list, `$filter`), GET, PUT, DELETE | [`roles`] |
//! | `…[/resourceGroups/{rg}]/providers/Microsoft.ContainerRegistry/registries[/{name}]` | GET | [`registries`] |
//! | `{scope}/providers/Microsoft.Security/pricings[/{name}]` | GET (list), GET, PUT | [`pricing`] |
//! | `/providers/Microsoft.ResourceGraph/resources` | POST | [`graph`] |
//!
//! A subscription that is not in the fleet answers `404 SubscriptionNotFound`; a resource group that holds
//! nothing and is not declared answers `404 ResourceGroupNotFound`.

pub mod cluster_fields;
pub mod clusters;
pub mod common;
pub mod fics;
pub mod generator;
pub mod graph;
pub mod identities;
pub mod kql;
pub mod kql_eval;
pub mod kql_lex;
pub mod operations;
pub mod pricing;
pub mod registries;
pub mod resource_groups;
pub mod role_definitions;
pub mod roles;
pub mod route;
pub mod seed;
pub mod seed_cluster;
pub mod versions;

#[cfg(test)]
mod fidelity_tests;
#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
pub(crate) mod test_support;

use tokio::time::Instant;

use self::route::{ResPath, Route};
use super::http::{SimRequest, SimResponse};
use super::state::SimState;

/// Answers one ARM request against `state`.
pub(crate) fn handle(state: &mut SimState, req: &SimRequest, now: Instant) -> SimResponse {
    let version = match versions::require(req) {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let route = match Route::parse(&req.path) {
        Ok(route) => route,
        Err(resp) => return resp,
    };
    if let Err(resp) = check_scope(state, &route) {
        return resp;
    }
    let m = req.method.as_str();
    match (route, m) {
        (Route::Graph, "POST") => graph::query(state, req, now),
        (Route::Subscription { sub }, "GET") => subscription(state, &sub),
        (Route::ClusterList { sub, rg }, "GET") => clusters::list(state, req, now, &version, &sub, rg.as_deref()),
        (Route::Cluster(p), "GET") => clusters::get(state, now, &version, &p),
        (Route::Cluster(p), "PUT") => clusters::put(state, req, now, &version, &p),
        (Route::ClusterOperation { sub, location, id }, "GET") => operations::status(state, now, &sub, &location, &id),
        (Route::ClusterOperationResult { sub, location, id }, "GET") => operations::result(state, &req.base_url, now, &sub, &location, &id),
        (Route::ResourceGroup { sub, rg }, "GET") => resource_groups::get(state, &sub, &rg),
        (Route::RoleDefinitionList { scope }, "GET") => role_definitions::list(req, &scope),
        (Route::RoleDefinition { scope, id }, "GET") => role_definitions::get(&scope, &id),
        (Route::IdentityList { sub, rg }, "GET") => identities::list(state, req, &version, &sub, rg.as_deref()),
        (Route::Identity(p), "GET") => identities::get(state, &version, &p),
        (Route::Identity(p), "PUT") => identities::put(state, req, now, &version, &p),
        (Route::Identity(p), "DELETE") => identities::delete(state, &p),
        (Route::FicList(p), "GET") => fics::list(state, req, &p),
        (Route::Fic(p, name), "GET") => fics::get(state, &p, &name),
        (Route::Fic(p, name), "PUT") => fics::put(state, req, now, &p, &name),
        (Route::Fic(p, name), "DELETE") => fics::delete(state, now, &p, &name),
        (Route::RegistryList { sub, rg }, "GET") => registries::list(state, req, &sub, rg.as_deref()),
        (Route::Registry(p), "GET") => registries::get(state, &p),
        (Route::RoleAssignmentList { scope }, "GET") => roles::list(state, req, &scope),
        (Route::RoleAssignment { scope, name }, "GET") => roles::get(state, &scope, &name),
        (Route::RoleAssignment { scope, name }, "PUT") => roles::put(state, req, now, &scope, &name),
        (Route::RoleAssignment { scope, name }, "DELETE") => roles::delete(state, &scope, &name),
        (Route::PricingList { scope }, "GET") => pricing::list(state, &scope),
        (Route::Pricing { scope, name }, "GET") => pricing::get(state, &scope, &name),
        (Route::Pricing { scope, name }, "PUT") => pricing::put(state, req, now, &scope, &name),
        (route, _) => common::method_not_allowed(m, route.describe()),
    }
}

/// The subscription (and, for resources in a group, the resource group) must exist.
/// `GET /subscriptions/{sub}` (Microsoft.Resources): what `fleetgate doctor` reads to prove reachability.
fn subscription(state: &SimState, sub: &str) -> SimResponse {
    let id = state.subscriptions.get(&sub.to_ascii_lowercase()).map_or(sub, |r| r.id.as_str());
    SimResponse::json(
        200,
        serde_json::json!({
            "id": format!("/subscriptions/{id}"),
            "subscriptionId": id,
            "tenantId": state.options.tenant_id,
            "displayName": format!("Simulated subscription {id}"),
            "state": "Enabled",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
        }),
    )
}

fn check_scope(state: &SimState, route: &Route) -> Result<(), SimResponse> {
    let (sub, rg) = route.scope_parts();
    let Some(sub) = sub else { return Ok(()) };
    let Some(record) = state.subscriptions.get(&sub.to_ascii_lowercase()) else {
        return Err(SimResponse::error(404, "SubscriptionNotFound", &format!("The subscription '{sub}' could not be found.")));
    };
    if let Some(rg) = rg
        && !record.resource_groups.contains(&rg.to_ascii_lowercase())
    {
        return Err(SimResponse::error(404, "ResourceGroupNotFound", &format!("Resource group '{rg}' could not be found.")));
    }
    Ok(())
}

impl ResPath {
    /// Lower-cased map key of this resource.
    pub fn key(&self) -> String {
        self.id().to_ascii_lowercase()
    }
}
