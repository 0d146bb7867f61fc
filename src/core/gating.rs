//! The `securityGating` edit: the only change fleetgate makes to a cluster document.
//!
//! [`apply_security_gating`] touches `properties.securityProfile.defender.securityGating` and nothing
//! else: it sets `enabled: true` and appends one `identities` entry per registry that has none for the
//! gating identity. Entries for other registries or identities are kept as they are, and
//! `allowSecretAccess` is never touched. [`apply_prerequisites`] is the opt-in OIDC issuer / workload
//! identity edit.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::RegistryReference;
use crate::core::model::{GatingEntryView, IdentityView, KubeletIdentity};
use crate::id::ResourceId;

/// The identity written into a gating entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatingIdentityRef {
    /// The user-assigned identity's ARM ID.
    pub resource_id: ResourceId,
    /// Its client ID.
    pub client_id: String,
    /// Its principal (object) ID.
    pub object_id: String,
}

impl GatingIdentityRef {
    /// From a user-assigned identity.
    pub fn from_identity(identity: &IdentityView) -> Self {
        Self { resource_id: identity.id.clone(), client_id: identity.client_id.clone(), object_id: identity.principal_id.clone() }
    }

    /// From the cluster's kubelet identity.
    pub fn from_kubelet(kubelet: &KubeletIdentity) -> Self {
        Self { resource_id: kubelet.resource_id.clone(), client_id: kubelet.client_id.clone(), object_id: kubelet.object_id.clone() }
    }
}

/// One registry the gating block must name (part of the `update_security_gating` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatingAddition {
    /// The registry's ARM ID.
    pub registry: ResourceId,
    /// Its login server, when known (used to recognise existing entries).
    pub login_server: Option<String>,
    /// The `azureContainerRegistry` value to write (per `gating.registry_reference`).
    pub azure_container_registry: String,
}

/// A registry + identity pair the gating block must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredEntry {
    /// Which registry, and how to write it.
    pub registry: GatingAddition,
    /// The gating identity.
    pub identity: GatingIdentityRef,
}

impl DesiredEntry {
    /// Pairs a planned registry with the (now known) gating identity.
    pub fn new(registry: &GatingAddition, identity: &GatingIdentityRef) -> Self {
        Self { registry: registry.clone(), identity: identity.clone() }
    }
}

/// Pairs every planned registry with the gating identity.
pub fn desired_entries(add: &[GatingAddition], identity: &GatingIdentityRef) -> Vec<DesiredEntry> {
    add.iter().map(|a| DesiredEntry::new(a, identity)).collect()
}

/// The `azureContainerRegistry` value for a registry under `reference`.
pub fn registry_reference_value(reference: RegistryReference, registry: &ResourceId, login_server: Option<&str>) -> String {
    match (reference, login_server) {
        (RegistryReference::LoginServer, Some(server)) => server.to_string(),
        (RegistryReference::ResourceId, _) => registry.to_string(),
        (RegistryReference::Name, _) | (RegistryReference::LoginServer, None) => registry.name().to_string(),
    }
}

/// True when an `azureContainerRegistry` value names this registry: by name, login server or ARM ID,
/// case-insensitively.
pub fn names_registry(value: &str, registry: &ResourceId, login_server: Option<&str>) -> bool {
    let value = value.trim().trim_end_matches('/');
    value.eq_ignore_ascii_case(registry.name())
        || login_server.is_some_and(|s| value.eq_ignore_ascii_case(s.trim_end_matches('/')))
        || ResourceId::parse(value).is_ok_and(|id| &id == registry)
}

/// True when an entry's identity is the gating identity: at least one of `resourceId`, `objectId`,
/// `clientId` equals ours and none of those present contradicts a value we know (a stale entry left by a
/// deleted identity of the same name does not count).
pub fn entry_is_for_identity(entry: &GatingEntryView, resource_id: &ResourceId, client_id: Option<&str>, object_id: Option<&str>) -> bool {
    let rid = entry.identity_resource_id.as_deref().map(|r| ResourceId::parse(r).is_ok_and(|id| &id == resource_id));
    let oid = compare(entry.identity_object_id.as_deref(), object_id);
    let cid = compare(entry.identity_client_id.as_deref(), client_id);
    let checks = [rid, oid, cid];
    checks.contains(&Some(true)) && !checks.contains(&Some(false))
}

fn compare(found: Option<&str>, known: Option<&str>) -> Option<bool> {
    Some(found?.eq_ignore_ascii_case(known?))
}

