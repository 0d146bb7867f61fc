//! The unchanged-cluster memo on the event path, against the simulator, counted in its journal: a
//! repeated cluster-write event for a compliant cluster costs exactly one ARM read (the cluster GET);
//! agent-pool scaling (a new ETag) keeps it; a removed gating entry changes the document and is
//! repaired on the next event; registry-attached events and reconcile commands always observe fully;
//! a failed reconcile forgets the entry; `gating.unchanged_cluster_ttl = "0s"` turns it off.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use fleetgate::dispatch::{Dispatcher, Handled, MessageOutcome, Settle};
use fleetgate::events::{Schema, cluster_write_event, reconcile_command, role_assignment_write_event};
use fleetgate::id::ResourceId;
use fleetgate::reconcile::MEMO_REASON;
use fleetgate::sim::JournalEntry;
use fleetgate::sim::faults::FaultRule;
use serde_json::{Value, json};

const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

fn fleet() -> String {
    format!(
        r#"
[[subscriptions]]
id = "{SUB1}"
defender = "full"

[[registries]]
subscription = "{SUB1}"
resource_group = "rg-acr"
name = "acrone"

[[registries]]
subscription = "{SUB1}"
resource_group = "rg-acr"
name = "acrlater"

[[clusters]]
subscription = "{SUB1}"
resource_group = "rg-aks"
name = "aks-1"
attached_registries = ["acrone"]
compliant = true
"#
    )
}

fn aks1() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-1")).unwrap()
}

async fn setup(ttl: Duration) -> (TestEnv, Dispatcher) {
    let env = start(&fleet(), &[SUB1], |s| s.gating.unchanged_cluster_ttl = ttl).await;
    let d = Dispatcher::new(env.engine.clone(), Arc::new(env.settings.clone()));
    (env, d)
}

/// Handles one event and returns what it did plus the ARM requests it cost.
async fn handle(env: &TestEnv, d: &Dispatcher, event: Value) -> (Handled, Vec<JournalEntry>) {
    env.sim.clear_journal();
    let handled = d.handle(&serde_json::to_vec(&event).unwrap()).await;
    let arm = env.sim.journal().into_iter().filter(|e| e.is_arm()).collect();
    (handled, arm)
}

fn write_event() -> Value {
    cluster_write_event(&aks1(), Schema::EventGrid)
}

fn from_memo(h: &Handled) -> bool {
    h.reason.as_deref().is_some_and(|r| r.starts_with(MEMO_REASON))
}

/// Exactly one request, and it is the cluster GET.
fn only_the_cluster_get(requests: &[JournalEntry]) -> bool {
    requests.len() == 1 && requests[0].method == "GET" && requests[0].path.eq_ignore_ascii_case(aks1().as_str())
}

/// A full observation reads the cluster and much more (role assignments, registries, identity, FICs, pricing).
fn full_observation(requests: &[JournalEntry]) -> bool {
    requests.iter().filter(|e| e.is_read()).count() >= 5 && requests.iter().any(|e| e.path.contains("/federatedIdentityCredentials"))
}

/// Changes the cluster as another writer would (GET → edit → PUT If-Match → LRO).
async fn edit_cluster(env: &TestEnv, edit: impl FnOnce(&mut Value)) {
    let (arm, version) = (env.engine.arm(), &env.settings.azure.api_versions.managed_clusters);
    let resp = arm.get(aks1().as_str(), version).await.unwrap().unwrap();
    let mut doc = resp.body.clone();
    edit(&mut doc);
    let put = arm.put(aks1().as_str(), version, &doc, resp.etag.as_deref()).await.unwrap();
    arm.wait_for_lro(&put).await.unwrap();
}

