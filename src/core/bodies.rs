//! Request bodies for the simple PUTs (identity, federated credential, role assignment). The cluster
//! and pricing PUT bodies are edits of what was read: see [`gating`](crate::core::gating) and
//! [`pricing`](crate::core::pricing).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::core::names::{FIC_AUDIENCE, FIC_SUBJECT, acr_pull_role_definition_id};
use crate::id::ResourceId;

/// `PUT …/userAssignedIdentities/{name}`: `{"location", "tags"}`.
pub fn identity_body(location: &str, tags: &BTreeMap<String, String>) -> Value {
    json!({ "location": location, "tags": tags })
}

/// `PUT …/federatedIdentityCredentials/{name}`: the admission controller's subject and audience.
pub fn federated_credential_body(issuer: &str) -> Value {
    json!({ "properties": { "issuer": issuer, "subject": FIC_SUBJECT, "audiences": [FIC_AUDIENCE] } })
}

/// `PUT {registry}/providers/Microsoft.Authorization/roleAssignments/{name}`: AcrPull for a service
/// principal (`principalType` avoids `PrincipalNotFound` right after the identity is created).
pub fn acr_pull_body(registry: &ResourceId, principal_id: &str) -> Value {
    json!({ "properties": {
        "roleDefinitionId": acr_pull_role_definition_id(registry.subscription_id()),
        "principalId": principal_id,
        "principalType": "ServicePrincipal",
    } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{FicView, RoleAssignmentView};
    use crate::core::names::acr_pull_assignment_id;

    #[test]
    fn bodies_parse_back_as_what_the_planner_looks_for() {
        let registry = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a",
        )
        .unwrap();
        let fic = FicView::from_json(&json!({"name": "f", "properties": federated_credential_body("https://i/")["properties"]})).unwrap();
        assert!(fic.trusts("https://i/", FIC_SUBJECT));
        assert_eq!(fic.audiences, [FIC_AUDIENCE]);
        let mut ra = acr_pull_body(&registry, "p1");
        ra["id"] = json!(acr_pull_assignment_id(&registry, "p1").unwrap().as_str());
        ra["properties"]["scope"] = json!(registry.as_str());
        let view = RoleAssignmentView::from_json(&ra).unwrap();
        assert!(view.grants_acr_pull_at("p1", &registry));
        assert!(view.role_definition_id.starts_with("/subscriptions/00000000-0000-0000-0000-000000000002/"));
        assert_eq!(ra["properties"]["principalType"], "ServicePrincipal");
        let tags = BTreeMap::from([("managed-by".to_string(), "fleetgate".to_string())]);
        assert_eq!(identity_body("westeurope", &tags), json!({"location": "westeurope", "tags": {"managed-by": "fleetgate"}}));
    }
}
