//! `examples/events/`: one real-shaped message per trigger and schema (cluster created, registry
//! attached, cluster deleted in the Event Grid and CloudEvents schemas; the `io.fleetgate.reconcile`
//! command). Each file decodes and classifies as its name says, and `fleetgate run --source file:`
//! over them, in a story's order against the simulator, gives the documented outcomes.

mod common;

use std::path::{Path, PathBuf};

use common::child::FleetgateCommand;
use common::fleet::{FleetToml, attached, fleetgate_tags};
use common::*;
use fleetgate::config::ScopeSettings;
use fleetgate::events::{ReconcileReason, Trigger, classify, decode};
use fleetgate::id::ResourceId;
use fleetgate::sim::SimHandle;
use serde_json::{Value, json};

const KUBELET: &str = "5b1e2f7a-9c3d-4e8f-a0b1-c2d3e4f5a6b7";
const ASSIGNMENT: &str = "0b8c2d2e-8a44-4f3a-9d36-6d1f2b6a0a11";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/events").join(name)
}

fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

fn later_assignment() -> ResourceId {
    let acr = ResourceId::parse(&registry_id(SUB1, "rg-acr", "acrlater")).unwrap();
    acr.child_provider("Microsoft.Authorization", "roleAssignments", ASSIGNMENT).unwrap()
}

#[test]
fn every_example_is_one_message_that_classifies_as_its_name_says() {
    let scope = ScopeSettings { subscriptions: vec![SUB1.into()], exclude_tag: "fleetgate.io/exclude".into() };
    let mut seen = 0;
    for entry in std::fs::read_dir(example("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{name}: one message per line, one line per file");
        let event = decode(text.trim().as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let trigger = classify(&event, &scope);
        let expected = match name.split('.').next().unwrap() {
            "cluster-created" => Trigger::ReconcileCluster { cluster: cluster("aks-example"), reason: ReconcileReason::ClusterWrite },
            "reconcile-command" => Trigger::ReconcileCluster { cluster: cluster("aks-example"), reason: ReconcileReason::Command },
            "registry-attached" => Trigger::RoleAssignmentWritten {
                assignment: later_assignment(),
                registry: ResourceId::parse(&registry_id(SUB1, "rg-acr", "acrlater")).unwrap(),
            },
            "cluster-deleted" => Trigger::ClusterDeleted { cluster: cluster("aks-retired") },
            other => panic!("{name}: no expectation for {other}"),
        };
        assert_eq!(trigger, expected, "{name}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let cloud = name.contains(".cloudevents.");
        assert_eq!(v.get("specversion").is_some(), cloud, "{name}: the schema its name says");
        seen += 1;
    }
    assert_eq!(seen, 7, "every trigger in both schemas, and the command");
}

async fn sim() -> SimHandle {
    let retired = cluster_id(SUB1, "rg-aks", "aks-retired");
    let kubelet = format!(r#"kubelet_identity = {{ object_id = "{KUBELET}" }}"#);
    let fleet = FleetToml::new()
        .sim(&[])
        .subscription(SUB1, "full", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB1, "rg-acr", "acrlater")
        .cluster(SUB1, "rg-aks", "aks-example", &[&attached(["acrone"]), &kubelet])
        .identity(SUB1, "rg-aks", "aks-retired-defender-gating", &[&fleetgate_tags(&retired)])
        .build();
    start_sim(&fleet).await
}

/// `fleetgate run --source file:<example> -o json`: the message line's outcome and reason.
fn run(sim: &SimHandle, file: &str, env: &[(&str, &str)]) -> (String, Option<String>) {
    let path = example(file);
    let mut cmd = FleetgateCommand::new(sim, &[SUB1]);
    for (k, v) in env {
        cmd = cmd.env(k, *v);
    }
    let out = cmd.args(["run", "--source", &format!("file:{}", path.display()), "-o", "json"]).output();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{file}: {e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    let outcome = first["outcome"].as_str().unwrap_or_default().to_string();
    assert_eq!(out.status.code(), Some(if outcome == "failed" { 1 } else { 0 }), "{file}: {stdout}");
    (outcome, first["reason"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_examples_tells_the_story_of_a_cluster() {
    let sim = sim().await;
    assert_eq!(run(&sim, "cluster-created.eventgrid.jsonl", &[]).0, "converged", "a new cluster is converged");
    assert_eq!(run(&sim, "cluster-created.cloudevents.jsonl", &[]).0, "compliant", "the same event again changes nothing");

    // `az aks update --attach-acr acrlater` writes AcrPull for the kubelet identity; its event follows.
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"),
        "principalId": KUBELET, "principalType": "ServicePrincipal"}});
    arm_client(&settings_for(&sim, &[SUB1]))
        .put(later_assignment().as_str(), "2022-04-01", &body, None)
        .await
        .expect("role assignment PUT");
    assert_eq!(run(&sim, "registry-attached.eventgrid.jsonl", &[]).0, "converged", "the new registry is wired into gating");
    let doc = sim.with_state(|s| s.cluster_document(cluster("aks-example").as_str())).unwrap();
    let entries = doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"].to_string();
    assert!(entries.contains("acrlater.azurecr.io") && entries.contains("acrone.azurecr.io"), "{entries}");
    assert_eq!(run(&sim, "registry-attached.cloudevents.jsonl", &[]).0, "compliant");
    assert_eq!(run(&sim, "reconcile-command.cloudevents.jsonl", &[]).0, "compliant", "the command re-checks the cluster");

    let ignored = run(&sim, "cluster-deleted.eventgrid.jsonl", &[]);
    assert_eq!(ignored, ("ignored".into(), Some("gc_on_delete_disabled".into())), "collection is opt-in");
    let before = sim.with_state(|s| s.counts()).identities;
    let collected = run(&sim, "cluster-deleted.cloudevents.jsonl", &[("FLEETGATE__GATING__GC_ON_DELETE", "true")]);
    assert_eq!(collected.0, "converged", "{collected:?}");
    assert_eq!(sim.with_state(|s| s.counts()).identities, before - 1, "the retired cluster's identity was deleted");
}