fn gating_entries(env: &TestEnv) -> usize {
    let doc = env.sim.with_state(|s| s.cluster_document(aks1().as_str())).unwrap();
    doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_repeated_cluster_write_event_for_a_compliant_cluster_costs_one_cluster_get() {
    let (env, d) = setup(Duration::from_secs(60)).await;
    let (first, requests) = handle(&env, &d, write_event()).await;
    assert_eq!((first.outcome, first.reason.as_deref()), (MessageOutcome::Compliant, None), "{first:?}");
    assert!(full_observation(&requests), "the first event observes fully: {requests:#?}");
    assert_eq!(d.memo_len(), 1);

    // An Event Grid duplicate (same event id) and a later write event: one GET each, nothing else.
    for n in 1..=2 {
        let (again, requests) = handle(&env, &d, write_event()).await;
        assert_eq!((again.outcome, &again.settle), (MessageOutcome::Compliant, &Settle::Complete), "{again:?}");
        assert!(from_memo(&again), "the reason says it came from the memo: {again:?}");
        assert!(only_the_cluster_get(&requests), "exactly one ARM read, the cluster GET: {requests:#?}");
        assert_eq!(d.memo_hits(), n);
    }
}

#[tokio::test]
async fn agent_pool_scaling_keeps_the_memo_and_a_removed_gating_entry_is_repaired_on_the_next_event() {
    let (env, d) = setup(Duration::from_secs(60)).await;
    assert_eq!(handle(&env, &d, write_event()).await.0.outcome, MessageOutcome::Compliant);
    let entries = gating_entries(&env);
    assert!(entries >= 1);

    edit_cluster(&env, |doc| {
        doc["properties"]["agentPoolProfiles"] = json!([{"name": "nodepool1", "count": 7, "vmSize": "Standard_D4s_v5"}])
    })
    .await;
    let (scaled, requests) = handle(&env, &d, write_event()).await;
    assert!(scaled.outcome == MessageOutcome::Compliant && from_memo(&scaled), "a new ETag alone changes nothing: {scaled:?}");
    assert!(only_the_cluster_get(&requests), "{requests:#?}");

    edit_cluster(&env, |doc| doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!([])).await;
    assert_eq!(gating_entries(&env), 0);
    let (repaired, requests) = handle(&env, &d, write_event()).await;
    assert_eq!(repaired.outcome, MessageOutcome::Converged, "{repaired:?}");
    assert!(!from_memo(&repaired));
    assert!(full_observation(&requests), "a changed document is observed fully: {requests:#?}");
    let writes: Vec<&str> = writes(&requests).iter().filter(|e| (200..300).contains(&e.status)).map(|e| e.path.as_str()).collect();
    assert_eq!(writes, vec![aks1().as_str()], "exactly the gating entry is put back");
    assert_eq!(gating_entries(&env), entries);

    let (after, requests) = handle(&env, &d, write_event()).await;
    assert!(from_memo(&after) && only_the_cluster_get(&requests), "the converged cluster is remembered: {after:?} {requests:#?}");
}

#[tokio::test]
async fn reconcile_commands_and_registry_attached_events_always_observe_fully() {
    let (env, d) = setup(Duration::from_secs(60)).await;
    assert_eq!(handle(&env, &d, write_event()).await.0.outcome, MessageOutcome::Compliant);
    assert_eq!(d.memo_len(), 1);

    let (command, requests) = handle(&env, &d, reconcile_command(&aks1())).await;
    assert_eq!((command.outcome, command.reason.as_deref()), (MessageOutcome::Compliant, None), "{command:?}");
    assert!(full_observation(&requests), "a reconcile command bypasses the memo: {requests:#?}");

    // The kubelet identity gets AcrPull on a second registry: the cluster document does not change,
    // so only a full observation can find the registry that must be wired.
    let doc = env.sim.with_state(|s| s.cluster_document(aks1().as_str())).unwrap();
    let kubelet = doc["properties"]["identityProfile"]["kubeletidentity"]["objectId"].as_str().unwrap().to_string();
    let registry = ResourceId::parse(&format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrlater"
    ))
    .unwrap();
    let assignment = registry.child_provider("Microsoft.Authorization", "roleAssignments", "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0042").unwrap();
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"),
        "principalId": kubelet, "principalType": "ServicePrincipal"}});
    env.engine.arm().put(assignment.as_str(), "2022-04-01", &body, None).await.unwrap();
    let (attached, requests) = handle(&env, &d, role_assignment_write_event(&assignment, Schema::CloudEvents)).await;
    assert_eq!(attached.outcome, MessageOutcome::Converged, "{attached:?}");
    assert!(full_observation(&requests), "{requests:#?}");
    assert!(writes(&requests).iter().any(|e| e.path.to_ascii_lowercase().contains("/registries/acrlater/")), "{requests:#?}");
    assert_eq!(d.memo_hits(), 0);
}

#[tokio::test]
async fn a_failed_reconcile_forgets_the_cluster() {
    let (env, d) = setup(Duration::from_secs(60)).await;
    assert_eq!(handle(&env, &d, write_event()).await.0.outcome, MessageOutcome::Compliant);
    env.sim.add_fault(FaultRule {
        method: Some("GET".into()),
        path: "*/federatedIdentityCredentials".into(),
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        message: None,
        retry_after: None,
        latency_ms: None,
        reset: false,
        count: Some(1),
        probability: None,
    });
    let (failed, _) = handle(&env, &d, reconcile_command(&aks1())).await;
    assert_eq!(failed.outcome, MessageOutcome::Failed, "{failed:?}");
    assert_eq!(d.memo_len(), 0, "a failed reconcile leaves no entry");
    let (next, requests) = handle(&env, &d, write_event()).await;
    assert!(next.outcome == MessageOutcome::Compliant && !from_memo(&next), "{next:?}");
    assert!(full_observation(&requests), "{requests:#?}");
}

#[tokio::test]
async fn zero_ttl_disables_the_memo() {
    let (env, d) = setup(Duration::ZERO).await;
    let mut reads = Vec::new();
    for _ in 0..3 {
        let (h, requests) = handle(&env, &d, write_event()).await;
        assert!(h.outcome == MessageOutcome::Compliant && !from_memo(&h), "{h:?}");
        assert!(full_observation(&requests), "{requests:#?}");
        reads.push(requests.len());
    }
    assert!(reads.windows(2).all(|w| w[0] == w[1]), "every event costs the same full observation: {reads:?}");
    assert_eq!((d.memo_hits(), d.memo_len()), (0, 0));
}
