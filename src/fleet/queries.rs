//! The Resource Graph queries of the bulk observation, and the rows they return turned into the core's
//! typed views. Every query stays inside the simulator's KQL subset (`src/sim/arm/kql.rs`) and projects
//! `id` with `order by id asc`, so `$skipToken` paging is stable.
//!
//! | query | table | what for |
//! |---|---|---|
//! | [`CLUSTERS`] | `resources` | the gating-relevant cluster properties (OIDC, workload identity, kubelet identity, versions, `securityGating`, tags) |
//! | [`gating_identities`] | `resources` | user-assigned identities carrying fleetgate's tags (the dedicated gating identities) |
//! | [`ACR_PULL_ASSIGNMENTS`] | `authorizationresources` | every AcrPull at a registry scope: the kubelet's (which registries a cluster uses) and the gating identity's |
//! | [`REGISTRIES`] | `resources` | registry IDs and login servers |
//!
//! Not in Resource Graph (or not in the simulator's): federated identity credentials and the Defender
//! pricing; see `fleet::observe` (`bulk_plan`) for how those are handled. An identity that has the template name but
//! not fleetgate's tags is not found here: its cluster looks "identity to create" and takes the
//! per-cluster path, which reads the identity from ARM (extra reads, never an extra write).

use serde_json::{Map, Value, json};

use crate::core::model::{ClusterView, IdentityView, ModelError, RegistryView, RoleAssignmentView};
use crate::core::names::{ACR_PULL_ROLE_GUID, CLUSTER_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE};

/// Managed clusters with only the properties the planner reads (rows stay small at fleet scale).
pub const CLUSTERS: &str = "resources \
| where type =~ 'microsoft.containerservice/managedclusters' \
| project id, location, tags, kubernetesVersion = properties.kubernetesVersion, \
currentKubernetesVersion = properties.currentKubernetesVersion, provisioningState = properties.provisioningState, \
oidcIssuerProfile = properties.oidcIssuerProfile, workloadIdentity = properties.securityProfile.workloadIdentity, \
securityGating = properties.securityProfile.defender.securityGating, \
kubeletIdentity = properties.identityProfile.kubeletidentity \
| order by id asc";

/// Every AcrPull role assignment whose scope is a container registry.
pub const ACR_PULL_ASSIGNMENTS: &str = concat!(
    "authorizationresources ",
    "| where type =~ 'microsoft.authorization/roleassignments' ",
    "| extend roleDefinitionId = tolower(tostring(properties.roleDefinitionId)), scope = tolower(tostring(properties.scope)) ",
    "| where roleDefinitionId endswith '7f951dda-4ed3-4680-a7ca-43fe172d538d' ",
    "and scope contains '/providers/microsoft.containerregistry/registries/' ",
    "| project id, properties ",
    "| order by id asc"
);

/// Container registries and their login servers.
pub const REGISTRIES: &str = "resources \
| where type =~ 'microsoft.containerregistry/registries' \
| project id, location, loginServer = properties.loginServer \
| order by id asc";

/// User-assigned identities tagged by fleetgate (`managed-by = fleetgate` or a `fleetgate.io/cluster` tag).
pub fn gating_identities() -> String {
    format!(
        "resources | where type =~ 'microsoft.managedidentity/userassignedidentities' \
         | where tags['{MANAGED_BY_TAG}'] =~ '{MANAGED_BY_VALUE}' or isnotempty(tags['{CLUSTER_TAG}']) \
         | project id, location, tags, properties | order by id asc"
    )
}

/// The typed view of a [`CLUSTERS`] row (`id`, `location`, `tags` and the projected properties). The
/// row's values are moved (not copied) into a small document shaped like a cluster GET body, which the
/// view parses, and which is dropped with the row: only the view is kept.
pub fn cluster_from_row(row: Value) -> Result<ClusterView, ModelError> {
    ClusterView::from_json(&cluster_document(row))
}

