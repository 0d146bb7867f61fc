//! Seeding a [`SimState`] from a [`Fleet`]: subscriptions and their Defender pricing, registries,
//! identities with FICs, clusters (see `seed_cluster`) and role assignments. Every error names the entry
//! and says what to change.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;

use crate::id::{ResourceId, is_guid};
use crate::sim::fleet::{Fleet, FleetError, IdentitySpec, RoleAssignmentSpec, SubscriptionSpec};
use crate::sim::state::{SimState, SubscriptionRecord};

use super::identities::{self, NewIdentity};
use super::route::ResPath;
use super::{fics, pricing, registries, roles, seed_cluster};

/// Seeds `state` with everything in `fleet` (whose generator must already be expanded).
pub fn seed(state: &mut SimState, fleet: &Fleet) -> Result<(), FleetError> {
    for (i, sub) in fleet.subscriptions.iter().enumerate() {
        seed_subscription(state, i, sub)?;
    }
    for p in &fleet.principals {
        if !is_guid(p) {
            return Err(FleetError::entry(format!("principals ({p})"), "a principal must be an object ID (GUID)"));
        }
        state.principals.insert(p.to_ascii_lowercase(), None);
    }
    for (i, r) in fleet.registries.iter().enumerate() {
        let entry = format!("registries[{i}] ({})", r.name);
        let p = res_path(state, &entry, &r.subscription, &r.resource_group, &r.name, "Microsoft.ContainerRegistry", "registries")?;
        let created = state.epoch_wall.format(&Rfc3339).unwrap_or_default();
        let doc = registries::document(&p, &r.location, &r.sku, &r.tags, &created);
        state.registries.insert(p.key(), doc);
    }
    for (i, spec) in fleet.identities.iter().enumerate() {
        seed_identity(state, i, spec)?;
    }
    for (i, spec) in fleet.clusters.iter().enumerate() {
        seed_cluster::seed_cluster(state, fleet, i, spec)?;
    }
    for (i, spec) in fleet.role_assignments.iter().enumerate() {
        seed_role_assignment(state, i, spec)?;
    }
    Ok(())
}

fn seed_subscription(state: &mut SimState, i: usize, spec: &SubscriptionSpec) -> Result<(), FleetError> {
    let entry = format!("subscriptions[{i}] ({})", spec.id);
    if !is_guid(&spec.id) {
        return Err(FleetError::entry(entry, "`id` must be a subscription GUID like 00000000-0000-0000-0000-000000000001"));
    }
    let key = spec.id.to_ascii_lowercase();
    if state.subscriptions.contains_key(&key) {
        return Err(FleetError::entry(entry, "listed twice; merge the two entries"));
    }
    let resource_groups: BTreeSet<String> = spec.resource_groups.iter().map(|rg| rg.to_ascii_lowercase()).collect();
    state.subscriptions.insert(key, SubscriptionRecord { id: spec.id.clone(), resource_groups });
    let properties = match &spec.pricing {
        Some(Value::Object(doc)) if doc.contains_key("properties") => doc.get("properties").cloned().unwrap_or(Value::Null),
        Some(props @ Value::Object(_)) => props.clone(),
        Some(_) => return Err(FleetError::entry(entry, "`pricing` must be a pricing document or its `properties` table")),
        None => pricing::preset(spec.defender),
    };
    let scope = ResourceId::parse(&format!("/subscriptions/{}", spec.id)).map_err(|e| FleetError::entry(&entry, e.to_string()))?;
    pricing::insert(state, &scope, "Containers", properties);
    Ok(())
}

/// Validates the location of a resource in the fleet, registers its resource group and returns its path.
pub fn res_path(
    state: &mut SimState,
    entry: &str,
    sub: &str,
    rg: &str,
    name: &str,
    namespace: &'static str,
    ty: &'static str,
) -> Result<ResPath, FleetError> {
    if sub.is_empty() || rg.is_empty() || name.is_empty() {
        return Err(FleetError::entry(entry, "`subscription`, `resource_group` and `name` are all required"));
    }
    let Some(record) = state.subscriptions.get_mut(&sub.to_ascii_lowercase()) else {
        return Err(FleetError::entry(entry, format!("subscription '{sub}' is not in the fleet; add it under [[subscriptions]]")));
    };
    let p = ResPath { sub: record.id.clone(), rg: rg.to_string(), namespace, ty, name: name.to_string() };
    ResourceId::parse(&p.id()).map_err(|e| FleetError::entry(entry, e.to_string()))?;
    record.resource_groups.insert(rg.to_ascii_lowercase());
    Ok(p)
}

