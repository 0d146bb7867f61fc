//! Deferral through the in-process worker with a deferring engine (as `fleetgate run --source
//! servicebus` builds it) against the simulator over loopback: a cluster still `Creating` and the
//! cluster PUT's operation are re-checked by scheduled reconcile commands instead of holding a slot;
//! the deferred cluster converges when the re-check is due; a failed operation is reported once and not
//! retried; with two slots, ten busy clusters are all deferred at once; the deferring engine itself
//! ends `Pending` (a busy cluster; the accepted PUT, with its operation URL) without waiting. Real
//! time, scaled down: AKS operations of 2 s and `defer.interval` 1 s.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use fleetgate::dispatch::{Dispatcher, MessageOutcome};
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::queue::SasKey;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, ROOT_RULE};
use fleetgate::source::{QueueCredential, ServiceBusSource};
use fleetgate::worker::{MessageReport, Settled, Shutdown, Worker, WorkerSummary};
use tokio::sync::mpsc::UnboundedReceiver;

use common::child::TEST_NAMESPACE;
use common::fleet::{attached, sub1_with_acrone};
use common::*;

/// One cluster line set per name: attached to `acrone`, plus `extra` (e.g. `creating_for`).
fn fleet(names: &[&str], extra: &[&str], sim: &[&str]) -> String {
    let acrone = attached(["acrone"]);
    let mut lines = vec![acrone.as_str()];
    lines.extend_from_slice(extra);
    names.iter().fold(sub1_with_acrone().sim(sim), |f, name| f.cluster(SUB1, "rg-aks", name, &lines)).build()
}

fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

async fn env(fleet_toml: &str) -> TestEnv {
    let mut env = start(fleet_toml, &[SUB1], |s| {
        s.azure.retry.max_attempts = 2;
        s.defer.interval = Duration::from_secs(1);
        s.defer.max_interval = Duration::from_secs(1);
    })
    .await;
    env.settings.queue.namespace = TEST_NAMESPACE.into();
    env.settings.queue.endpoint = env.sim.service_bus_endpoint();
    env
}

fn send_event(env: &TestEnv, name: &str) {
    let body = cluster_write_event(&cluster(name), Schema::EventGrid).to_string();
    env.sim.send(EVENTS_QUEUE, NewMessage::new(body).message_id(format!("event-{name}"))).unwrap();
}

struct Running {
    shutdown: Shutdown,
    reports: UnboundedReceiver<MessageReport>,
    task: tokio::task::JoinHandle<Result<WorkerSummary, fleetgate::worker::WorkerError>>,
}

/// The worker as `fleetgate run --source servicebus` builds it: a deferring engine.
fn spawn(env: &TestEnv, max_concurrency: usize) -> Running {
    let credential = QueueCredential::Sas(SasKey::new(ROOT_RULE, env.sim.root_sas_key()));
    let source = ServiceBusSource::from_settings(&env.settings.queue, credential).unwrap();
    let dispatcher = Dispatcher::new(env.engine.clone().deferring(), Arc::new(env.settings.clone()));
    let options = common::queue::worker_options(max_concurrency);
    let (tx, reports) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::new(dispatcher, Arc::new(source), options).with_reports(tx);
    let shutdown = Shutdown::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    Running { shutdown, reports, task }
}

impl Running {
    /// Reports until `done` holds for one (panics after `within`).
    async fn until(&mut self, within: Duration, done: impl Fn(&MessageReport) -> bool) -> Vec<MessageReport> {
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout(within, self.reports.recv()).await {
                Ok(Some(r)) => {
                    let stop = done(&r);
                    out.push(r);
                    if stop {
                        return out;
                    }
                }
                other => panic!("no final report within {within:?} ({other:?}): {out:#?}"),
            }
        }
    }

    async fn stop(self) -> WorkerSummary {
        self.shutdown.request();
        tokio::time::timeout(Duration::from_secs(15), self.task).await.expect("stops").expect("no panic").expect("worker ok")
    }
}

