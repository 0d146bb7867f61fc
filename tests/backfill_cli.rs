//! `fleetgate backfill` end to end: the JSON summary's exact keys, exit codes (0, 1 when a cluster
//! failed, 2 for an out-of-scope subscription or a misused flag), dry run, the management-group error,
//! progress lines and the summary table, and enqueue mode with a re-run that dedupes.

mod backfill_support;
mod common;

use backfill_support::*;
use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::faults::fault;
use common::*;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use serde_json::json;

/// The summary keys of issue 5, in order, after `schema_version` and `command`.
const KEYS: [&str; 10] =
    ["clusters", "compliant", "converged", "blocked", "excluded", "failed", "writes", "arm_requests", "throttled", "duration_s"];

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_summary_has_exactly_the_documented_keys_and_exit_code_0() {
    let sim = mixed_sim().await;
    let out = fleetgate_cli(&sim, &["backfill", "--yes", "--output", "json"], &[]);
    assert_eq!(out.status.code(), Some(3), "blocked and excluded clusters: exit 3; stderr: {}", stderr(&out));
    let v = stdout_json(&out);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys[..12], [&["schema_version", "command"][..], &KEYS[..]].concat());
    let more = ["mode", "dry_run", "interrupted", "not_reached", "changed_since_plan", "subscription_changes", "warnings", "results"];
    assert_eq!(keys[12..], more);
    assert_eq!(v["results"].as_array().unwrap().len(), 7, "one result per cluster");
    assert_eq!(
        (&v["clusters"], &v["compliant"], &v["converged"], &v["blocked"], &v["excluded"], &v["failed"], &v["throttled"]),
        (&json!(7), &json!(1), &json!(3), &json!(2), &json!(1), &json!(0), &json!(0))
    );
    assert_eq!(v["writes"], json!(ok_writes(&sim.journal()).len()));
    assert!(v["arm_requests"].as_u64().unwrap() > v["writes"].as_u64().unwrap() && v["duration_s"].is_number());
    assert!(stderr(&out).contains("converged /subscriptions/"), "plain progress lines when stderr is not a terminal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cluster_makes_exit_code_1_and_the_table_names_it() {
    let sim = mixed_sim().await;
    sim.add_fault(FaultRule {
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        ..fault(Some("PUT"), "*/userAssignedIdentities/aks-fresh2-defender-gating")
    });
    let out = fleetgate_cli(&sim, &["backfill", "--yes"], &[]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("converged            2") && text.contains("failed               1"), "{text}");
    assert!(text.contains("needs attention:") && text.contains("failed  /subscriptions/") && text.contains("aks-fresh2"), "{text}");
    assert!(text.contains("AuthorizationFailed"), "{text}");
    assert!(text.contains("by kind: "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_before_any_request() {
    let sim = mixed_sim().await;
    let out = fleetgate_cli(&sim, &["backfill", "--subscription", SUB3], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(SUB3) && stderr(&out).contains("scope.subscriptions"), "{}", stderr(&out));
    let out = fleetgate_cli(&sim, &["backfill", "--all"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--mode enqueue"));
    let out = fleetgate_cli(&sim, &["backfill", "--mode", "enqueue"], &[]);
    assert_eq!(out.status.code(), Some(2), "no queue configured");
    assert!(stderr(&out).contains("queue.namespace"), "{}", stderr(&out));
    assert!(sim.journal().iter().all(|e| !e.is_arm()), "nothing was sent to ARM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_and_management_groups_fail_clearly_on_the_simulator() {
    let sim = mixed_sim().await;
    let out = fleetgate_cli(&sim, &["backfill", "--dry-run", "--output", "json"], &[]);
    assert_eq!(out.status.code(), Some(3), "the mixed fleet has blocked and excluded clusters; stderr: {}", stderr(&out));
    assert_eq!(stdout_json(&out)["changes_needed"], json!(3));
    assert!(sim.journal().iter().all(|e| !e.is_write()), "--dry-run: the journal shows no write");

    let out = fleetgate_cli(&sim, &["backfill", "--management-group", "mg-platform"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("managementGroups") && err.contains("--management-group") && err.contains("use --subscription"), "{err}");
    let mg = sim.journal().into_iter().filter(|e| e.is_graph_query()).filter_map(|e| e.request_body).next_back().unwrap();
    assert_eq!(mg["managementGroups"], json!(["mg-platform"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_mode_sends_batches_and_a_rerun_with_the_run_id_dedupes() {
    let sim = mixed_sim().await;
    let enqueue = |args: &[&str]| FleetgateCommand::new(&sim, &[SUB1, SUB2]).queue(&sim, TEST_NAMESPACE).args(args).output();
    for _ in 0..2 {
        let out = enqueue(&["backfill", "--mode", "enqueue", "--yes", "--run-id", "adopt-1", "--output", "json"]);
        assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
        assert_eq!(stdout_json(&out)["enqueued"], json!(3));
        assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(3));
    }
    let out = enqueue(&["backfill", "--mode", "enqueue", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(6), "the default run ID (today) is another run");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&sim.root_sas_key()), "the key never shows");
}
