//! The readiness rule on paused time and synthetic instants.

use std::time::Duration;

use tokio::time::{Instant, advance};

use super::*;

const WINDOW: Duration = Duration::from_secs(60);

fn ok_both(r: &Readiness) {
    r.mark_credential_ok();
    r.mark_queue_ok();
}

#[tokio::test(start_paused = true)]
async fn nothing_observed_is_not_ready_and_names_both_dependencies() {
    let r = Readiness::new(WINDOW);
    let report = r.report();
    assert!(!report.ready);
    assert_eq!(report.not_ready, vec!["credential", "queue"]);
    assert_eq!(report.check("credential").unwrap().reason.as_deref(), Some("no token obtained yet"));
    assert!(report.check("config").unwrap().ok);
}

#[tokio::test(start_paused = true)]
async fn recent_successes_are_ready_until_they_go_stale() {
    let r = Readiness::new(WINDOW);
    ok_both(&r);
    assert!(r.report().ready);
    advance(WINDOW).await;
    assert!(r.report().ready, "exactly the window old still counts");
    r.mark_queue_ok();
    advance(Duration::from_secs(1)).await;
    let report = r.report();
    assert_eq!(report.not_ready, vec!["credential"], "{report:?}");
    let credential = report.check("credential").unwrap();
    assert_eq!(credential.reason.as_deref(), Some("no token obtained in the last 60s"));
    assert_eq!(credential.last_ok_seconds_ago, Some(61));
    assert_eq!(report.check("queue").unwrap().last_ok_seconds_ago, Some(1));
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_not_ready_until_the_next_success() {
    let r = Readiness::new(WINDOW);
    ok_both(&r);
    r.mark_queue_error("Service Bus namespace unreachable: connection refused");
    let report = r.report();
    assert!(!report.ready);
    assert_eq!(report.not_ready, vec!["queue"]);
    assert_eq!(report.check("queue").unwrap().reason.as_deref(), Some("Service Bus namespace unreachable: connection refused"));
    advance(Duration::from_secs(5)).await;
    r.mark_queue_ok();
    assert!(r.report().ready);
    r.mark_credential_error("token request failed: AADSTS7000215");
    assert_eq!(r.report().not_ready, vec!["credential"]);
}

#[tokio::test(start_paused = true)]
async fn draining_is_never_ready() {
    let r = Readiness::new(WINDOW);
    ok_both(&r);
    r.clone().mark_draining();
    let report = r.report();
    assert_eq!(report.not_ready, vec!["running"]);
    assert_eq!(report.check("running").unwrap().reason.as_deref(), Some("shutting down"));
}

#[test]
fn synthetic_instants_and_long_reasons() {
    let r = Readiness::new(WINDOW);
    let start = Instant::now();
    ok_both(&r);
    assert!(r.report_at(start + WINDOW).ready);
    assert!(!r.report_at(start + WINDOW + Duration::from_secs(2)).ready);
    r.mark_queue_error(&"é".repeat(400));
    let reason = r.report_at(start).check("queue").unwrap().reason.clone().unwrap();
    assert!(reason.ends_with('…') && reason.len() <= MAX_REASON + '…'.len_utf8(), "{}", reason.len());
}

#[test]
fn the_body_serializes_names_and_reasons() {
    let r = Readiness::new(WINDOW);
    r.mark_credential_ok();
    let v = serde_json::to_value(r.report()).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["not_ready"], serde_json::json!(["queue"]));
    let queue = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "queue").unwrap();
    assert_eq!(queue["reason"], "no successful queue call yet");
    assert!(queue.get("last_ok_seconds_ago").is_none());
}
