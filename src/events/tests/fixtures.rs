//! Every public sample in `azure-fixtures/events/` decodes, and classifies as expected. A new sample
//! without an entry in [`EXPECTED`] fails the test, so none is skipped.

use serde_json::{Value, json};
use std::path::PathBuf;

use super::super::{IgnoreReason, ReconcileReason, Schema, Trigger};
use super::{SUB, assignment_id, bytes, cluster_id, decode, outcome, scope, shared_dir};

/// (file, schema, event type, expected ignore reason). All public samples are noise for fleetgate:
/// none is a managedClusters or roleAssignments event (SOURCES.md, "NOT FOUND").
const EXPECTED: &[(&str, Schema, &str, IgnoreReason)] = {
    use IgnoreReason::*;
    use Schema::*;
    &[
        ("javasdk-eventgrid-event-no-array-storage-blob-deleted.json", EventGrid, "Microsoft.Storage.BlobDeleted", UnsupportedEventType),
        ("javasdk-resource-write-success-array.json", EventGrid, "Microsoft.Resources.ResourceWriteSuccess", NotAClusterWrite),
        (
            "spec-cloudevents-aks-new-kubernetes-version-available.json",
            CloudEvents,
            "Microsoft.ContainerService.NewKubernetesVersionAvailable",
            UnsupportedEventType,
        ),
        ("spec-cloudevents-resource-action-success.json", CloudEvents, "Microsoft.Resources.ResourceActionSuccess", UnsupportedEventType),
        ("spec-cloudevents-resource-delete-success.json", CloudEvents, "Microsoft.Resources.ResourceDeleteSuccess", NotAClusterDelete),
        ("spec-cloudevents-resource-write-success.json", CloudEvents, "Microsoft.Resources.ResourceWriteSuccess", NotAClusterWrite),
        (
            "spec-eventgrid-aks-cluster-support-ended.json",
            EventGrid,
            "Microsoft.ContainerService.ClusterSupportEnded",
            UnsupportedEventType,
        ),
        (
            "spec-eventgrid-aks-cluster-support-ending.json",
            EventGrid,
            "Microsoft.ContainerService.ClusterSupportEnding",
            UnsupportedEventType,
        ),
        (
            "spec-eventgrid-aks-new-kubernetes-version-available.json",
            EventGrid,
            "Microsoft.ContainerService.NewKubernetesVersionAvailable",
            UnsupportedEventType,
        ),
        (
            "spec-eventgrid-aks-node-pool-rolling-failed.json",
            EventGrid,
            "Microsoft.ContainerService.NodePoolRollingFailed",
            UnsupportedEventType,
        ),
        (
            "spec-eventgrid-aks-node-pool-rolling-started.json",
            EventGrid,
            "Microsoft.ContainerService.NodePoolRollingStarted",
            UnsupportedEventType,
        ),
        (
            "spec-eventgrid-aks-node-pool-rolling-succeeded.json",
            EventGrid,
            "Microsoft.ContainerService.NodePoolRollingSucceeded",
            UnsupportedEventType,
        ),
        ("spec-eventgrid-resource-action-success.json", EventGrid, "Microsoft.Resources.ResourceActionSuccess", UnsupportedEventType),
        ("spec-eventgrid-resource-delete-success.json", EventGrid, "Microsoft.Resources.ResourceDeleteSuccess", NotAClusterDelete),
        ("spec-eventgrid-resource-write-success.json", EventGrid, "Microsoft.Resources.ResourceWriteSuccess", NotAClusterWrite),
    ]
};

fn events_dir() -> PathBuf {
    let dir = shared_dir().join("azure-fixtures/events");
    assert!(dir.is_dir(), "event fixture directory {} is missing", dir.display());
    dir
}

fn sample_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(events_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn every_sample_decodes_and_classifies_as_expected() {
    let files = sample_files();
    assert!(files.len() >= EXPECTED.len(), "only {} samples found", files.len());
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let Some((_, schema, event_type, reason)) = EXPECTED.iter().find(|(f, ..)| *f == name) else {
            panic!("new event sample {name}: add its expected outcome to EXPECTED in src/events/tests/fixtures.rs");
        };
        let body = std::fs::read(path).unwrap();
        let event = decode(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.schema, *schema, "{name}");
        assert_eq!(event.event_type, *event_type, "{name}");
        assert!(!event.id.is_empty() && event.time.is_some(), "{name}: {event:?}");
        assert_eq!(event.data.is_some(), event_type.starts_with("Microsoft.Resources."), "{name}");
        assert_eq!(super::super::classify(&event, &scope()), Trigger::Ignored { reason: *reason }, "{name}");
    }
    for (name, ..) in EXPECTED {
        assert!(files.iter().any(|p| p.ends_with(name)), "EXPECTED lists {name}, which is not in the fixture directory");
    }
}

