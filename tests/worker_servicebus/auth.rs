//! The worker authenticates to Service Bus with SAS (the other tests) or Microsoft Entra tokens; a
//! refused credential is logged, retried with backoff and loses nothing.

use std::time::Duration;

use fleetgate::dispatch::MessageOutcome;
use fleetgate::queue::SasKey;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, ROOT_RULE};
use fleetgate::source::QueueCredential;

use crate::support::*;

#[tokio::test]
async fn entra_tokens_drive_the_whole_worker() {
    let env = env(|_| {}).await;
    send_cluster_event(&env, "aks-b", "via-entra");
    env.sim.send_message(EVENTS_QUEUE, "{\"not\": \"an event\"}", &[]).unwrap();
    let mut worker = spawn(&env, entra(&env), options(2));
    let reports = worker.reports(2, Duration::from_secs(10)).await;
    worker.stop().await;
    let outcomes: Vec<_> = reports.iter().map(|r| r.outcome).collect();
    assert!(outcomes.contains(&Some(MessageOutcome::Converged)) && outcomes.contains(&Some(MessageOutcome::Rejected)), "{outcomes:?}");
    let journal = env.sim.journal();
    let sb = sb_requests(&journal);
    assert!(!sb.is_empty() && sb.iter().all(|(_, _, s)| *s != 401), "{sb:?}");
    assert!(sb.iter().any(|(m, p, _)| m == "POST" && p.ends_with("-poison/messages")), "the poison send is authorized too");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
}

#[tokio::test]
async fn a_refused_sas_key_is_retried_with_backoff_and_loses_nothing() {
    let env = env(|_| {}).await;
    send_cluster_event(&env, "aks-c", "kept");
    let wrong = QueueCredential::Sas(SasKey::new(ROOT_RULE, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="));
    let worker = spawn(&env, wrong, options(1));
    assert!(eventually(Duration::from_secs(5), || worker.status.last_receive_error().is_some()).await);
    let error = worker.status.last_receive_error().unwrap();
    assert!(error.contains("401") && error.contains("queue.auth"), "{error}");
    assert!(!error.contains("d3Jvbmcta2V5"), "no key in errors");
    assert!(!worker.status.is_ready(Duration::from_secs(60)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = worker.stop().await;
    assert!(summary.receive_errors >= 2, "kept retrying: {}", summary.receive_errors);
    assert!(summary.receive_errors < 30, "with backoff, not a hot loop: {}", summary.receive_errors);
    let left = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert_eq!((left.len(), left[0].delivery_count), (1, 0), "never delivered");
}
