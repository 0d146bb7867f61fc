use super::*;
use crate::core::testutil::{SUB1, SUB2, fixture_body};

fn acr(sub: &str, name: &str) -> ResourceId {
    ResourceId::parse(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{name}")).unwrap()
}

fn identity() -> GatingIdentityRef {
    GatingIdentityRef {
        resource_id: ResourceId::parse(&format!(
            "/subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-defender-gating"
        ))
        .unwrap(),
        client_id: "11111111-0000-0000-0000-000000000001".into(),
        object_id: "22222222-0000-0000-0000-000000000002".into(),
    }
}

fn desired(sub: &str, name: &str, reference: RegistryReference) -> DesiredEntry {
    let registry = acr(sub, name);
    let login = format!("{name}.azurecr.io");
    let value = registry_reference_value(reference, &registry, Some(&login));
    DesiredEntry::new(&GatingAddition { registry, login_server: Some(login), azure_container_registry: value }, &identity())
}

fn gating(doc: &Value) -> &Value {
    &doc["properties"]["securityProfile"]["defender"]["securityGating"]
}

/// Everything except the gating block, for "nothing else changed" comparisons.
fn without_gating(doc: &Value) -> Value {
    let mut copy = doc.clone();
    if let Some(defender) = copy.pointer_mut("/properties/securityProfile/defender").and_then(Value::as_object_mut) {
        defender.remove("securityGating");
    }
    copy
}

#[test]
fn creates_missing_parents_and_changes_nothing_else() {
    let mut doc = fixture_body("Microsoft.ContainerService/ManagedClustersGet.json", "200");
    doc["properties"]["someFutureField"] = json!({"nested": [1, 2, {"x": null}]});
    let before = doc.clone();
    assert!(apply_security_gating(&mut doc, &[desired(SUB1, "acr1", RegistryReference::LoginServer)]));
    let g = gating(&doc);
    assert_eq!(g["enabled"], true);
    assert_eq!(g.get("allowSecretAccess"), None, "allowSecretAccess is never added");
    assert_eq!(
        g["identities"],
        json!([{"azureContainerRegistry": "acr1.azurecr.io", "identity": {
            "resourceId": identity().resource_id.as_str(), "clientId": identity().client_id, "objectId": identity().object_id}}])
    );
    let mut expected = before.clone();
    expected["properties"]["securityProfile"] = json!({"defender": {}});
    assert_eq!(without_gating(&doc), expected);
}

#[test]
fn keeps_foreign_entries_and_allow_secret_access() {
    let mut doc = fixture_body("Microsoft.ContainerService/ManagedClustersCreate_SecurityProfile.json", "200");
    gating_mut(&mut doc)["enabled"] = json!(false);
    let foreign = gating(&doc)["identities"][0].clone();
    let before = without_gating(&doc);
    let wants = [desired(SUB1, "acr1", RegistryReference::Name), desired(SUB2, "acr2", RegistryReference::ResourceId)];
    assert!(apply_security_gating(&mut doc, &wants));
    let g = gating(&doc);
    assert_eq!(g["enabled"], true);
    assert_eq!(g["allowSecretAccess"], true);
    let items = g["identities"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], foreign);
    assert_eq!(items[1]["azureContainerRegistry"], "acr1");
    assert_eq!(items[2]["azureContainerRegistry"], acr(SUB2, "acr2").as_str());
    assert_eq!(without_gating(&doc), before);
}

fn gating_mut(doc: &mut Value) -> &mut Value {
    &mut doc["properties"]["securityProfile"]["defender"]["securityGating"]
}

#[test]
fn idempotent() {
    let mut doc = json!({"id": "x", "properties": {}});
    let wants = [desired(SUB1, "acr1", RegistryReference::LoginServer), desired(SUB2, "acr2", RegistryReference::LoginServer)];
    assert!(apply_security_gating(&mut doc, &wants));
    let once = doc.clone();
    assert!(!apply_security_gating(&mut doc, &wants));
    assert_eq!(doc, once);
    assert!(!apply_security_gating(&mut doc, &[]), "enabled already true");
}