#[test]
fn sample_times_keep_their_fractions() {
    let cases = [
        ("spec-eventgrid-resource-write-success.json", 611_735_700),    // 7 digits
        ("spec-eventgrid-resource-delete-success.json", 763_881_000),   // 6 digits
        ("spec-cloudevents-resource-delete-success.json", 763_881_000), // 7 digits, trailing 0
    ];
    for (name, nanos) in cases {
        let event = decode(&bytes(&sample(name))).unwrap();
        assert_eq!(event.time.unwrap().nanosecond(), nanos, "{name}");
    }
}

#[test]
fn sample_data_fields_are_read() {
    let event = decode(&bytes(&sample("javasdk-resource-write-success-array.json"))).unwrap();
    let data = event.data.unwrap();
    assert_eq!(data.operation_name.as_deref(), Some("Microsoft.EventGrid/eventSubscriptions/write"));
    assert_eq!(data.status.as_deref(), Some("Succeeded"));
    assert_eq!(data.subscription_id.as_deref(), Some("{subscription-id}"));
    assert_eq!(data.tenant_id.as_deref(), Some("72f988bf-86f1-41af-91ab-2d7cd011db47"));
    assert_eq!(event.source.as_deref(), Some("/subscriptions/{subscription-id}"));
}

/// Points a real sample at `target` with `operation`, keeping every other field (claims, evidence, …).
fn retarget(mut value: Value, operation: &str, target: &str) -> Value {
    let event = if value.is_array() { &mut value[0] } else { &mut value };
    event["subject"] = json!(target.replacen("/resourceGroups/", "/resourcegroups/", 1));
    event["data"]["resourceUri"] = event["subject"].clone();
    event["data"]["operationName"] = json!(operation);
    event["data"]["subscriptionId"] = json!(SUB);
    value
}

#[test]
fn real_sample_shapes_carrying_cluster_and_role_assignment_events() {
    let cluster = cluster_id(SUB);
    let assignment = assignment_id(SUB);
    let write = "Microsoft.ContainerService/managedClusters/write";
    let reconcile = Trigger::ReconcileCluster { cluster: cluster.clone(), reason: ReconcileReason::ClusterWrite };
    let cases = [
        ("spec-eventgrid-resource-write-success.json", write, cluster.as_str(), reconcile.clone()),
        ("spec-cloudevents-resource-write-success.json", write, cluster.as_str(), reconcile.clone()),
        ("javasdk-resource-write-success-array.json", write, cluster.as_str(), reconcile),
        (
            "spec-eventgrid-resource-write-success.json",
            "Microsoft.Authorization/roleAssignments/write",
            assignment.as_str(),
            Trigger::RoleAssignmentWritten { assignment: assignment.clone(), registry: assignment.parent().unwrap() },
        ),
        (
            "spec-cloudevents-resource-delete-success.json",
            "Microsoft.ContainerService/managedClusters/delete",
            cluster.as_str(),
            Trigger::ClusterDeleted { cluster: cluster.clone() },
        ),
    ];
    for (name, operation, target, expected) in cases {
        let body = bytes(&retarget(sample(name), operation, target));
        assert_eq!(outcome(&body).unwrap(), expected, "{name} as {operation}");
    }
}

#[test]
fn sample_placeholders_are_not_resource_ids() {
    // A cluster write whose IDs still hold `{subscription-id}` must be rejected by the strict parser.
    let mut value = sample("spec-eventgrid-resource-write-success.json");
    value["data"]["operationName"] = json!("Microsoft.ContainerService/managedClusters/write");
    let Trigger::Rejected { reason } = outcome(&bytes(&value)).unwrap() else { panic!("not rejected") };
    assert!(reason.contains("subscription ID is not a GUID") && reason.contains("data.resourceUri"), "{reason}");
}
