//! Events built to the documented schema (azure-events.md §1.3, §1.5, §1.6), in both envelopes, as an
//! object and as a one-element array.

use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::super::{
    BUILT_EVENT_TIME, ReconcileReason, Schema, Trigger, cluster_delete_event, cluster_write_event, decode, reconcile_command,
    role_assignment_write_event,
};
use super::{SUB, assignment_id, bytes, cluster_id, outcome, registry_id, shared_dir};

const SCHEMAS: [Schema; 2] = [Schema::EventGrid, Schema::CloudEvents];

/// The body as an object and wrapped in a one-element array.
fn both_wrappings(value: &Value) -> [Vec<u8>; 2] {
    [bytes(value), bytes(&json!([value]))]
}

#[test]
fn cluster_write_reconciles_in_both_schemas_and_wrappings() {
    let cluster = cluster_id(SUB);
    for schema in SCHEMAS {
        for body in both_wrappings(&cluster_write_event(&cluster, schema)) {
            let expected = Trigger::ReconcileCluster { cluster: cluster.clone(), reason: ReconcileReason::ClusterWrite };
            assert_eq!(outcome(&body).unwrap(), expected, "{schema}");
            assert_eq!(decode(&body).unwrap().schema, schema);
        }
    }
}

#[test]
fn role_assignment_on_registry_in_both_schemas_and_wrappings() {
    let assignment = assignment_id(SUB);
    for schema in SCHEMAS {
        for body in both_wrappings(&role_assignment_write_event(&assignment, schema)) {
            let expected = Trigger::RoleAssignmentWritten { assignment: assignment.clone(), registry: registry_id(SUB) };
            assert_eq!(outcome(&body).unwrap(), expected, "{schema}");
        }
    }
}

#[test]
fn cluster_delete_in_both_schemas_and_wrappings() {
    let cluster = cluster_id(SUB);
    for schema in SCHEMAS {
        for body in both_wrappings(&cluster_delete_event(&cluster, schema)) {
            assert_eq!(outcome(&body).unwrap(), Trigger::ClusterDeleted { cluster: cluster.clone() }, "{schema}");
        }
    }
}

#[test]
fn reconcile_command_as_object_and_array() {
    let cluster = cluster_id(SUB);
    for body in both_wrappings(&reconcile_command(&cluster)) {
        let expected = Trigger::ReconcileCluster { cluster: cluster.clone(), reason: ReconcileReason::Command };
        assert_eq!(outcome(&body).unwrap(), expected);
    }
}

#[test]
fn built_event_grid_event_has_the_documented_shape() {
    let cluster = cluster_id(SUB);
    let v = cluster_write_event(&cluster, Schema::EventGrid);
    let lower = format!("/subscriptions/{SUB}/resourcegroups/rg-fleet/providers/Microsoft.ContainerService/managedClusters/aks-prod-1");
    assert_eq!(v["topic"], json!(format!("/subscriptions/{SUB}")));
    assert_eq!(v["subject"], json!(lower));
    assert_eq!(v["eventType"], json!("Microsoft.Resources.ResourceWriteSuccess"));
    assert_eq!(v["dataVersion"], json!("2"));
    assert_eq!(v["metadataVersion"], json!("1"));
    assert_eq!(v["eventTime"], json!(BUILT_EVENT_TIME));
    let data = &v["data"];
    assert_eq!(data["resourceUri"], json!(lower));
    assert_eq!(data["authorization"]["scope"], json!(lower));
    assert_eq!(data["authorization"]["action"], json!("Microsoft.ContainerService/managedClusters/write"));
    assert_eq!(data["operationName"], json!("Microsoft.ContainerService/managedClusters/write"));
    assert_eq!(data["resourceProvider"], json!("Microsoft.ContainerService"));
    assert_eq!(data["status"], json!("Succeeded"));
    assert_eq!(data["subscriptionId"], json!(SUB));
    assert!(data["claims"].is_object() && data["httpRequest"].is_object() && data["authorization"]["evidence"].is_object());
    assert!(data["correlationId"].as_str().is_some_and(crate::id::is_guid));
    assert_eq!(data["httpRequest"]["method"], json!("PUT"));
}

#[test]
fn built_role_assignment_and_delete_events_have_the_documented_shape() {
    let ra = role_assignment_write_event(&assignment_id(SUB), Schema::CloudEvents);
    assert_eq!(ra["specversion"], json!("1.0"));
    assert_eq!(ra["source"], json!(format!("/subscriptions/{SUB}")));
    assert!(ra["subject"].as_str().unwrap().contains("/resourcegroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrfleet/providers/Microsoft.Authorization/roleAssignments/"));
    assert_eq!(ra["data"]["resourceProvider"], json!("Microsoft.Authorization"));
    assert_eq!(ra["data"]["operationName"], json!("Microsoft.Authorization/roleAssignments/write"));
    let del = cluster_delete_event(&cluster_id(SUB), Schema::EventGrid);
    assert_eq!(del["eventType"], json!("Microsoft.Resources.ResourceDeleteSuccess"));
    assert_eq!(del["data"]["operationName"], json!("Microsoft.ContainerService/managedClusters/delete"));
    assert_eq!(del["data"]["httpRequest"]["method"], json!("DELETE"));
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn built_events_use_the_same_fields_as_the_real_samples() {
    let dir = shared_dir().join("azure-fixtures/events");
    let read = |name: &str| -> Value { serde_json::from_slice(&std::fs::read(dir.join(name)).unwrap()).unwrap() };
    let cases = [
        (read("spec-eventgrid-resource-delete-success.json"), cluster_write_event(&cluster_id(SUB), Schema::EventGrid)),
        (read("spec-cloudevents-resource-delete-success.json"), cluster_write_event(&cluster_id(SUB), Schema::CloudEvents)),
    ];
    for (sample, built) in cases {
        assert_eq!(keys(&built), keys(&sample), "envelope fields");
        assert_eq!(keys(&built["data"]), keys(&sample["data"]), "data fields");
        assert_eq!(keys(&built["data"]["httpRequest"]), keys(&sample["data"]["httpRequest"]));
        assert_eq!(keys(&built["data"]["authorization"]), keys(&sample["data"]["authorization"]));
    }
}

#[test]
fn builders_are_deterministic_and_ids_differ_per_operation() {
    let cluster = cluster_id(SUB);
    assert_eq!(cluster_write_event(&cluster, Schema::EventGrid), cluster_write_event(&cluster, Schema::EventGrid));
    let write = cluster_write_event(&cluster, Schema::EventGrid);
    let delete = cluster_delete_event(&cluster, Schema::EventGrid);
    let command = reconcile_command(&cluster);
    assert_ne!(write["id"], delete["id"]);
    assert_ne!(write["id"], command["id"]);
    assert_ne!(write["id"], cluster_write_event(&cluster_id(super::OTHER_SUB), Schema::EventGrid)["id"]);
}
