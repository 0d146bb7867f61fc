//! Lock renewal during a slow reconcile; MaxDeliveryCount → dead-letter queue.

use std::time::Duration;

use fleetgate::dispatch::MessageOutcome;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, MAX_DELIVERY_COUNT_EXCEEDED};
use fleetgate::worker::{Settled, WorkerOptions};

use crate::support::*;

#[tokio::test]
async fn the_lock_is_renewed_while_a_slow_reconcile_outlasts_it() {
    let env = env(|_| {}).await;
    declare(&env, |q| q.lock_duration(Duration::from_secs(1)));
    env.sim.add_fault(slow_cluster_get("aks-a", 2500, 1));
    send_cluster_event(&env, "aks-a", "slow-1");
    let options = WorkerOptions { lock_renewal_interval: Duration::from_millis(300), ..options(2) };
    let mut worker = spawn(&env, sas(&env), options);
    let report = worker.reports(1, Duration::from_secs(15)).await.remove(0);
    assert!(report.elapsed > Duration::from_millis(2500), "the reconcile outlasted the 1 s lock: {:?}", report.elapsed);
    assert_eq!((report.outcome, report.delivery_count, &report.settled), (Some(MessageOutcome::Converged), 1, &Settled::Completed));
    assert!(report.renewals >= 5, "renewed every 300 ms: {}", report.renewals);
    // Give a redelivery (had the lock lapsed) time to show up before stopping.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let summary = worker.stop().await;
    assert_eq!(summary.finished(), 1, "never delivered twice");
    let sb = sb_requests(&env.sim.journal());
    let receives = sb.iter().filter(|(m, p, s)| m == "POST" && p.ends_with("/messages/head") && *s == 201).count();
    assert_eq!(receives, 1, "one delivery: {sb:?}");
    let renewals = sb.iter().filter(|(m, p, s)| m == "POST" && !p.ends_with("/messages/head") && *s == 200).count();
    assert_eq!(renewals as u32, report.renewals, "each renewal is a POST on the lock URI");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
}

#[tokio::test]
async fn a_permanently_transient_failure_ends_in_the_dead_letter_queue() {
    let env = env(|_| {}).await;
    declare(&env, |q| q.max_delivery_count(2));
    env.sim.add_fault(failing_cluster_get("aks-b", 503, None));
    send_cluster_event(&env, "aks-b", "doomed");
    let mut worker = spawn(&env, sas(&env), options(1));
    let reports = worker.reports(2, Duration::from_secs(10)).await;
    for (i, r) in reports.iter().enumerate() {
        assert_eq!((r.outcome, r.delivery_count, &r.settled), (Some(MessageOutcome::Failed), i as u32 + 1, &Settled::Abandoned));
    }
    assert!(eventually(Duration::from_secs(3), || env.sim.dead_letters(EVENTS_QUEUE).unwrap().len() == 1).await);
    let summary = worker.stop().await;
    assert_eq!(summary.count(MessageOutcome::Failed), 2, "not delivered a third time");
    let dead = env.sim.dead_letters(EVENTS_QUEUE).unwrap().remove(0);
    assert_eq!((dead.message_id.as_str(), dead.reason.as_str(), dead.delivery_count), ("doomed", MAX_DELIVERY_COUNT_EXCEEDED, 2));
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
}