fn outcomes(reports: &[MessageReport]) -> Vec<MessageOutcome> {
    reports.iter().filter_map(|r| r.outcome).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creating_cluster_is_deferred_and_converges_when_the_recheck_is_due() {
    let env = env(&fleet(&["aks-new"], &[r#"creating_for = "2s""#], &[r#"update_duration = "2s""#])).await;
    send_event(&env, "aks-new");
    let mut worker = spawn(&env, 2);
    let reports = worker.until(Duration::from_secs(30), |r| r.outcome != Some(MessageOutcome::Deferred)).await;
    let summary = worker.stop().await;

    let seen = outcomes(&reports);
    assert_eq!(seen.last(), Some(&MessageOutcome::Converged), "{reports:#?}");
    let deferred = &reports[..reports.len() - 1];
    assert!(deferred.len() >= 2, "deferred while Creating and while the PUT's operation ran: {reports:#?}");
    assert!(deferred.iter().all(|r| r.outcome == Some(MessageOutcome::Deferred) && r.settled == Settled::Completed), "{reports:#?}");
    assert!(deferred.iter().any(|r| r.reason.as_deref().is_some_and(|t| t.contains("provisioningState Creating"))), "{reports:#?}");
    assert!(deferred.iter().any(|r| r.reason.as_deref().is_some_and(|t| t.contains("cluster update is running"))), "{reports:#?}");
    assert_eq!(summary.count(MessageOutcome::Failed), 0);

    let journal = env.sim.journal();
    assert_eq!(ok_writes_to(&journal, "/managedClusters/aks-new"), 1, "one cluster PUT");
    let plan = env.engine.plan(&cluster("aks-new")).await.unwrap();
    assert_eq!(plan.status, fleetgate::core::PlanStatus::Compliant, "{plan:?}");
    assert_eq!((env.sim.queue_depth(EVENTS_QUEUE), env.sim.scheduled_count(EVENTS_QUEUE)), (Some(0), Some(0)), "nothing left");
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cluster_operation_is_reported_once_and_not_retried() {
    let env = env(&fleet(&["aks-fail"], &[r#"lro_outcome = "failed""#], &[r#"update_duration = "1s""#])).await;
    send_event(&env, "aks-fail");
    let mut worker = spawn(&env, 2);
    let reports = worker.until(Duration::from_secs(30), |r| r.outcome != Some(MessageOutcome::Deferred)).await;
    let last = reports.last().unwrap();
    assert_eq!((last.outcome, &last.settled), (Some(MessageOutcome::Failed), &Settled::Completed), "{reports:#?}");
    let reason = last.reason.clone().unwrap_or_default();
    assert!(reason.contains("managedClusters/aks-fail") && reason.contains("ended Failed"), "{reason}");
    // Completed without a further re-check: nothing is left to deliver, so it is reported once.
    assert_eq!((env.sim.queue_depth(EVENTS_QUEUE), env.sim.scheduled_count(EVENTS_QUEUE)), (Some(0), Some(0)));
    let summary = worker.stop().await;
    assert_eq!(summary.count(MessageOutcome::Failed), 1);
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());
    assert_eq!(ok_writes_to(&env.sim.journal(), "/managedClusters/aks-fail"), 1, "the PUT was not repeated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_creating_clusters_on_two_slots_are_all_deferred_at_once() {
    let names: Vec<String> = (0..10).map(|i| format!("aks-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let env = env(&fleet(&refs, &[r#"creating_for = "10m""#], &[])).await;
    for name in &refs {
        send_event(&env, name);
    }
    let mut worker = spawn(&env, 2);
    let mut reports = Vec::new();
    // The timeout only bounds a hang: a worker that waited on Azure's clock would hold both slots for 10 minutes.
    while reports.len() < 10 {
        reports.extend(worker.until(Duration::from_secs(20), |_| true).await);
    }
    let summary = worker.stop().await;
    assert!(reports.iter().all(|r| r.outcome == Some(MessageOutcome::Deferred) && r.renewals == 0), "{reports:#?}");
    let clusters: std::collections::BTreeSet<_> = reports.iter().filter_map(|r| r.cluster.clone()).collect();
    assert_eq!(clusters.len(), 10, "every cluster deferred once");
    assert!(summary.count(MessageOutcome::Deferred) >= 10);
    let left = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert!(left.iter().all(|p| !p.message.message_id.starts_with("event-")), "every original completed: {left:?}");
    let pending = left.len() + env.sim.scheduled_count(EVENTS_QUEUE).unwrap();
    assert_eq!(pending, 10, "one re-check per cluster, visible or still scheduled");
    let journal = env.sim.journal();
    assert_eq!(writes(&journal).len(), 0, "nothing is written to a cluster being created");
    let reads = journal.iter().filter(|e| e.method == "GET" && e.path.to_ascii_lowercase().contains("/managedclusters/aks-")).count();
    assert!(reads <= 30, "a few reads per deferral, no polling: {reads}");
}

#[tokio::test]
async fn the_deferring_engine_ends_pending_instead_of_waiting() {
    let fleet_toml = fleet(&["aks-busy"], &[r#"provisioning_state = "Upgrading""#], &[]);
    let env = env(&fleet_toml).await;
    let applied = env.engine.clone().deferring().apply(&cluster("aks-busy")).await;
    let pending = applied.pending.expect("pending");
    assert_eq!((pending.state.as_str(), pending.operation), ("Upgrading", None));
    assert!(applied.error.is_none() && applied.report.actions.is_empty(), "{:?}", applied.report);
    assert_eq!(writes(&env.sim.journal()).len(), 0);

    let env = self::env(&fleet(&["aks-put"], &[], &[r#"update_duration = "30s""#])).await;
    let applied = env.engine.clone().deferring().apply(&cluster("aks-put")).await;
    let pending = applied.pending.expect("pending after the accepted PUT");
    let operation = pending.operation.expect("the operation URL");
    assert!(operation.contains("/operations/"), "{operation}");
    assert_eq!(ok_writes_to(&env.sim.journal(), "/managedClusters/aks-put"), 1, "the PUT was sent once, not waited on");
}
