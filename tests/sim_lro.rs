//! fleetgate's ARM client against the simulator's recorded-AKS LRO shape: a cluster PUT answers with an
//! `Azure-AsyncOperation` URL on `…/locations/{region}/operations/{id}` with its own api-version and a long
//! signed query (`t`, `c`, `s`, `h`); the client polls that URL exactly as given, then re-reads the
//! cluster. With the `lro_location_header` knob a `Location` (operationresults) header comes too, and
//! the client still follows `Azure-AsyncOperation`.

mod common;

use common::fleet::FleetToml;
use common::*;
use fleetgate::sim::JournalEntry;
use serde_json::Value;

const API: &str = "2026-08-01";

fn fleet(lines: &[&str]) -> String {
    FleetToml::new().sim(lines).subscription(SUB1, "full", &[]).cluster(SUB1, "rg-aks", "aks-lro", &[]).build()
}

/// Runs one cluster PUT through `wait_for_lro`; returns the operation URL the sim sent, the final body and
/// the journal.
async fn put_and_wait(lines: &[&str]) -> (String, Option<String>, Value, Vec<JournalEntry>) {
    let env = start(&fleet(lines), &[SUB1], |_| {}).await;
    let client = arm_client(&env.settings);
    let id = cluster_id(SUB1, "rg-aks", "aks-lro");
    let doc = client.get(&id, API).await.unwrap().expect("seeded").body;
    env.sim.clear_journal();
    let first = client.put(&id, API, &doc, Some("*")).await.unwrap();
    let op = first.azure_async_operation.clone().expect("Azure-AsyncOperation");
    let location = first.location.clone();
    let done = client.wait_for_lro(&first).await.unwrap();
    (op, location, done.body, env.sim.journal())
}

fn polls(journal: &[JournalEntry]) -> Vec<&JournalEntry> {
    journal.iter().filter(|e| e.method == "GET" && e.path.contains("/locations/")).collect()
}

#[tokio::test]
async fn the_client_follows_the_signed_operation_url_unchanged() {
    let (op, location, body, journal) = put_and_wait(&[r#"update_duration = "400ms""#, "lro_retry_after_secs = 0"]).await;
    assert!(location.is_none(), "recorded AKS PUT answers carry no Location");
    let (op_path, op_query) = op.trim_start_matches("http://").split_once('/').map(|(_, rest)| rest).unwrap().split_once('?').unwrap();
    assert!(op_path.contains("providers/Microsoft.ContainerService/locations/westeurope/operations/"), "{op_path}");
    assert!(op_query.starts_with("api-version=2025-03-01&t=") && op_query.len() > 2500, "{} chars", op_query.len());
    let polled = polls(&journal);
    assert!(polled.len() >= 2, "polled {} times while Updating", polled.len());
    for p in &polled {
        assert_eq!((format!("/{op_path}").as_str(), p.query.as_str()), (p.path.as_str(), op_query), "polled unchanged");
        assert_eq!(p.status, 200);
    }
    assert_eq!(body["properties"]["provisioningState"], "Succeeded", "re-read after the operation");
    assert_eq!(body["type"], "Microsoft.ContainerService/ManagedClusters");
    let last = journal.last().unwrap();
    assert!(last.method == "GET" && last.path.ends_with("/managedClusters/aks-lro") && last.query == format!("api-version={API}"));
}

#[tokio::test]
async fn with_a_location_header_too_the_client_still_polls_azure_async_operation() {
    let (op, location, body, journal) =
        put_and_wait(&[r#"update_duration = "300ms""#, "lro_retry_after_secs = 0", "lro_location_header = true"]).await;
    let location = location.expect("the knob adds Location");
    assert_eq!(location.replace("/operationresults/", "/operations/"), op);
    let polled = polls(&journal);
    assert!(!polled.is_empty() && polled.iter().all(|p| p.path.contains("/operations/")), "{polled:?}");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
}