fn seed_identity(state: &mut SimState, i: usize, spec: &IdentitySpec) -> Result<(), FleetError> {
    let entry = format!("identities[{i}] ({})", spec.name);
    let p = res_path(
        state,
        &entry,
        &spec.subscription,
        &spec.resource_group,
        &spec.name,
        "Microsoft.ManagedIdentity",
        "userAssignedIdentities",
    )?;
    for id in [&spec.principal_id, &spec.client_id].into_iter().flatten() {
        if !is_guid(id) {
            return Err(FleetError::entry(&entry, format!("'{id}' is not a GUID; principal_id and client_id must be GUIDs")));
        }
    }
    if spec.federated_credentials.len() > fics::MAX_FICS {
        return Err(FleetError::entry(&entry, format!("at most {} federated_credentials per identity", fics::MAX_FICS)));
    }
    let new = NewIdentity {
        location: spec.location.clone(),
        tags: json!(spec.tags),
        principal_id: spec.principal_id.clone(),
        client_id: spec.client_id.clone(),
        created: None,
    };
    let id = p.answer_id();
    let record = identities::insert(state, &p, new);
    for fic in &spec.federated_credentials {
        let doc = fics::document(&id, &fic.name, &fic.issuer, &fic.subject, &fic.audiences);
        record.fics.insert(fic.name.to_ascii_lowercase(), doc);
    }
    Ok(())
}

/// The role definition ID stored for a fleet `role`: `AcrPull` and bare GUIDs become the unprefixed form
/// `/providers/Microsoft.Authorization/roleDefinitions/{guid}`; full IDs are kept.
pub fn role_definition_id(role: &str) -> Option<String> {
    let guid = if role.eq_ignore_ascii_case("AcrPull") { roles::ACR_PULL.to_string() } else { role.to_string() };
    if is_guid(&guid) {
        return Some(format!("/providers/Microsoft.Authorization/roleDefinitions/{}", guid.to_ascii_lowercase()));
    }
    roles::role_guid(role).map(|_| role.to_string())
}

fn seed_role_assignment(state: &mut SimState, i: usize, spec: &RoleAssignmentSpec) -> Result<(), FleetError> {
    let entry = format!("role_assignments[{i}] ({})", spec.scope);
    let scope = ResourceId::parse(&spec.scope).map_err(|e| FleetError::entry(&entry, e.to_string()))?;
    if !state.subscriptions.contains_key(&scope.subscription_id().to_ascii_lowercase()) {
        return Err(FleetError::entry(&entry, "the scope's subscription is not in the fleet; add it under [[subscriptions]]"));
    }
    let role = role_definition_id(&spec.role)
        .ok_or_else(|| FleetError::entry(&entry, "`role` must be AcrPull, a role definition GUID or a role definition ID"))?;
    if !is_guid(&spec.principal_id) {
        return Err(FleetError::entry(&entry, "`principal_id` must be an object ID (GUID)"));
    }
    let name = match &spec.name {
        Some(n) if is_guid(n) => n.clone(),
        Some(n) => return Err(FleetError::entry(&entry, format!("name '{n}' must be a GUID"))),
        None => state.new_guid(),
    };
    let mut props = Map::new();
    props.insert("roleDefinitionId".into(), json!(role));
    props.insert("principalId".into(), json!(spec.principal_id));
    if let Some(t) = &spec.principal_type {
        props.insert("principalType".into(), json!(t));
    }
    roles::insert(state, &scope, &name, props).ok_or_else(|| FleetError::entry(&entry, "could not be stored"))
}

/// Adds an AcrPull assignment the way `az aks update --attach-acr` makes it: random uuid4 name, no
/// principalType, role definition ID without the subscription prefix.
pub fn attach_acr(state: &mut SimState, registry_id: &str, principal: &str, entry: &str) -> Result<(), FleetError> {
    let scope = ResourceId::parse(registry_id).map_err(|e| FleetError::entry(entry, e.to_string()))?;
    let name = state.new_guid();
    let mut props = Map::new();
    props.insert("roleDefinitionId".into(), json!(format!("/providers/Microsoft.Authorization/roleDefinitions/{}", roles::ACR_PULL)));
    props.insert("principalId".into(), json!(principal));
    roles::insert(state, &scope, &name, props).ok_or_else(|| FleetError::entry(entry, "AcrPull assignment could not be stored"))
}
