//! Item 7, shutdown: SIGTERM to `fleetgate run` while four reconciles are in flight — three mid-way
//! (their identities written, their cluster LROs to come), one held by a 30 s ARM latency. The three
//! finish within the grace period, the held one is abandoned, nothing more is received, the process
//! exits 0; a second worker then handles what was left (the abandoned message delivered again).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fleetgate::core::PlanStatus;
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, QueueSpec};

use crate::common::faults::fault;
use crate::common::{SUB1, cluster_id, fleet, start};
use crate::proc::{Worker, run_env, tail};
use crate::scenario::wait_until;

const CLUSTERS: usize = 8;
const GRACE_SECS: u64 = 5;

fn fleet() -> String {
    fleet::attached_clusters(&[r#"lro_duration = "2s""#, "lro_retry_after_secs = 0"], (0..CLUSTERS).map(|i| format!("aks-t{i}")))
}

fn cluster(i: usize) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", &format!("aks-t{i}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_reconciles_finish_abandons_the_rest_and_exits_0() {
    let env = start(&fleet(), &[SUB1], |_| {}).await;
    env.sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(10))).unwrap();
    env.sim.add_fault(FaultRule { latency_ms: Some(30_000), count: Some(1), ..fault(Some("GET"), "*/managedClusters/aks-t0") });
    for i in 0..CLUSTERS {
        let body = cluster_write_event(&cluster(i), Schema::EventGrid).to_string();
        env.sim.send(EVENTS_QUEUE, NewMessage::new(body).message_id(format!("t{i}"))).unwrap();
    }
    let run_env = run_env(&env.sim, &[SUB1])
        .env("FLEETGATE__QUEUE__MAX_CONCURRENCY", "4")
        .env("FLEETGATE__SHUTDOWN__GRACE", format!("{GRACE_SECS}s"))
        // What this test is about is in-process waiting (the reconciles hold their slots): no deferral.
        .env("FLEETGATE__DEFER__ENABLED", "false");
    let workers = [Worker::start(&run_env, "first")];
    let identity_written = |i: usize| {
        let name = format!("/userassignedidentities/aks-t{i}-defender-gating");
        env.sim.journal().iter().any(|e| e.method == "PUT" && e.status == 201 && e.path.to_ascii_lowercase().ends_with(&name))
    };
    wait_until(Duration::from_secs(20), &workers, || (1..4).all(identity_written), "three reconciles mid-way").await;
    let [first] = workers;
    let locked = env.sim.peek_all(EVENTS_QUEUE).unwrap().iter().filter(|m| m.locked).count();
    let in_flight_writes: usize =
        (1..4).map(|i| env.sim.journal().iter().filter(|e| e.is_write() && e.path.contains(&format!("aks-t{i}"))).count()).sum();
    assert_eq!(locked, 4, "four messages in flight at the signal");

    let signalled = Instant::now();
    first.sigterm();
    let exited = first.exit(Duration::from_secs(GRACE_SECS + 15)).await;
    let took = signalled.elapsed();
    assert_eq!(exited.code, Some(0), "stderr: {}", tail(&exited.stderr, 3000));
    assert!(exited.stderr.contains("shutting down"), "{}", tail(&exited.stderr, 2000));
    assert!(took < Duration::from_secs(GRACE_SECS + 3), "exited within the grace period (+ abandon): {took:?}");
    let outcomes: BTreeMap<String, String> =
        exited.reports().iter().map(|r| (r["message"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string())).collect();
    let expected: BTreeMap<String, String> = (1..4).map(|i| (format!("t{i}"), "converged".to_string())).collect();
    assert_eq!(outcomes, expected, "the three in-flight reconciles finished; the held one has no line: {}", exited.stdout);
    let summary = exited.summary().expect("summary line");
    assert_eq!(summary["converged"], 3);

    let left = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    let state: BTreeMap<String, (u32, bool)> = left.iter().map(|p| (p.message.message_id.clone(), (p.delivery_count, p.locked))).collect();
    let mut expected_left: BTreeMap<String, (u32, bool)> = (4..CLUSTERS).map(|i| (format!("t{i}"), (0, false))).collect();
    expected_left.insert("t0".into(), (1, false));
    assert_eq!(state, expected_left, "t0 abandoned (delivered once, unlocked at once), t4..t7 never received");
    for i in 1..4 {
        assert_eq!(env.engine.plan(&cluster(i)).await.unwrap().status, PlanStatus::Compliant, "aks-t{i} finished");
    }

    let second = Worker::start(&run_env, "second");
    let workers = [second];
    wait_until(Duration::from_secs(40), &workers, || env.sim.queue_depth(EVENTS_QUEUE) == Some(0), "the rest handled").await;
    let [second] = workers;
    let drained = second.drain().await;
    assert_eq!(drained.code, Some(0));
    let handled: BTreeMap<String, String> = drained
        .reports()
        .iter()
        .map(|r| (r["message"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(handled.len(), 5, "{}", drained.stdout);
    assert_eq!(handled.get("t0").map(String::as_str), Some("converged"), "the abandoned message, delivered again");
    for i in 0..CLUSTERS {
        assert_eq!(env.engine.plan(&cluster(i)).await.unwrap().status, PlanStatus::Compliant, "aks-t{i}");
    }
    println!(
        "shutdown: SIGTERM with 4 messages in flight (3 mid-reconcile after {in_flight_writes} writes, 1 held by a 30 s ARM latency) and 4 queued; grace {GRACE_SECS} s; exit code {:?} after {:.2} s; 3 converged and completed, 1 abandoned (delivery count 1, unlocked), 4 never received; second worker: {} messages, all converged; 8/8 clusters compliant",
        exited.code,
        took.as_secs_f64(),
        handled.len()
    );
}
