//! The read-only fields AKS computes on a managed cluster, and what a PUT does with them.
//!
//! A create computes them (`fqdn`/`azurePortalFQDN` from `dnsPrefix`, `powerState`,
//! `currentKubernetesVersion`, `maxAgentPools`, the system-assigned identity's `principalId`/`tenantId`,
//! the kubelet identity, the node resource group, and per agent pool `currentOrchestratorVersion`,
//! `powerState`, `nodeImageVersion`). An update keeps them when the body leaves them out — which is
//! what the official SDKs send, since they drop read-only fields from a PUT body (recorded: the Azure CLI's
//! `aks update` PUT body has no `fqdn`, yet the answer and every later GET carry it).
//! `provisioningState` (cluster and pools) is rendered from the running operation.

use serde_json::{Map, Value, json};

use crate::sim::state::SimState;

use super::common::str_at;
use super::operations::normalize_location;
use super::route::ResPath;

/// Kubernetes version a create without one gets.
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.31.5";
/// Node image version the simulator reports for Linux pools.
pub const NODE_IMAGE_VERSION: &str = "AKSUbuntu-2204gen2containerd-202604.13.0";

/// Pointers (under the document root) AKS computes and keeps when a PUT leaves them out.
const KEPT: [&str; 9] = [
    "/properties/fqdn",
    "/properties/azurePortalFQDN",
    "/properties/privateFQDN",
    "/properties/powerState",
    "/properties/currentKubernetesVersion",
    "/properties/maxAgentPools",
    "/properties/resourceUID",
    "/properties/identityProfile",
    "/properties/nodeResourceGroup",
];
/// Per agent pool (matched by name).
const KEPT_IN_POOL: [&str; 4] = ["currentOrchestratorVersion", "powerState", "nodeImageVersion", "eTag"];

/// A managed cluster's ID as AKS writes it in its answers: `resourcegroups` in lower case (recorded in
/// GET, PUT and list bodies), the rest as the first PUT spelled it.
pub fn cluster_id(p: &ResPath) -> String {
    p.answer_id()
}

/// Fills what AKS computes on create into `body` (a cluster document without read-only fields).
pub fn compute_on_create(state: &mut SimState, body: &mut Map<String, Value>, p: &ResPath, location: &str) {
    let loc = normalize_location(location);
    if body.get("identity").and_then(|i| i.get("type")).and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("SystemAssigned")) {
        let principal = state.new_guid();
        if let Some(identity) = body.get_mut("identity").and_then(Value::as_object_mut) {
            identity.insert("principalId".into(), json!(principal));
            identity.insert("tenantId".into(), json!(state.options.tenant_id));
        }
    }
    let suffix: String = state.new_guid().chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    let kubelet = (state.new_guid(), state.new_guid());
    let props = super::common::object_entry(body, "properties");
    let version = match str_at(&Value::Object(props.clone()), "/kubernetesVersion") {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => DEFAULT_KUBERNETES_VERSION.to_string(),
    };
    props.insert("kubernetesVersion".into(), json!(version));
    let prefix = props.get("dnsPrefix").and_then(Value::as_str).filter(|d| !d.is_empty()).map(str::to_string);
    let prefix = prefix.unwrap_or_else(|| format!("{}-dns", p.name));
    props.entry("dnsPrefix").or_insert_with(|| json!(prefix));
    props.insert("fqdn".into(), json!(format!("{prefix}-{suffix}.hcp.{loc}.azmk8s.io")));
    props.insert("azurePortalFQDN".into(), json!(format!("{prefix}-{suffix}.portal.hcp.{loc}.azmk8s.io")));
    props.insert("powerState".into(), json!({"code": "Running"}));
    props.insert("currentKubernetesVersion".into(), json!(version));
    props.insert("maxAgentPools".into(), json!(100));
    let node_rg = format!("MC_{}_{}_{loc}", p.rg, p.name);
    props.entry("nodeResourceGroup").or_insert_with(|| json!(node_rg));
    if props.get("identityProfile").is_none() {
        let rg = props.get("nodeResourceGroup").and_then(Value::as_str).unwrap_or(&node_rg).to_string();
        props.insert(
            "identityProfile".into(),
            json!({"kubeletidentity": {
                "resourceId": format!("/subscriptions/{}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}-agentpool", p.sub, p.name),
                "clientId": kubelet.0,
                "objectId": kubelet.1,
            }}),
        );
    }
    for pool in pools_mut(props) {
        let pool_version =
            pool.get("orchestratorVersion").and_then(Value::as_str).filter(|v| !v.is_empty()).unwrap_or(&version).to_string();
        pool.insert("currentOrchestratorVersion".into(), json!(pool_version));
        pool.insert("powerState".into(), json!({"code": "Running"}));
        pool.entry("nodeImageVersion").or_insert_with(|| json!(NODE_IMAGE_VERSION));
    }
}

