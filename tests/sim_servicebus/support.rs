//! Shared helpers: a simulator, queues through the real crate, raw requests.

use std::sync::Arc;
use std::time::Duration;

use fleetgate::queue::{DEFAULT_REQUEST_TIMEOUT, QueueAuth, Received, ReceivedMessage, SasKey, ServiceBusQueue, ServiceBusTransport};
use fleetgate::sim::servicebus::{QueueSpec, ROOT_RULE};
use fleetgate::sim::{Fleet, SimHandle, Simulator};

/// The namespace name the crate puts into `https://{ns}.servicebus.windows.net`.
pub const NS: &str = "fleetgate-test";

/// A simulator with the default queues.
pub async fn start() -> SimHandle {
    Simulator::start(Fleet::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// A simulator with one extra queue `spec`.
pub async fn start_with(spec: QueueSpec) -> SimHandle {
    let sim = start().await;
    sim.create_queue(spec).unwrap();
    sim
}

/// The root SAS key of `sim`.
pub fn root_key(sim: &SimHandle) -> SasKey {
    SasKey::new(ROOT_RULE, sim.root_sas_key())
}

/// A transport to `sim` with `auth`.
pub fn transport(sim: &SimHandle, auth: QueueAuth) -> Arc<ServiceBusTransport> {
    Arc::new(ServiceBusTransport::new(Some(&sim.service_bus_endpoint()), auth, DEFAULT_REQUEST_TIMEOUT).unwrap())
}

/// Queue `name` of `sim`, signed by the crate itself with `key` (the transport passes its SAS through).
pub fn queue_with_key(sim: &SimHandle, name: &str, key: &SasKey) -> ServiceBusQueue {
    ServiceBusQueue::new(transport(sim, QueueAuth::PassThrough), NS, name, Some(key)).unwrap()
}

/// Queue `name` of `sim` with the root key.
pub fn queue(sim: &SimHandle, name: &str) -> ServiceBusQueue {
    queue_with_key(sim, name, &root_key(sim))
}

/// Receives with `wait`, expecting a message.
pub async fn expect_message(q: &ServiceBusQueue, wait: Duration) -> Box<ReceivedMessage> {
    match q.receive(wait).await.unwrap() {
        Received::Message(m) => m,
        Received::Empty => panic!("expected a message on {}", q.name()),
    }
}

/// Receives without waiting, expecting nothing.
pub async fn expect_empty(q: &ServiceBusQueue) {
    match q.receive(Duration::ZERO).await.unwrap() {
        Received::Empty => {}
        Received::Message(m) => panic!("expected no message, got {m:?}"),
    }
}

/// A plain reqwest client (no proxies).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The `Authorization` value for a raw request to `path` (namespace-relative, e.g. `/q/messages`).
pub fn sas_header(sim: &SimHandle, path: &str) -> String {
    let expiry = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    root_key(sim).authorization(&format!("{}{path}", sim.service_bus_endpoint()), expiry)
}

/// `(method, path, status)` of the journaled `/sb/` requests.
pub fn sb_journal(sim: &SimHandle) -> Vec<(String, String, u16)> {
    sim.journal().into_iter().filter(|e| e.path.starts_with("/sb/")).map(|e| (e.method, e.path, e.status)).collect()
}
