//! Deferral, crash: `kill -9` a `fleetgate run` process after it sent a deferral's scheduled re-check
//! and before it completed the original message (the completion is held by a fault rule), restart one,
//! and check: the original is delivered again, its repeated schedule (same deterministic `MessageId`)
//! is dropped by duplicate detection, the cluster converges, every needed write happens once, nothing is
//! lost or parked.

use std::time::Duration;

use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, QueueSpec};
use serde_json::Value;

use crate::audit::{successful_writes, written_twice};
use crate::common::faults::fault;
use crate::common::fleet::{attached, sub1_with_acrone};
use crate::common::{SUB1, TestEnv, cluster_id, ok_writes_to, start};
use crate::ledger::SequenceMap;
use crate::proc::{Worker, run_env, tail};
use crate::scenario::{send, wait_until};
use crate::traffic::{CONVERGE, Msg};

/// The cluster is `Creating` for 6 s after the start; its PUT then runs 1 s.
fn fleet() -> String {
    let acrone = attached(["acrone"]);
    sub1_with_acrone()
        .sim(&[r#"update_duration = "1s""#, "lro_retry_after_secs = 0"])
        .cluster(SUB1, "rg-aks", "aks-defer", &[&acrone, r#"creating_for = "6s""#])
        .build()
}

/// The bodies of the scheduled sends to the events queue (the worker's re-checks), in order.
fn scheduled_sends(env: &TestEnv) -> Vec<Value> {
    let path = format!("/sb/{EVENTS_QUEUE}/messages");
    env.sim
        .journal()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == path && e.status == 201)
        .filter_map(|e| e.request_body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_the_scheduled_recheck_and_the_completion() {
    let env: TestEnv = start(&fleet(), &[SUB1], |_| {}).await;
    let queue = QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(2)).duplicate_detection(Duration::from_secs(600));
    env.sim.create_queue(queue).unwrap();
    let cluster = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-defer")).unwrap();
    let event = cluster_write_event(&cluster, Schema::EventGrid);
    let first_recheck = fleetgate::defer::message_id(&cluster, event["id"].as_str().unwrap(), 1);
    let msg = Msg { id: "defer-1".into(), body: event.to_string(), label: "cluster_write", allowed: CONVERGE, attach: None };
    let mut sequence = SequenceMap::new();
    send(&env, &msg, &mut sequence);
    let seq = sequence.keys().next().copied().unwrap();
    // Hold the completion of the original for a minute: the worker is killed while it waits.
    env.sim.add_fault(FaultRule {
        latency_ms: Some(60_000),
        count: Some(1),
        ..fault(Some("DELETE"), &format!("/sb/{EVENTS_QUEUE}/messages/{seq}/*"))
    });
    let run_env = run_env(&env.sim, &[SUB1]).envs([
        ("FLEETGATE__QUEUE__LOCK_RENEWAL_INTERVAL", "500ms"),
        ("FLEETGATE__DEFER__INTERVAL", "3s"),
        ("FLEETGATE__DEFER__MAX_INTERVAL", "3s"),
    ]);

    let mut first = Worker::start(&run_env, "first");
    wait_until(Duration::from_secs(20), std::slice::from_ref(&first), || !scheduled_sends(&env).is_empty(), "the scheduled re-check").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let peeked = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert_eq!(peeked.len(), 1, "only the original is visible: {peeked:?}");
    assert_eq!((peeked[0].message.message_id.as_str(), peeked[0].locked), ("defer-1", true), "not completed yet");
    assert_eq!(env.sim.scheduled_count(EVENTS_QUEUE), Some(1), "the re-check is scheduled");
    first.kill9();
    let killed = first.exit(Duration::from_secs(10)).await;
    assert_eq!(killed.signal, Some(9), "killed by SIGKILL");
    assert!(killed.reports().is_empty(), "it never settled the message: {}", killed.stdout);

    let second = Worker::start(&run_env, "second");
    let workers = [second];
    let converged = |w: &Worker| w.reports_now().iter().any(|r| r["outcome"] == "converged" && r["cluster"] == cluster.as_str());
    wait_until(Duration::from_secs(40), &workers, || converged(&workers[0]), "the cluster converged").await;
    wait_until(Duration::from_secs(10), &workers, || env.sim.queue_depth(EVENTS_QUEUE) == Some(0), "the queue drained").await;
    let [second] = workers;
    let exited = second.drain().await;
    assert_eq!(exited.code, Some(0), "stderr: {}", tail(&exited.stderr, 3000));
    let reports = exited.reports();

    let original: Vec<&Value> = reports.iter().filter(|r| r["message"] == "defer-1").collect();
    assert_eq!(original.len(), 1, "the original was delivered again and handled once: {reports:#?}");
    assert_eq!(original[0]["outcome"], "deferred", "{reports:#?}");
    let sends = scheduled_sends(&env);
    let repeats = sends.iter().filter(|b| b["id"] == first_recheck.as_str()).count();
    assert_eq!(repeats, 2, "the first re-check was sent by both workers: {sends:#?}");
    let handled = reports.iter().filter(|r| r["message"] == first_recheck.as_str()).count();
    assert_eq!(handled, 1, "duplicate detection dropped the repeat: it was delivered once: {reports:#?}");
    assert!(reports.iter().all(|r| ["deferred", "converged"].contains(&r["outcome"].as_str().unwrap_or(""))), "{reports:#?}");
    assert_eq!((env.sim.queue_depth(EVENTS_QUEUE), env.sim.scheduled_count(EVENTS_QUEUE)), (Some(0), Some(0)), "nothing left behind");
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());

    let plan = env.engine.plan(&cluster).await.unwrap();
    assert_eq!(plan.status, fleetgate::core::PlanStatus::Compliant, "{plan:?}");
    let journal = env.sim.journal();
    let writes = successful_writes(&journal, &Default::default());
    let twice = written_twice(&writes);
    println!(
        "deferral crash: scheduled sends {} (first re-check twice, delivered once), reports {:?}, successful writes {}",
        sends.len(),
        reports.iter().map(|r| r["outcome"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>(),
        writes.len()
    );
    assert!(twice.is_empty(), "{twice:?}");
    assert_eq!(ok_writes_to(&journal, "/managedClusters/aks-defer"), 1, "one cluster PUT");
    assert_eq!(writes.len(), 4, "identity, FIC, AcrPull, cluster PUT — each once: {writes:?}");
}
