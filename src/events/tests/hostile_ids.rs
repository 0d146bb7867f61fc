//! Classification of well-formed events that name odd, foreign or hostile resources: each case has an
//! explicit expected trigger (ignored with a label, or rejected with the parser's or a consistency message).

use serde_json::{Value, json};

use super::super::{
    IgnoreReason, ReconcileReason, Schema, Trigger, cluster_delete_event, cluster_write_event, decode, reconcile_command,
    role_assignment_write_event,
};
use super::{OTHER_SUB, SUB, assignment_id, cluster_id, edited, outcome, registry_id, scope};

enum Want {
    Ignore(IgnoreReason),
    Reject(&'static str),
    Reconcile,
}

/// Sets subject and data.resourceUri to `target`.
fn at(mut v: Value, target: &str) -> Value {
    v["subject"] = json!(target);
    v["data"]["resourceUri"] = json!(target);
    v
}

fn cluster_write(schema: Schema) -> Value {
    cluster_write_event(&cluster_id(SUB), schema)
}

fn cases(schema: Schema) -> Vec<(&'static str, Vec<u8>, Want)> {
    use IgnoreReason::*;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-fleet");
    let cluster = cluster_id(SUB).to_string();
    let ra_at = |scope: &str| {
        at(
            role_assignment_write_event(&assignment_id(SUB), schema),
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0f0e0d0c-0b0a-4909-8807-060504030201"),
        )
    };
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    vec![
        ("other subscription", body(cluster_write_event(&cluster_id(OTHER_SUB), schema)), Want::Ignore(OutOfScope)),
        (
            "other tenant and subscription",
            edited(cluster_write_event(&cluster_id(OTHER_SUB), schema), |v| {
                v["data"]["tenantId"] = json!("11111111-2222-4333-8444-555555555555")
            }),
            Want::Ignore(OutOfScope),
        ),
        (
            "role assignment in other subscription",
            body(role_assignment_write_event(&assignment_id(OTHER_SUB), schema)),
            Want::Ignore(OutOfScope),
        ),
        ("delete in other subscription", body(cluster_delete_event(&cluster_id(OTHER_SUB), schema)), Want::Ignore(OutOfScope)),
        (
            "'..' segment",
            body(at(cluster_write(schema), &format!("{rg}/providers/Microsoft.ContainerService/managedClusters/../x"))),
            Want::Reject("'.' or '..' segment"),
        ),
        (
            "'..' only in subject",
            edited(cluster_write(schema), |v| v["subject"] = json!(format!("{cluster}/.."))),
            Want::Reject("field subject: invalid ARM resource ID"),
        ),
        (
            "encoded slash",
            body(at(cluster_write(schema), &format!("{rg}/providers/Microsoft.ContainerService%2FmanagedClusters/x"))),
            Want::Reject("percent-encoding"),
        ),
        ("trailing slash", body(at(cluster_write(schema), &format!("{cluster}/"))), Want::Reject("empty path segment")),
        (
            "double slash",
            body(at(cluster_write(schema), &cluster.replace("/providers/", "//providers/"))),
            Want::Reject("empty path segment"),
        ),
        ("query string", body(at(cluster_write(schema), &format!("{cluster}?api-version=2025-01-01"))), Want::Reject("query")),
        (
            "placeholder subscription",
            body(at(
                cluster_write(schema),
                "/subscriptions/{subscription-id}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
            )),
            Want::Reject("not a GUID"),
        ),
        (
            "resourceUri and subject differ",
            edited(cluster_write(schema), |v| v["subject"] = json!(cluster.replace("aks-prod-1", "aks-prod-2"))),
            Want::Reject("names two different resources"),
        ),
        (
            "casing differs between subject and resourceUri",
            edited(cluster_write(schema), |v| v["subject"] = json!(cluster.to_lowercase())),
            Want::Reconcile,
        ),
        (
            "subscriptionId mismatch",
            edited(cluster_write(schema), |v| v["data"]["subscriptionId"] = json!(OTHER_SUB)),
            Want::Reject("data.subscriptionId"),
        ),
        (
            "subject only (no resourceUri)",
            edited(cluster_write(schema), |v| drop(v["data"].as_object_mut().unwrap().remove("resourceUri"))),
            Want::Reconcile,
        ),
        (
            "no operationName",
            edited(cluster_write(schema), |v| drop(v["data"].as_object_mut().unwrap().remove("operationName"))),
            Want::Reject("no data.operationName"),
        ),
        (
            "odd casing everywhere",
            body(edited_value(
                at(
                    cluster_write(schema),
                    &cluster.to_uppercase().replace(&SUB.to_uppercase(), SUB).replace("/SUBSCRIPTIONS/", "/subscriptions/"),
                ),
                |v| {
                    v["data"]["operationName"] = json!("MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/WRITE");
                },
            )),
            Want::Reconcile,
        ),
        (
            "agent pool under cluster write op",
            body(at(cluster_write(schema), &format!("{cluster}/agentPools/nodepool1"))),
            Want::Ignore(NotAManagedCluster),
        ),
        (
            "agent pool write",
            edited(at(cluster_write(schema), &format!("{cluster}/agentPools/nodepool1")), |v| {
                v["data"]["operationName"] = json!("Microsoft.ContainerService/managedClusters/agentPools/write")
            }),
            Want::Ignore(NotAClusterWrite),
        ),
        (
            "cluster op on a storage account",
            body(at(cluster_write(schema), &format!("{rg}/providers/Microsoft.Storage/storageAccounts/st1"))),
            Want::Ignore(NotAManagedCluster),
        ),
        (
            "cluster as an extension of another resource",
            body(at(cluster_write(schema), &format!("{}/providers/Microsoft.ContainerService/managedClusters/c", registry_id(SUB)))),
            Want::Ignore(NotAManagedCluster),
        ),
        (
            "cluster without a resource group",
            body(at(cluster_write(schema), &format!("/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters/c"))),
            Want::Ignore(NotAManagedCluster),
        ),
        (
            "storage write",
            edited(at(cluster_write(schema), &format!("{rg}/providers/Microsoft.Storage/storageAccounts/st1")), |v| {
                v["data"]["operationName"] = json!("Microsoft.Storage/storageAccounts/write")
            }),
            Want::Ignore(NotAClusterWrite),
        ),
        (
            "deployment write",
            edited(cluster_write(schema), |v| v["data"]["operationName"] = json!("Microsoft.Resources/deployments/write")),
            Want::Ignore(NotAClusterWrite),
        ),
        ("role assignment on subscription", body(ra_at(&format!("/subscriptions/{SUB}"))), Want::Ignore(NotARegistryScope)),
        ("role assignment on resource group", body(ra_at(&rg)), Want::Ignore(NotARegistryScope)),
        ("role assignment on a cluster", body(ra_at(&cluster)), Want::Ignore(NotARegistryScope)),
        (
            "role assignment on a registry child",
            body(ra_at(&format!("{}/scopeMaps/pull", registry_id(SUB)))),
            Want::Ignore(NotARegistryScope),
        ),
        (
            "role assignment op on a registry itself",
            body(at(role_assignment_write_event(&assignment_id(SUB), schema), registry_id(SUB).as_str())),
            Want::Ignore(NotARoleAssignment),
        ),
        (
            "write failure",
            edited(cluster_write(schema), |v| set_type(v, schema, "Microsoft.Resources.ResourceWriteFailure")),
            Want::Ignore(OperationNotSucceeded),
        ),
        (
            "write cancel",
            edited(cluster_write(schema), |v| set_type(v, schema, "Microsoft.Resources.ResourceWriteCancel")),
            Want::Ignore(OperationNotSucceeded),
        ),
        (
            "delete failure",
            edited(cluster_write(schema), |v| set_type(v, schema, "Microsoft.Resources.ResourceDeleteFailure")),
            Want::Ignore(OperationNotSucceeded),
        ),
        (
            "action success",
            edited(cluster_write(schema), |v| set_type(v, schema, "Microsoft.Resources.ResourceActionSuccess")),
            Want::Ignore(UnsupportedEventType),
        ),
        (
            "AKS system event",
            edited(cluster_write(schema), |v| set_type(v, schema, "Microsoft.ContainerService.NodePoolRollingFailed")),
            Want::Ignore(UnsupportedEventType),
        ),
        (
            "odd-case event type",
            edited(cluster_write(schema), |v| set_type(v, schema, "microsoft.resources.resourcewritesuccess")),
            Want::Reconcile,
        ),
        (
            "storage delete",
            edited(
                at(cluster_delete_event(&cluster_id(SUB), schema), &format!("{rg}/providers/Microsoft.Storage/storageAccounts/st1")),
                |v| v["data"]["operationName"] = json!("Microsoft.Storage/storageAccounts/delete"),
            ),
            Want::Ignore(NotAClusterDelete),
        ),
        (
            "agent pool delete",
            edited(at(cluster_delete_event(&cluster_id(SUB), schema), &format!("{cluster}/agentPools/np")), |v| {
                v["data"]["operationName"] = json!("Microsoft.ContainerService/managedClusters/agentPools/delete")
            }),
            Want::Ignore(NotAClusterDelete),
        ),
    ]
}

fn edited_value(mut v: Value, edit: impl FnOnce(&mut Value)) -> Value {
    edit(&mut v);
    v
}

fn set_type(v: &mut Value, schema: Schema, ty: &str) {
    let key = if schema == Schema::EventGrid { "eventType" } else { "type" };
    v[key] = json!(ty);
}

fn check(case: &str, body: &[u8], want: &Want) {
    let got = outcome(body).unwrap_or_else(|e| panic!("{case}: decode failed: {e}"));
    match (want, &got) {
        (Want::Ignore(r), Trigger::Ignored { reason }) if r == reason => {}
        (Want::Reject(phrase), Trigger::Rejected { reason }) if reason.contains(phrase) => {}
        (Want::Reconcile, Trigger::ReconcileCluster { cluster, reason: ReconcileReason::ClusterWrite }) if *cluster == cluster_id(SUB) => {}
        _ => panic!("{case}: unexpected {got:?}"),
    }
}

#[test]
fn hostile_and_foreign_ids_in_event_grid_schema() {
    for (case, body, want) in cases(Schema::EventGrid) {
        check(case, &body, &want);
    }
}

#[test]
fn hostile_and_foreign_ids_in_cloudevents() {
    for (case, body, want) in cases(Schema::CloudEvents) {
        check(case, &body, &want);
    }
}

#[test]
fn resource_uri_or_subject_alone_is_enough_and_neither_is_rejected() {
    let uri_only = edited(cluster_write(Schema::CloudEvents), |v| drop(v.as_object_mut().unwrap().remove("subject")));
    check("resourceUri only", &uri_only, &Want::Reconcile);
    let neither = edited(cluster_write(Schema::CloudEvents), |v| {
        v.as_object_mut().unwrap().remove("subject");
        v["data"].as_object_mut().unwrap().remove("resourceUri");
    });
    check("neither", &neither, &Want::Reject("names no resource"));
}

#[test]
fn canonical_id_comes_out_whatever_the_casing() {
    let lower = cluster_id(SUB).as_str().to_lowercase();
    let event = decode(&edited(cluster_write(Schema::EventGrid), |v| {
        v["subject"] = json!(lower);
        v["data"]["resourceUri"] = json!(lower);
    }))
    .unwrap();
    let Trigger::ReconcileCluster { cluster, .. } = super::super::classify(&event, &scope()) else { panic!() };
    assert!(cluster.as_str().contains("/resourceGroups/") && cluster.as_str().contains("/providers/"), "{cluster}");
    assert_eq!(cluster, cluster_id(SUB));
}

#[test]
fn commands_are_checked_like_events() {
    let cmd = |subject: Value| edited(reconcile_command(&cluster_id(SUB)), |v| v["subject"] = subject);
    let eg_command = edited(cluster_write(Schema::EventGrid), |v| v["eventType"] = json!("io.fleetgate.reconcile"));
    let cases = [
        ("other subscription", cmd(json!(cluster_id(OTHER_SUB).as_str())), Want::Ignore(IgnoreReason::OutOfScope)),
        ("no subject", cmd(Value::Null), Want::Reject("has no subject")),
        ("'..' subject", cmd(json!(format!("{}/..", cluster_id(SUB)))), Want::Reject("'..'")),
        ("registry subject", cmd(json!(registry_id(SUB).as_str())), Want::Reject("is not a managed cluster ID")),
        ("agent pool subject", cmd(json!(format!("{}/agentPools/np", cluster_id(SUB)))), Want::Reject("is not a managed cluster ID")),
        ("Event Grid schema command", eg_command, Want::Reject("must be CloudEvents 1.0")),
    ];
    for (case, body, want) in cases {
        check(case, &body, &want);
    }
}

#[test]
fn ignore_labels_are_stable_and_unique() {
    let labels: Vec<&str> = IgnoreReason::ALL.iter().map(|r| r.label()).collect();
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), labels.len());
    assert!(labels.iter().all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    assert_eq!(serde_json::to_value(IgnoreReason::OutOfScope).unwrap(), json!("out_of_scope"));
    assert_eq!(IgnoreReason::NotARegistryScope.to_string(), "not_a_registry_scope");
}
