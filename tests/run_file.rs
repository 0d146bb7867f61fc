//! `fleetgate run --source file:PATH`: a deterministic replay, one line at a time (a later line sees the
//! effects of earlier ones), JSON lines plus a summary, exit 0 unless a message failed; stdin; usage errors.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::child::FleetgateCommand;
use common::faults::fault;
use common::*;
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::SimHandle;
use fleetgate::sim::faults::FaultRule;
use serde_json::{Value, json};

async fn sim() -> SimHandle {
    start_sim(&fleet::new_and_old()).await
}

fn id(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

fn fleetgate(sim: &SimHandle, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = FleetgateCommand::new(sim, &[SUB1])
        .env("FLEETGATE__AZURE__RETRY__MAX_ATTEMPTS", "2")
        .args(args)
        .std()
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fleetgate");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\nall: {stdout}"))).collect()
}

fn storage_write() -> String {
    let storage =
        ResourceId::parse(&format!("/subscriptions/{SUB1}/resourceGroups/rg-aks/providers/Microsoft.Storage/storageAccounts/logs"))
            .unwrap();
    let mut event = cluster_write_event(&storage, Schema::EventGrid);
    event["data"]["operationName"] = json!("Microsoft.Storage/storageAccounts/write");
    event.to_string()
}

fn replay_file(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(lines.join("\n").as_bytes()).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_file_replays_in_order_with_json_lines_and_a_summary() {
    let sim = sim().await;
    let file = replay_file(&[
        cluster_write_event(&id("aks-new"), Schema::EventGrid).to_string(),
        String::new(),
        storage_write(),
        "{\"eventType\": \"Microsoft.Resources.ResourceWriteSuccess\", \"subject\": ".into(),
        cluster_write_event(&id("aks-new"), Schema::CloudEvents).to_string(),
        cluster_write_event(&id("aks-old"), Schema::EventGrid).to_string(),
    ]);
    let source = format!("file:{}", file.path().display());
    let out = fleetgate(&sim, &["run", "--source", &source, "--output", "json"], None);
    assert_eq!(out.status.code(), Some(1), "a rejected message is a failure (exit 1); stderr: {}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6, "five messages and the summary: {lines:?}");
    let new = id("aks-new").to_string();
    assert_eq!(
        lines[0],
        json!({"schema_version": 1, "message": 1, "outcome": "converged", "cluster": new, "reason": null, "blockers": []})
    );
    assert_eq!(
        lines[1],
        json!({"schema_version": 1, "message": 3, "outcome": "ignored", "cluster": null, "reason": "not_a_cluster_write", "blockers": []}),
        "blank line 2 counted"
    );
    assert_eq!((lines[2]["message"].as_u64(), lines[2]["outcome"].as_str()), (Some(4), Some("rejected")));
    assert!(lines[2]["reason"].as_str().unwrap().contains("invalid_json"), "{}", lines[2]);
    assert_eq!(
        (lines[3]["message"].as_u64(), lines[3]["outcome"].as_str(), lines[3]["cluster"].as_str()),
        (Some(5), Some("compliant"), Some(new.as_str())),
        "sees line 1's effects"
    );
    assert!(
        lines[3]["reason"].as_str().unwrap().starts_with("confirmed_from_memo: "),
        "the duplicate is answered from the unchanged-cluster memo: {}",
        lines[3]
    );
    assert_eq!((lines[4]["message"].as_u64(), lines[4]["outcome"].as_str()), (Some(6), Some("blocked")));
    assert!(lines[4]["reason"].as_str().unwrap().starts_with("kubernetes_version_unsupported"), "{}", lines[4]);
    assert_eq!(lines[4]["blockers"][0]["code"], "kubernetes_version_unsupported", "blockers with their codes: {}", lines[4]);
    assert_eq!(
        lines[5],
        json!({"summary": {"converged": 1, "compliant": 1, "blocked": 1, "excluded": 0, "deferred": 0, "ignored": 1, "rejected": 1, "failed": 0}, "schema_version": 1})
    );
    assert_eq!(ok_writes_to(&sim.journal(), "/managedClusters/aks-new"), 1, "the duplicate wrote nothing");
    assert!(sim.journal().iter().all(|e| !e.path.starts_with("/sb/")), "a replay never touches Service Bus");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_makes_the_exit_code_1() {
    let sim = sim().await;
    sim.add_fault(FaultRule { status: Some(503), ..fault(Some("GET"), "*/managedClusters/aks-new") });
    let file = replay_file(&[cluster_write_event(&id("aks-new"), Schema::EventGrid).to_string(), storage_write()]);
    let out = fleetgate(&sim, &["run", "--source", &format!("file:{}", file.path().display()), "--output", "json"], None);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!((lines[0]["outcome"].as_str(), lines[1]["outcome"].as_str()), (Some("failed"), Some("ignored")), "later lines still run");
    assert!(lines[0]["reason"].as_str().unwrap().contains("503"), "{}", lines[0]);
    assert_eq!(lines[2]["summary"]["failed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_replays_with_text_output() {
    let sim = sim().await;
    let input = format!("{}\n\n{}\n", storage_write(), cluster_write_event(&id("aks-old"), Schema::CloudEvents));
    let out = fleetgate(&sim, &["run", "--source", "file:-"], Some(&input));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "a blocked message: exit 3; {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("line 1") && lines[0].contains("ignored") && lines[0].contains("(not_a_cluster_write)"), "{stdout}");
    assert!(lines[1].starts_with("line 3") && lines[1].contains("blocked") && lines[1].contains("/managedClusters/aks-old"), "{stdout}");
    assert_eq!(lines[2], "summary: 1 blocked, 1 ignored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sources_and_queue_settings_are_usage_errors() {
    let sim = sim().await;
    let out = fleetgate(&sim, &["run", "--source", "kafka://x"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("file:PATH"));
    let out = fleetgate(&sim, &["run", "--source", "file:/nonexistent/events.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/events.jsonl"));
    let out = fleetgate(&sim, &["run"], None);
    assert_eq!(out.status.code(), Some(2), "no queue.namespace");
    assert!(String::from_utf8_lossy(&out.stderr).contains("queue.namespace is empty"), "{}", String::from_utf8_lossy(&out.stderr));
}
