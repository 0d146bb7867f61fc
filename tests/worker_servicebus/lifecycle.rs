//! Peek-lock → handle → complete; abandon → redelivery; empty receives; receive errors back off.

use std::time::Duration;

use fleetgate::dispatch::MessageOutcome;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use fleetgate::source::MessageId;
use fleetgate::worker::Settled;

use crate::support::*;

#[tokio::test]
async fn a_cluster_event_is_peek_locked_reconciled_and_completed() {
    let env = env(|_| {}).await;
    send_cluster_event(&env, "aks-a", "evt-1");
    let mut worker = spawn(&env, sas(&env), options(2));
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(report.id, MessageId::Broker("evt-1".into()));
    assert_eq!((report.outcome, report.delivery_count, &report.settled), (Some(MessageOutcome::Converged), 1, &Settled::Completed));
    assert_eq!(report.cluster, Some(cluster("aks-a")));
    assert!(worker.status.last_receive_ok().is_some() && worker.status.handled() == 1);
    let summary = worker.stop().await;
    assert_eq!((summary.count(MessageOutcome::Converged), summary.receive_errors, summary.settle_failures), (1, 0, 0));

    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());
    let sb = sb_requests(&env.sim.journal());
    let lock_ops: Vec<&(String, String, u16)> = sb.iter().filter(|(_, p, _)| !p.ends_with("/messages/head")).collect();
    assert_eq!(lock_ops.len(), 1, "one settle: {sb:?}");
    assert_eq!((lock_ops[0].0.as_str(), lock_ops[0].2), ("DELETE", 200), "completed through the lock URI");
    assert!(sb.iter().any(|(m, p, s)| m == "POST" && p.ends_with("/messages/head") && *s == 201), "peek-lock receive");
    assert_eq!(ok_writes_to(&env.sim.journal(), "/managedClusters/aks-a"), 1, "the cluster was updated");
}

#[tokio::test]
async fn a_transient_failure_is_abandoned_and_redelivered_with_delivery_count_2() {
    let env = env(|_| {}).await;
    // Two attempts (azure.retry.max_attempts) both fail; the redelivery succeeds.
    env.sim.add_fault(failing_cluster_get("aks-a", 503, Some(2)));
    send_cluster_event(&env, "aks-a", "evt-retry");
    let mut worker = spawn(&env, sas(&env), options(1));
    let reports = worker.reports(2, Duration::from_secs(10)).await;
    worker.stop().await;
    assert_eq!(
        (reports[0].outcome, reports[0].delivery_count, &reports[0].settled),
        (Some(MessageOutcome::Failed), 1, &Settled::Abandoned)
    );
    assert!(reports[0].reason.as_deref().unwrap().contains("503"), "{:?}", reports[0].reason);
    assert_eq!(
        (reports[1].outcome, reports[1].delivery_count, &reports[1].settled),
        (Some(MessageOutcome::Converged), 2, &Settled::Completed)
    );
    assert_eq!(reports[0].id, reports[1].id);
    let sb = sb_requests(&env.sim.journal());
    assert!(sb.iter().any(|(m, p, s)| m == "PUT" && p.contains("/messages/") && *s == 200), "abandoned with PUT on the lock URI: {sb:?}");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
}

#[tokio::test]
async fn an_empty_queue_answers_204_and_the_worker_keeps_polling() {
    let env = env(|_| {}).await;
    let mut worker = spawn(&env, sas(&env), options(2));
    assert!(
        eventually(Duration::from_secs(5), || sb_requests(&env.sim.journal()).iter().any(|(_, _, s)| *s == 204)).await,
        "a 204 came back"
    );
    // The sim journals the 204 before the worker has read it: wait for the worker to record it.
    assert!(
        eventually(Duration::from_secs(5), || worker.status.is_ready(Duration::from_secs(5))).await,
        "an empty receive counts as the queue being reachable"
    );
    send_cluster_event(&env, "aks-b", "late");
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(report.outcome, Some(MessageOutcome::Converged));
    let summary = worker.stop().await;
    assert_eq!((summary.receive_errors, summary.malformed, summary.finished()), (0, 0, 1));
}

#[tokio::test]
async fn receive_errors_are_retried_with_backoff() {
    let env = env(|_| {}).await;
    env.sim.add_fault(FaultRule { status: Some(503), count: Some(3), ..fault(Some("POST"), "/sb/*/messages/head") });
    send_cluster_event(&env, "aks-c", "after-errors");
    let mut worker = spawn(&env, sas(&env), options(1));
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(report.outcome, Some(MessageOutcome::Converged));
    assert!(worker.status.last_receive_error().is_none(), "cleared by the successful receive");
    let summary = worker.stop().await;
    assert_eq!(summary.receive_errors, 3);
    let heads = sb_requests(&env.sim.journal()).into_iter().filter(|(_, p, _)| p.ends_with("/messages/head")).count();
    assert!(heads >= 4, "three failures then a receive: {heads}");
}