/// True when some entry names `registry` for the gating identity.
pub fn has_entry(
    entries: &[GatingEntryView],
    registry: &GatingAddition,
    identity: &ResourceId,
    client_id: Option<&str>,
    object_id: Option<&str>,
) -> bool {
    entries.iter().any(|e| {
        e.azure_container_registry.as_deref().is_some_and(|v| names_registry(v, &registry.registry, registry.login_server.as_deref()))
            && entry_is_for_identity(e, identity, client_id, object_id)
    })
}

/// Sets `securityGating.enabled = true` and adds the missing entries, creating missing parents. Changes
/// nothing else. Returns whether the document changed (a second call with the same input returns false).
pub fn apply_security_gating(doc: &mut Value, desired: &[DesiredEntry]) -> bool {
    let gating = object_at(doc, &["properties", "securityProfile", "defender", "securityGating"]);
    let mut changed = false;
    if gating.get("enabled") != Some(&Value::Bool(true)) {
        gating.insert("enabled".into(), Value::Bool(true));
        changed = true;
    }
    if !gating.get("identities").is_some_and(Value::is_array) {
        gating.insert("identities".into(), Value::Array(Vec::new()));
    }
    let Some(Value::Array(items)) = gating.get_mut("identities") else { return changed };
    for want in desired {
        let views: Vec<GatingEntryView> = items.iter().map(GatingEntryView::from_json).collect();
        let id = &want.identity;
        if !has_entry(&views, &want.registry, &id.resource_id, Some(&id.client_id), Some(&id.object_id)) {
            items.push(json!({
                "azureContainerRegistry": want.registry.azure_container_registry,
                "identity": {"resourceId": id.resource_id.as_str(), "clientId": id.client_id, "objectId": id.object_id},
            }));
            changed = true;
        }
    }
    changed
}

/// Sets `properties.oidcIssuerProfile.enabled` and/or `properties.securityProfile.workloadIdentity.enabled`
/// to true. Returns whether the document changed.
pub fn apply_prerequisites(doc: &mut Value, oidc_issuer: bool, workload_identity: bool) -> bool {
    let mut changed = false;
    if oidc_issuer {
        changed |= set_true(object_at(doc, &["properties", "oidcIssuerProfile"]));
    }
    if workload_identity {
        changed |= set_true(object_at(doc, &["properties", "securityProfile", "workloadIdentity"]));
    }
    changed
}

fn set_true(obj: &mut Map<String, Value>) -> bool {
    let was = obj.insert("enabled".into(), Value::Bool(true));
    was != Some(Value::Bool(true))
}

/// Where the edits write: each must be an object (or absent / `null`) for [`apply_security_gating`] and
/// [`apply_prerequisites`] to change only what they own.
const OBJECT_PATHS: [&str; 6] = [
    "/properties",
    "/properties/securityProfile",
    "/properties/securityProfile/defender",
    "/properties/securityProfile/defender/securityGating",
    "/properties/securityProfile/workloadIdentity",
    "/properties/oidcIssuerProfile",
];
const IDENTITIES_PATH: &str = "/properties/securityProfile/defender/securityGating/identities";

/// What in a cluster document the edits cannot be applied to without replacing someone else's data
/// (`properties.securityProfile.defender` is a string, `securityGating.identities` is not an array, …),
/// as a sentence naming the field; `None` when the edits are safe. The planner turns it into the
/// `unsupported_cluster_document` blocker, so such a cluster gets no write at all.
pub fn document_obstacle(doc: &Value) -> Option<String> {
    let describe = |pointer: &str, v: &Value, expected: &str| {
        let dotted = pointer.trim_start_matches('/').replace('/', ".");
        Some(format!("`{dotted}` is {}, not {expected}", json_kind(v)))
    };
    for pointer in OBJECT_PATHS {
        match crate::core::model::pointer(doc, pointer) {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(other) => return describe(pointer, other, "an object"),
        }
    }
    match crate::core::model::pointer(doc, IDENTITIES_PATH) {
        None | Some(Value::Null) | Some(Value::Array(_)) => None,
        Some(other) => describe(IDENTITIES_PATH, other, "an array"),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The object at `path`, creating it (and replacing a `null` or non-object) on the way. Callers make
/// sure (through [`document_obstacle`] at plan time) that nothing but `null` is ever replaced.
fn object_at<'a>(doc: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut cur = ensure_object(doc);
    for key in path {
        cur = ensure_object(cur.entry(key.to_string()).or_insert(Value::Null));
    }
    cur
}

fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(map) => map,
        _ => unreachable!("replaced by an object above"),
    }
}

#[cfg(test)]
mod tests;
