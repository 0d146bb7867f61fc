//! Dispatch against the simulator: a registry attached later is wired after reading the assignment
//! from ARM; assignments that are not AcrPull or not for a kubelet identity are ignored; hostile or
//! out-of-scope events cost zero ARM calls; a deleted cluster's dedicated identity is garbage-collected
//! only when enabled, only once the cluster is really gone, and only if fleetgate's tags say it is ours.

mod common;

use std::sync::Arc;

use common::*;
use fleetgate::dispatch::{Dispatcher, MessageOutcome, Settle};
use fleetgate::events::{Schema, cluster_delete_event, cluster_write_event, role_assignment_write_event};
use fleetgate::id::ResourceId;
use serde_json::json;

const OTHER_PRINCIPAL: &str = "22222222-2222-2222-2222-222222222222";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

fn fleet() -> String {
    let ghost_principal = r#"principal_id = "33333333-3333-3333-3333-333333333333""#;
    fleet::sub1_with_acrone()
        .principals(&[OTHER_PRINCIPAL])
        .registry(SUB1, "rg-acr", "acrlater")
        .cluster(SUB1, "rg-aks", "aks-1", &[&fleet::attached(["acrone"])])
        .identity(SUB1, "rg-aks", "ghost-defender-gating", &[ghost_principal, &fleet::fleetgate_tags(&cluster_id(SUB1, "rg-aks", "ghost"))])
        .identity(SUB1, "rg-aks", "stranger-defender-gating", &[r#"tags = { "managed-by" = "terraform" }"#])
        .acr_pull(
            &registry_id(SUB1, "rg-acr", "acrone"),
            "33333333-3333-3333-3333-333333333333",
            // Under fleetgate's deterministic name: garbage collection deletes only assignments it made.
            &[r#"principal_type = "ServicePrincipal""#, &format!("name = \"{}\"", ghost_assignment().name())],
        )
        .build()
}

/// The AcrPull assignment fleetgate made for the ghost cluster's gating identity on `acrone`.
fn ghost_assignment() -> ResourceId {
    fleetgate::core::names::acr_pull_assignment_id(&registry("acrone"), "33333333-3333-3333-3333-333333333333").unwrap()
}

fn registry(name: &str) -> ResourceId {
    ResourceId::parse(&registry_id(SUB1, "rg-acr", name)).unwrap()
}

fn aks1() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-1")).unwrap()
}

async fn dispatcher(gc: bool) -> (TestEnv, Dispatcher) {
    let env = start(&fleet(), &[SUB1], |s| s.gating.gc_on_delete = gc).await;
    let d = Dispatcher::new(env.engine.clone(), Arc::new(env.settings.clone()));
    (env, d)
}

/// Writes a role assignment through ARM, as `az aks update --attach-acr` (or a user) would.
async fn assign(env: &TestEnv, scope: &ResourceId, role_guid: &str, principal: &str, name: &str) -> ResourceId {
    let id = scope.child_provider("Microsoft.Authorization", "roleAssignments", name).unwrap();
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
        "principalId": principal, "principalType": "ServicePrincipal"}});
    arm_client(&env.settings).put(id.as_str(), "2022-04-01", &body, None).await.expect("role assignment PUT");
    id
}

fn kubelet_of(env: &TestEnv, cluster: &ResourceId) -> String {
    let doc = env.sim.with_state(|s| s.cluster_document(cluster.as_str())).unwrap();
    doc["properties"]["identityProfile"]["kubeletidentity"]["objectId"].as_str().unwrap().to_string()
}

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn registry_attached_later_is_wired_into_gating() {
    let (env, d) = dispatcher(false).await;
    let first = d.handle(&body(cluster_write_event(&aks1(), Schema::EventGrid))).await;
    assert_eq!(first.outcome, MessageOutcome::Converged, "{first:?}");
    let kubelet = kubelet_of(&env, &aks1());
    let ra =
        assign(&env, &registry("acrlater"), "7f951dda-4ed3-4680-a7ca-43fe172d538d", &kubelet, "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0001").await;
    let handled = d.handle(&body(role_assignment_write_event(&ra, Schema::CloudEvents))).await;
    assert_eq!((handled.outcome, &handled.settle), (MessageOutcome::Converged, &Settle::Complete), "{handled:?}");
    assert_eq!(handled.cluster.as_ref(), Some(&aks1()));
    let doc = env.sim.with_state(|s| s.cluster_document(aks1().as_str())).unwrap();
    let entries: Vec<String> = doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["azureContainerRegistry"].as_str().unwrap().to_string())
        .collect();
    assert!(entries.contains(&"acrlater.azurecr.io".to_string()), "{entries:?}");
}