#[test]
fn existing_entry_by_name_login_server_or_id_counts() {
    let id = identity();
    let entry_identity =
        json!({"resourceId": id.resource_id.as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"), "clientId": id.client_id});
    for value in ["ACR1", "acr1.AzureCR.io", &acr(SUB1, "acr1").as_str().to_lowercase()] {
        let mut doc = json!({"properties": {"securityProfile": {"defender": {"securityGating": {
            "enabled": true, "identities": [{"azureContainerRegistry": value, "identity": entry_identity}]}}}}});
        assert!(!apply_security_gating(&mut doc, &[desired(SUB1, "acr1", RegistryReference::LoginServer)]), "{value}");
    }
}

#[test]
fn entry_for_another_identity_or_a_stale_one_does_not_count() {
    let id = identity();
    let other = json!({"azureContainerRegistry": "acr1.azurecr.io", "identity": {"objectId": "99999999-0000-0000-0000-000000000000"}});
    let stale = json!({"azureContainerRegistry": "acr1", "identity": {"resourceId": id.resource_id.as_str(), "objectId": "88888888-0000-0000-0000-000000000000"}});
    let mut doc =
        json!({"properties": {"securityProfile": {"defender": {"securityGating": {"enabled": true, "identities": [other, stale]}}}}});
    assert!(apply_security_gating(&mut doc, &[desired(SUB1, "acr1", RegistryReference::LoginServer)]));
    let items = gating(&doc)["identities"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["identity"]["objectId"], "99999999-0000-0000-0000-000000000000", "foreign entry kept first");
}

#[test]
fn reference_values() {
    let r = acr(SUB1, "acr1");
    assert_eq!(registry_reference_value(RegistryReference::LoginServer, &r, Some("acr1.azurecr.io")), "acr1.azurecr.io");
    assert_eq!(registry_reference_value(RegistryReference::LoginServer, &r, None), "acr1");
    assert_eq!(registry_reference_value(RegistryReference::Name, &r, Some("acr1.azurecr.io")), "acr1");
    assert_eq!(registry_reference_value(RegistryReference::ResourceId, &r, None), r.as_str());
    assert!(!names_registry("acr10", &r, Some("acr1.azurecr.io")));
    assert!(!names_registry(acr(SUB2, "acr1").as_str(), &r, None), "same name in another subscription by ID");
}

#[test]
fn prerequisites_edit_sets_only_the_two_flags() {
    let mut doc = json!({"properties": {"oidcIssuerProfile": {"enabled": false, "issuerURL": null},
        "securityProfile": {"defender": {"securityGating": {"enabled": true}}}, "other": 1}});
    assert!(apply_prerequisites(&mut doc, true, true));
    assert_eq!(doc["properties"]["oidcIssuerProfile"], json!({"enabled": true, "issuerURL": null}));
    assert_eq!(doc["properties"]["securityProfile"]["workloadIdentity"], json!({"enabled": true}));
    assert_eq!(doc["properties"]["securityProfile"]["defender"], json!({"securityGating": {"enabled": true}}));
    assert_eq!(doc["properties"]["other"], 1);
    assert!(!apply_prerequisites(&mut doc, true, true));
    let mut only_wi = json!({"properties": {}});
    assert!(apply_prerequisites(&mut only_wi, false, true));
    assert_eq!(only_wi["properties"].get("oidcIssuerProfile"), None);
}

#[test]
fn document_obstacle_names_shapes_the_edits_would_replace() {
    let ok = fixture_body("Microsoft.ContainerService/ManagedClustersCreate_SecurityProfile.json", "200");
    assert_eq!(document_obstacle(&ok), None);
    assert_eq!(document_obstacle(&json!({"id": "x"})), None, "absent parents are created, not replaced");
    let mut nulls = ok.clone();
    nulls["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = Value::Null;
    nulls["properties"]["oidcIssuerProfile"] = Value::Null;
    assert_eq!(document_obstacle(&nulls), None, "null is the same as absent");
    let cases = [
        ("/properties/securityProfile/defender", json!("on"), "`properties.securityProfile.defender` is a string, not an object"),
        ("/properties/securityProfile", json!([1]), "`properties.securityProfile` is an array, not an object"),
        (
            "/properties/securityProfile/defender/securityGating/identities",
            json!({"a": 1}),
            "`properties.securityProfile.defender.securityGating.identities` is an object, not an array",
        ),
        ("/properties/securityProfile/defender/securityGating", json!(true), "securityGating` is a boolean, not an object"),
        ("/properties/oidcIssuerProfile", json!(7), "`properties.oidcIssuerProfile` is a number, not an object"),
    ];
    for (pointer, value, expected) in cases {
        let mut doc = ok.clone();
        let slot = pointer.split('/').skip(1).fold(&mut doc, |v, key| &mut v[key]);
        *slot = value;
        let found = document_obstacle(&doc).unwrap_or_default();
        assert!(found.contains(expected), "{pointer}: {found}");
    }
    let mut top = ok;
    top["properties"] = json!("x");
    assert!(document_obstacle(&top).unwrap().contains("`properties` is a string"));
}