/// Copies into `body` the computed fields of `old` that `body` leaves out.
pub fn keep_read_only(body: &mut Map<String, Value>, old: &Value) {
    match (body.get_mut("identity").and_then(Value::as_object_mut), old.get("identity")) {
        (None, Some(identity)) => {
            body.insert("identity".into(), identity.clone());
        }
        (Some(new), Some(Value::Object(prev))) if new.get("type") == prev.get("type") => {
            for key in ["principalId", "tenantId"] {
                if let (false, Some(v)) = (new.contains_key(key), prev.get(key)) {
                    new.insert(key.into(), v.clone());
                }
            }
        }
        _ => {}
    }
    let props = super::common::object_entry(body, "properties");
    for pointer in KEPT {
        let key = pointer.trim_start_matches("/properties/");
        if let (false, Some(v)) = (props.contains_key(key), old.pointer(pointer)) {
            props.insert(key.into(), v.clone());
        }
    }
    let old_pools = old.pointer("/properties/agentPoolProfiles").and_then(Value::as_array).cloned().unwrap_or_default();
    for pool in pools_mut(props) {
        let name = pool.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let Some(prev) = old_pools.iter().find(|p| p.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(&name)))
        else {
            pool.insert("powerState".into(), json!({"code": "Running"}));
            continue;
        };
        for key in KEPT_IN_POOL {
            if let (false, Some(v)) = (pool.contains_key(key), prev.get(key)) {
                pool.insert(key.into(), v.clone());
            }
        }
    }
}

/// Sets every agent pool's `provisioningState` (rendering the cluster's operation state).
pub fn set_pool_states(doc: &mut Value, state: &str) {
    if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
        for pool in pools_mut(props) {
            pool.insert("provisioningState".into(), json!(state));
        }
    }
}

fn pools_mut(props: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    props.get_mut("agentPoolProfiles").and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_fields_survive_a_body_without_them_and_body_values_win() {
        let old = json!({
            "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
            "properties": {"fqdn": "f", "azurePortalFQDN": "pf", "powerState": {"code": "Running"}, "currentKubernetesVersion": "1.31.5",
                "agentPoolProfiles": [{"name": "np", "currentOrchestratorVersion": "1.31.5", "nodeImageVersion": "img"}]}
        });
        let mut body = json!({
            "identity": {"type": "SystemAssigned"},
            "properties": {"fqdn": "mine", "agentPoolProfiles": [{"name": "NP", "count": 3}, {"name": "new"}]}
        });
        keep_read_only(body.as_object_mut().unwrap(), &old);
        assert_eq!(body["identity"], json!({"type": "SystemAssigned", "principalId": "p", "tenantId": "t"}));
        assert_eq!(body["properties"]["fqdn"], "mine");
        assert_eq!(body["properties"]["azurePortalFQDN"], "pf");
        assert_eq!(body["properties"]["currentKubernetesVersion"], "1.31.5");
        assert_eq!(body["properties"]["agentPoolProfiles"][0]["currentOrchestratorVersion"], "1.31.5");
        assert_eq!(body["properties"]["agentPoolProfiles"][1]["powerState"], json!({"code": "Running"}));
        let mut switched = json!({"identity": {"type": "UserAssigned"}, "properties": {}});
        keep_read_only(switched.as_object_mut().unwrap(), &old);
        assert!(switched["identity"].get("principalId").is_none(), "another identity type computes its own");
    }
}