/// The cluster document rebuilt from a [`CLUSTERS`] row. It is *not* an ARM GET body (no `eTag`,
/// most properties absent) and is never PUT: the per-cluster path re-reads the cluster before any write.
fn cluster_document(row: Value) -> Value {
    let mut row = match row {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut field = |key: &str| row.remove(key).filter(|v| !v.is_null());
    let mut properties = Map::new();
    for key in ["kubernetesVersion", "currentKubernetesVersion", "provisioningState", "oidcIssuerProfile"] {
        if let Some(v) = field(key) {
            properties.insert(key.to_string(), v);
        }
    }
    let mut security = Map::new();
    if let Some(v) = field("workloadIdentity") {
        security.insert("workloadIdentity".into(), v);
    }
    if let Some(v) = field("securityGating") {
        security.insert("defender".into(), json!({ "securityGating": v }));
    }
    if !security.is_empty() {
        properties.insert("securityProfile".into(), Value::Object(security));
    }
    if let Some(v) = field("kubeletIdentity") {
        properties.insert("identityProfile".into(), json!({ "kubeletidentity": v }));
    }
    let mut top = |key: &str| row.remove(key).unwrap_or(Value::Null);
    json!({ "id": top("id"), "location": top("location"), "tags": top("tags"), "properties": properties })
}

/// An identity from a [`gating_identities`] row.
pub fn identity_from_row(row: &Value) -> Result<IdentityView, ModelError> {
    IdentityView::from_json(row)
}

/// A role assignment from an [`ACR_PULL_ASSIGNMENTS`] row (kept only when it really is AcrPull).
pub fn assignment_from_row(row: &Value) -> Result<Option<RoleAssignmentView>, ModelError> {
    let ra = RoleAssignmentView::from_json(row)?;
    Ok(ra.is_role(ACR_PULL_ROLE_GUID).then_some(ra))
}

/// A registry from a [`REGISTRIES`] row.
pub fn registry_from_row(row: &Value) -> Result<RegistryView, ModelError> {
    let doc = json!({
        "id": row.get("id").cloned().unwrap_or(Value::Null),
        "location": row.get("location").cloned().unwrap_or(Value::Null),
        "properties": {"loginServer": row.get("loginServer").cloned().unwrap_or(Value::Null)},
    });
    RegistryView::from_json(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLUSTER: &str =
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1";

    #[test]
    fn queries_parse_in_the_simulated_subset() {
        for q in [CLUSTERS.to_string(), ACR_PULL_ASSIGNMENTS.to_string(), REGISTRIES.to_string(), gating_identities()] {
            crate::sim::arm::kql::parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert!(q.contains("order by id asc"), "{q}");
        }
    }

    #[test]
    fn cluster_rows_rebuild_a_document_the_view_parses() {
        let row = json!({"id": CLUSTER, "location": "westeurope", "tags": {"env": "prod"}, "kubernetesVersion": "1.32",
            "currentKubernetesVersion": "1.32.2", "provisioningState": "Succeeded", "oidcIssuerProfile": {"enabled": true, "issuerURL": "https://i/"},
            "workloadIdentity": {"enabled": true}, "securityGating": {"enabled": true, "identities": []}, "kubeletIdentity": null});
        let doc = cluster_document(row.clone());
        let view = cluster_from_row(row.clone()).unwrap();
        assert!(view.oidc_issuer_enabled && view.workload_identity_enabled);
        assert_eq!(view.effective_kubernetes_version(), Some("1.32.2"));
        assert_eq!(view.kubelet_identity, None);
        assert_eq!(view.tag("ENV"), Some("prod"));
        assert!(doc["properties"].get("identityProfile").is_none(), "nulls are dropped");
        assert!(view.gating_enabled(), "securityGating lands under securityProfile.defender");
        let kubelet = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/mc/providers/Microsoft.ManagedIdentity/userAssignedIdentities/k";
        let mut with_kubelet = row.clone();
        with_kubelet["kubeletIdentity"] = json!({"resourceId": kubelet, "clientId": "c", "objectId": "o"});
        assert_eq!(cluster_from_row(with_kubelet).unwrap().kubelet_identity.unwrap().object_id, "o");
        assert!(cluster_from_row(json!({"id": "/nope", "location": "x"})).is_err());
        assert!(cluster_from_row(json!(["not", "an", "object"])).is_err());
    }

    #[test]
    fn registry_and_assignment_rows() {
        let acr =
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a1";
        let r = registry_from_row(&json!({"id": acr, "location": "westeurope", "loginServer": "a1.azurecr.io"})).unwrap();
        assert_eq!((r.name(), r.login_server.as_str()), ("a1", "a1.azurecr.io"));
        assert!(registry_from_row(&json!({"id": acr})).is_err(), "a login server is required");
        let ra = |role: &str| {
            json!({"id": format!("{acr}/providers/Microsoft.Authorization/roleAssignments/x"),
                "properties": {"scope": acr, "principalId": "p", "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}")}})
        };
        assert!(assignment_from_row(&ra(ACR_PULL_ROLE_GUID)).unwrap().is_some());
        assert!(assignment_from_row(&ra("acdd72a7-3385-48ef-bd42-f606fba81ae7")).unwrap().is_none());
    }
}
