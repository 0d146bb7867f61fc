//! Item 2, crash: `kill -9` a `fleetgate run` process at a point inside a reconcile, restart one, and
//! check that the cluster converges, nothing is duplicated or written twice, and the message is
//! delivered again (short lock) and handled (ending `deferred` when the cluster PUT's operation is
//! still running: its scheduled re-check then finishes the reconcile).
//!
//! The journal says where the worker is (it records a request when it is answered); a fault rule adds
//! latency to the *next* call so the worker is held there when the signal comes: after the identity
//! PUT (the FIC PUT is held), after the FIC PUT (the AcrPull PUT is held), and during the cluster LRO
//! (the first operation poll is held while the cluster is `Updating`).

use std::time::Duration;

use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::JournalEntry;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, QueueSpec};

use crate::audit::{per_kind, successful_writes, written_twice};
use crate::common::faults::fault;
use crate::common::{SUB1, TestEnv, cluster_id, fleet, start};
use crate::ledger::{SequenceMap, completions};
use crate::proc::{Worker, run_env, tail};
use crate::scenario::{send, wait_until};
use crate::traffic::{CONVERGE, Msg};

/// Where the worker is killed.
#[derive(Debug, Clone, Copy)]
enum Point {
    AfterIdentity,
    AfterFic,
    DuringLro,
}

impl Point {
    /// The write that must be in the journal before the kill.
    fn reached(self, e: &JournalEntry) -> bool {
        let p = e.path.to_ascii_lowercase();
        let ok = e.method == "PUT" && (200..300).contains(&e.status);
        match self {
            Self::AfterIdentity => ok && p.ends_with("/userassignedidentities/aks-crash-defender-gating"),
            Self::AfterFic => ok && p.contains("/federatedidentitycredentials/"),
            Self::DuringLro => ok && p.ends_with("/managedclusters/aks-crash"),
        }
    }

    /// The rule that holds the next call for a minute.
    fn hold(self) -> FaultRule {
        let (method, path) = match self {
            Self::AfterIdentity => ("PUT", "*/federatedIdentityCredentials/*"),
            Self::AfterFic => ("PUT", "*/roleAssignments/*"),
            Self::DuringLro => ("GET", "*/providers/Microsoft.ContainerService/locations/*/operations/*"),
        };
        FaultRule { latency_ms: Some(60_000), count: Some(1), ..fault(Some(method), path) }
    }
}

fn fleet() -> String {
    fleet::attached_clusters(&[r#"lro_duration = "3s""#, "lro_retry_after_secs = 0"], ["aks-crash"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_the_identity_is_created() {
    crash_at(Point::AfterIdentity).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_the_federated_credential() {
    crash_at(Point::AfterFic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_the_cluster_lro() {
    crash_at(Point::DuringLro).await;
}

async fn crash_at(point: Point) {
    let env: TestEnv = start(&fleet(), &[SUB1], |_| {}).await;
    env.sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(2))).unwrap();
    let cluster = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-crash")).unwrap();
    let needed = env.engine.plan(&cluster).await.unwrap().actions.len();
    let before = env.sim.with_state(|s| s.counts());
    env.sim.add_fault(point.hold());
    let msg = Msg {
        id: "crash-1".into(),
        body: cluster_write_event(&cluster, Schema::EventGrid).to_string(),
        label: "cluster_write",
        allowed: CONVERGE,
        attach: None,
    };
    let mut sequence = SequenceMap::new();
    send(&env, &msg, &mut sequence);
    let run_env = run_env(&env.sim, &[SUB1]).env("FLEETGATE__QUEUE__LOCK_RENEWAL_INTERVAL", "500ms");

    let mut first = Worker::start(&run_env, "first");
    wait_until(
        Duration::from_secs(20),
        std::slice::from_ref(&first),
        || env.sim.journal().iter().any(|e| point.reached(e)),
        "the kill point",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let peeked = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert_eq!((peeked.len(), peeked[0].locked, peeked[0].delivery_count), (1, true, 1), "in flight on the first worker");
    first.kill9();
    let killed = first.exit(Duration::from_secs(10)).await;
    assert_eq!(killed.signal, Some(9), "killed by SIGKILL");
    assert!(killed.reports().is_empty(), "it never finished the message: {}", killed.stdout);
    let mid = env.sim.with_state(|s| s.counts());

    let second = Worker::start(&run_env, "second");
    let workers = [second];
    // The redelivered message may end `deferred` (the cluster PUT's operation still running): its
    // scheduled re-check finishes the job, so wait for the chain to end with nothing left in the queue.
    let drained = || env.sim.queue_depth(EVENTS_QUEUE) == Some(0) && env.sim.scheduled_count(EVENTS_QUEUE) == Some(0);
    wait_until(
        Duration::from_secs(30),
        &workers,
        || completions(&env.sim.journal(), &sequence).contains_key("crash-1") && drained(),
        "the redelivered message completed and its re-checks handled",
    )
    .await;
    let [second] = workers;
    let exited = second.drain().await;
    assert_eq!(exited.code, Some(0), "stderr: {}", tail(&exited.stderr, 3000));
    let reports = exited.reports();
    let original: Vec<_> = reports.iter().filter(|r| r["message"] == "crash-1").collect();
    assert_eq!(original.len(), 1, "{}", exited.stdout);
    let outcome = original[0]["outcome"].as_str().unwrap();
    assert!(CONVERGE.contains(&outcome) || outcome == "deferred", "{}", original[0]);
    assert!(
        reports.iter().all(|r| ["converged", "compliant", "deferred"].contains(&r["outcome"].as_str().unwrap_or(""))),
        "{}",
        exited.stdout
    );
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());

    let plan = env.engine.plan(&cluster).await.unwrap();
    assert_eq!(plan.status, fleetgate::core::PlanStatus::Compliant, "{plan:?}");
    let after = env.sim.with_state(|s| s.counts());
    let grew = (after.identities - before.identities, after.fics - before.fics, after.role_assignments - before.role_assignments);
    assert_eq!(grew, (1, 1, 1), "one identity, one FIC, one AcrPull: no duplicates");
    let journal = env.sim.journal();
    let writes = successful_writes(&journal, &Default::default());
    let twice = written_twice(&writes);
    println!(
        "crash {point:?}: needed writes {needed}, successful writes {} {:?}, written twice {twice:?}, state at the kill: identities +{}, FICs +{}, role assignments +{}; after restart: +{grew:?}; outcome after redelivery {outcome}",
        writes.len(),
        per_kind(&writes),
        mid.identities - before.identities,
        mid.fics - before.fics,
        mid.role_assignments - before.role_assignments,
    );
    assert!(twice.is_empty(), "{twice:?}");
    assert_eq!(writes.len(), needed, "each needed write once");
}
