//! Every command's `--output json` validated against its JSON Schema in `docs/schemas/` — real output
//! of the binary against the simulator, not hand-written samples — and the saved plan file. A broken
//! document must fail the same validation (the validator is not vacuous).

mod backfill_support;
mod common;
#[path = "common/schemas.rs"]
mod schemas;

use std::process::Output;

use backfill_support::*;
use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::*;
use schemas::{assert_valid, errors};
use serde_json::{Value, json};

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_and_the_plan_file_match_their_schemas() {
    let sim = start_sim(&fleet::new_and_old()).await;
    let cmd = |args: &[&str]| FleetgateCommand::new(&sim, &[SUB1]).args(args).output();
    let (new, old) = (cluster_id(SUB1, "rg-aks", "aks-new"), cluster_id(SUB1, "rg-aks", "aks-old"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    let plan = json_of(&cmd(&["plan", "--cluster", &new, "-o", "json", "--out", file.to_str().unwrap()]));
    assert_eq!(plan["status"], "changes_needed");
    assert_valid("plan", &plan);
    assert_valid("plan-file", &serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap());
    let blocked = json_of(&cmd(&["plan", "--cluster", &old, "-o", "json"]));
    assert_eq!(blocked["blockers"][0]["code"], "kubernetes_version_unsupported");
    assert_valid("plan", &blocked);
    let missing = json_of(&cmd(&["plan", "--cluster", &cluster_id(SUB1, "rg-aks", "gone"), "-o", "json"]));
    assert_valid("plan", &missing);
    let applied = json_of(&cmd(&["apply", "--yes", "--cluster", &new, "-o", "json"]));
    assert_eq!(applied["status"], "converged");
    assert_valid("apply", &applied);
    assert_valid("apply", &json_of(&cmd(&["apply", "--cluster", &old, "-o", "json"])));

    let mut broken = plan.clone();
    broken["status"] = json!("almost");
    broken["blockers"] = json!([{"code": "Not A Code", "message": ""}]);
    broken["surprise"] = json!(true);
    let found = errors("plan", &broken);
    assert!(found.len() >= 3, "each break is reported: {found:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_backfill_and_its_plan_file_match_their_schemas() {
    let sim = mixed_sim().await;
    let report = json_of(&fleetgate_cli(&sim, &["report", "-o", "json"], &[]));
    assert_eq!(report["clusters"].as_array().unwrap().len(), 7);
    assert_valid("report", &report);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet-plan.json");
    let dry = json_of(&fleetgate_cli(&sim, &["backfill", "--dry-run", "--out", file.to_str().unwrap(), "-o", "json"], &[]));
    assert_eq!((dry["dry_run"].as_bool(), dry["changes_needed"].as_u64()), (Some(true), Some(3)));
    assert!(dry["subscription_changes"].as_array().unwrap().iter().any(|c| c["starts_billing"] == true), "SUB2 is on Free: {dry:#}");
    assert_valid("backfill", &dry);
    assert_valid("plan-file", &serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap());
    let direct = json_of(&fleetgate_cli(&sim, &["backfill", "--yes", "-o", "json"], &[]));
    assert_eq!(direct["converged"], 3);
    assert_valid("backfill", &direct);
    let enqueue = FleetgateCommand::new(&sim, &[SUB1, SUB2]).queue(&sim, TEST_NAMESPACE);
    let sent = json_of(&enqueue.args(["backfill", "--mode", "enqueue", "--yes", "--all", "-o", "json"]).output());
    assert_eq!(sent["enqueued"], 7);
    assert_valid("backfill", &sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_doctor_and_config_match_their_schemas() {
    let sim = start_sim(&fleet::new_and_old()).await;
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let write = |name: &str| {
        json!({"id": format!("evt-{name}"), "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": cluster_id(SUB1, "rg-aks", name),
            "eventTime": "2025-06-02T09:00:00Z", "dataVersion": "2", "metadataVersion": "1",
            "topic": format!("/subscriptions/{SUB1}"),
            "data": {"resourceUri": cluster_id(SUB1, "rg-aks", name), "operationName": "Microsoft.ContainerService/managedClusters/write", "status": "Succeeded", "subscriptionId": SUB1}})
        .to_string()
    };
    std::fs::write(&events, format!("{}\n{}\nnot json\n", write("aks-new"), write("aks-old"))).unwrap();
    let source = format!("file:{}", events.display());
    let out = FleetgateCommand::new(&sim, &[SUB1]).args(["run", "--source", &source, "-o", "json"]).output();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "three messages and the summary: {lines:#?}");
    assert_eq!(lines[1]["blockers"][0]["code"], "kubernetes_version_unsupported", "{lines:#?}");
    lines.iter().for_each(|l| assert_valid("run", l));

    let doctor = FleetgateCommand::new(&sim, &[SUB1]).queue(&sim, TEST_NAMESPACE).args(["doctor", "-o", "json"]).output();
    let doc = json_of(&doctor);
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_valid("doctor", &doc);
    let config = json_of(&FleetgateCommand::new(&sim, &[SUB1]).args(["config", "show", "-o", "json"]).output());
    assert_eq!(config["settings"]["gating"]["manage_defender_plan"], "full");
    assert_valid("config", &config);
    assert!(!config.to_string().contains(CLIENT_SECRET));
}
