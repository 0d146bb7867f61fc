//! A simulator with a small fleet, a Service Bus source, and helpers to run the worker until it has
//! reported a number of messages.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{Secret, TokenCredential};
use fleetgate::arm::auth::{CredentialEnv, credential_with_env};
use fleetgate::dispatch::Dispatcher;
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::queue::SasKey;
use fleetgate::sim::JournalEntry;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, QueueSpec, ROOT_RULE};
use fleetgate::source::{QueueCredential, ServiceBusSource};
use fleetgate::worker::{MessageReport, Shutdown, Worker, WorkerError, WorkerOptions, WorkerStatus, WorkerSummary};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

pub use crate::common::child::{FleetgateCommand, TEST_NAMESPACE};
pub use crate::common::faults::fault;
pub use crate::common::*;

/// One subscription (Defender full), one registry, three convergeable clusters.
pub fn fleet() -> String {
    fleet::attached_clusters(&[], ["aks-a", "aks-b", "aks-c"])
}

/// A cluster of [`fleet`].
pub fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

/// The simulator and settings aimed at it (queue endpoint included), ARM retries fast.
pub async fn env(tweak: impl FnOnce(&mut fleetgate::config::Settings)) -> TestEnv {
    let mut env = start(&fleet(), &[SUB1], |s| {
        s.azure.retry.max_attempts = 2;
        tweak(s);
    })
    .await;
    env.settings.queue.namespace = TEST_NAMESPACE.into();
    env.settings.queue.endpoint = env.sim.service_bus_endpoint();
    env
}

/// Re-declares the events queue with `spec` applied to the defaults.
pub fn declare(env: &TestEnv, spec: impl FnOnce(QueueSpec) -> QueueSpec) {
    env.sim.create_queue(spec(QueueSpec::new(EVENTS_QUEUE))).unwrap();
}

/// Sends a `managedClusters/write` event for `name` with MessageId `id`.
pub fn send_cluster_event(env: &TestEnv, name: &str, id: &str) {
    let body = cluster_write_event(&cluster(name), Schema::EventGrid).to_string();
    env.sim.send(EVENTS_QUEUE, NewMessage::new(body).message_id(id)).unwrap();
}

/// The root SAS key as a queue credential.
pub fn sas(env: &TestEnv) -> QueueCredential {
    QueueCredential::Sas(SasKey::new(ROOT_RULE, env.sim.root_sas_key()))
}

/// The Entra (client secret) credential the ARM client uses, for Service Bus.
pub fn entra(env: &TestEnv) -> QueueCredential {
    let credential_env = CredentialEnv { client_secret: Some(Secret::new(CLIENT_SECRET)), ..Default::default() };
    let credential: Arc<dyn TokenCredential> = credential_with_env(&env.settings.azure, &credential_env).unwrap();
    QueueCredential::Entra(credential)
}

/// Fast worker options (see `common::queue::worker_options`).
pub use crate::common::queue::worker_options as options;

/// A running worker.
pub struct Running {
    pub shutdown: Shutdown,
    pub status: WorkerStatus,
    pub reports: UnboundedReceiver<MessageReport>,
    pub task: JoinHandle<Result<WorkerSummary, WorkerError>>,
}

impl Running {
    /// Waits for `n` more reports (panics after `within`).
    pub async fn reports(&mut self, n: usize, within: Duration) -> Vec<MessageReport> {
        let mut out = Vec::new();
        while out.len() < n {
            match tokio::time::timeout(within, self.reports.recv()).await {
                Ok(Some(r)) => out.push(r),
                Ok(None) => panic!("the worker stopped after {} of {n} reports: {out:?}", out.len()),
                Err(_) => panic!("only {} of {n} reports within {within:?}: {out:?}", out.len()),
            }
        }
        out
    }

    /// Requests shutdown and returns the summary.
    pub async fn stop(self) -> WorkerSummary {
        self.shutdown.request();
        tokio::time::timeout(Duration::from_secs(15), self.task).await.expect("worker stops").expect("no panic").expect("worker ok")
    }
}

/// Starts a worker over the events queue with `credential` and `options`.
pub fn spawn(env: &TestEnv, credential: QueueCredential, options: WorkerOptions) -> Running {
    let source = ServiceBusSource::from_settings(&env.settings.queue, credential).unwrap();
    let dispatcher = Dispatcher::new(env.engine.clone(), Arc::new(env.settings.clone()));
    let (tx, reports) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::new(dispatcher, Arc::new(source), options).with_reports(tx);
    let status = worker.status();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    Running { shutdown, status, reports, task }
}

/// A rule adding `ms` of latency to the next `count` GETs of cluster `name`.
pub fn slow_cluster_get(name: &str, ms: u64, count: u32) -> FaultRule {
    FaultRule { latency_ms: Some(ms), count: Some(count), ..fault(Some("GET"), &format!("*/managedClusters/{name}")) }
}

/// A rule answering `status` to GETs of cluster `name` (`count` times, or always).
pub fn failing_cluster_get(name: &str, status: u16, count: Option<u32>) -> FaultRule {
    FaultRule { status: Some(status), latency_ms: None, count, ..slow_cluster_get(name, 0, 0) }
}

/// `(method, path, status)` of the journaled Service Bus requests.
pub fn sb_requests(journal: &[JournalEntry]) -> Vec<(String, String, u16)> {
    journal.iter().filter(|e| e.path.starts_with("/sb/")).map(|e| (e.method.clone(), e.path.clone(), e.status)).collect()
}

/// Polls `cond` every 20 ms for up to `within`.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}