#[tokio::test]
async fn non_acr_pull_and_non_kubelet_assignments_are_ignored_without_writes() {
    let (env, d) = dispatcher(false).await;
    let kubelet = kubelet_of(&env, &aks1());
    let reader = assign(&env, &registry("acrlater"), READER, &kubelet, "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0002").await;
    let stranger = assign(
        &env,
        &registry("acrlater"),
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        OTHER_PRINCIPAL,
        "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0003",
    )
    .await;
    env.sim.clear_journal();
    let h = d.handle(&body(role_assignment_write_event(&reader, Schema::EventGrid))).await;
    assert_eq!((h.outcome, h.reason.as_deref()), (MessageOutcome::Ignored, Some("not_acr_pull")));
    let h = d.handle(&body(role_assignment_write_event(&stranger, Schema::EventGrid))).await;
    assert_eq!((h.outcome, h.reason.as_deref()), (MessageOutcome::Ignored, Some("not_a_kubelet_identity")));
    assert_eq!(writes(&env.sim.journal()).len(), 0);
}

#[tokio::test]
async fn a_vanished_assignment_is_ignored_after_brief_retries() {
    let (env, d) = dispatcher(false).await;
    let gone =
        registry("acrlater").child_provider("Microsoft.Authorization", "roleAssignments", "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0009").unwrap();
    let h = d.handle(&body(role_assignment_write_event(&gone, Schema::EventGrid))).await;
    assert_eq!((h.outcome, h.reason.as_deref()), (MessageOutcome::Ignored, Some("role_assignment_not_found")));
    let gets = env.sim.journal().iter().filter(|e| e.is_arm() && e.path.contains("0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0009")).count();
    assert_eq!(gets, 4, "replication: the GET is retried, boundedly");
}

#[tokio::test]
async fn hostile_and_out_of_scope_events_cost_zero_arm_calls() {
    let (env, d) = dispatcher(false).await;
    env.sim.clear_journal();
    let foreign = ResourceId::parse(&cluster_id(SUB2, "rg", "theirs")).unwrap();
    let h = d.handle(&body(cluster_write_event(&foreign, Schema::EventGrid))).await;
    assert_eq!((h.outcome, h.reason.as_deref(), &h.settle), (MessageOutcome::Ignored, Some("out_of_scope"), &Settle::Complete));
    let h = d.handle(b"{not json").await;
    assert_eq!(h.outcome, MessageOutcome::Rejected);
    assert!(matches!(h.settle, Settle::Park(ref r) if !r.is_empty()));
    let mut traversal = cluster_write_event(&aks1(), Schema::EventGrid);
    let evil = format!("/subscriptions/{SUB1}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/../../x");
    traversal["subject"] = json!(evil);
    traversal["data"]["resourceUri"] = json!(evil);
    let h = d.handle(&body(traversal)).await;
    assert_eq!(h.outcome, MessageOutcome::Rejected, "{h:?}");
    assert!(env.sim.journal().iter().all(|e| !e.is_arm()), "no ARM call for hostile or foreign events");
}

#[tokio::test]
async fn deleted_cluster_identity_is_collected_only_when_enabled_and_ours() {
    let ghost = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "ghost")).unwrap();
    let (env, d) = dispatcher(false).await;
    let h = d.handle(&body(cluster_delete_event(&ghost, Schema::EventGrid))).await;
    assert_eq!((h.outcome, h.reason.as_deref()), (MessageOutcome::Ignored, Some("gc_on_delete_disabled")));
    assert_eq!(writes(&env.sim.journal()).len(), 0);

    let (env, d) = dispatcher(true).await;
    let still_there = d.handle(&body(cluster_delete_event(&aks1(), Schema::EventGrid))).await;
    assert_eq!(still_there.reason.as_deref(), Some("cluster_still_exists"), "the event alone is not trusted");
    let before = env.sim.with_state(|s| s.counts());
    let h = d.handle(&body(cluster_delete_event(&ghost, Schema::CloudEvents))).await;
    assert_eq!(h.outcome, MessageOutcome::Converged, "{h:?}");
    let after = env.sim.with_state(|s| s.counts());
    assert_eq!(before.identities - after.identities, 1);
    assert_eq!(before.role_assignments - after.role_assignments, 1);
    let again = d.handle(&body(cluster_delete_event(&ghost, Schema::CloudEvents))).await;
    assert_eq!(again.reason.as_deref(), Some("identity_already_gone"));
    let stranger = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "stranger")).unwrap();
    let h = d.handle(&body(cluster_delete_event(&stranger, Schema::EventGrid))).await;
    assert_eq!(h.reason.as_deref(), Some("identity_not_managed_by_fleetgate_for_this_cluster"));
    assert_eq!(env.sim.with_state(|s| s.counts()).identities, after.identities, "an identity fleetgate did not tag is never deleted");
}
