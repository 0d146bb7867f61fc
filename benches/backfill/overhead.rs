//! Case 3: the worker's overhead from receiving a message to its first ARM call. The worker runs in
//! this process — the same `Worker` + `Dispatcher` + `ServiceBusSource` that `fleetgate run` builds —
//! with two probes: a [`Source`] wrapper that stamps each message when `receive` hands it over, and an
//! ARM [`RequestHook`] that stamps the first request for each cluster (right before its token lookup
//! and send). One message per cluster, so the two stamps pair up by cluster. Two loads: the queue
//! filled in advance (the worker saturated), and messages sent at a steady rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleetgate::arm::{Call, RequestHook};
use fleetgate::dispatch::Dispatcher;
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::queue::SasKey;
use fleetgate::reconcile::Engine;
use fleetgate::sim::SimHandle;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, ROOT_RULE};
use fleetgate::source::{MessageId, Polled, QueueCredential, ServiceBusSource, Source, SourceError};
use fleetgate::worker::{Shutdown, Worker, WorkerOptions};

use crate::setup;

/// Overhead percentiles of one load.
#[derive(Debug, Clone)]
pub struct Overhead {
    /// How the messages arrived.
    pub load: String,
    /// Samples.
    pub samples: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Worst.
    pub max: Duration,
}

/// Stamps each delivered message.
#[derive(Debug)]
struct Stamped {
    inner: ServiceBusSource,
    received: Arc<Mutex<HashMap<String, Instant>>>,
}

#[async_trait::async_trait]
impl Source for Stamped {
    async fn receive(&self, wait: Duration) -> Result<Polled, SourceError> {
        let polled = self.inner.receive(wait).await?;
        if let Polled::Message(d) = &polled
            && let MessageId::Broker(id) = &d.id
        {
            self.received.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), Instant::now());
        }
        Ok(polled)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Stamps the first ARM request for each resource path.
#[derive(Debug, Default)]
struct FirstCall(Mutex<HashMap<String, Instant>>);

#[async_trait::async_trait]
impl RequestHook for FirstCall {
    async fn before_send(&self, call: &Call, _is_read: bool) {
        let now = Instant::now();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(call.resource.to_ascii_lowercase()).or_insert(now);
    }
}

/// Runs case 3 for both loads.
pub async fn run(clusters: usize, subscriptions: usize, rate_per_s: u32) -> anyhow::Result<Vec<Overhead>> {
    Ok(vec![one(clusters, subscriptions, None).await?, one(clusters, subscriptions, Some(rate_per_s)).await?])
}

async fn one(clusters: usize, subscriptions: usize, rate: Option<u32>) -> anyhow::Result<Overhead> {
    let fleet = setup::instant_fleet(&setup::spec(clusters, subscriptions, 0.0));
    let (subs, ids) = (setup::subscriptions(&fleet), setup::cluster_ids(&fleet));
    let sim = setup::start(fleet).await?;
    let settings = Arc::new(setup::settings(&sim, &subs)?);
    let engine = Engine::new(setup::arm_client(&settings)?, Arc::clone(&settings))?;
    let first = Arc::new(FirstCall::default());
    engine.arm().set_request_hook(first.clone());
    let received = Arc::new(Mutex::new(HashMap::new()));
    let credential = QueueCredential::Sas(SasKey::new(ROOT_RULE, sim.root_sas_key()));
    let source = Stamped { inner: ServiceBusSource::from_settings(&settings.queue, credential)?, received: received.clone() };
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::new(Dispatcher::new(engine, Arc::clone(&settings)), Arc::new(source), WorkerOptions::from_settings(&settings))
        .with_reports(tx);
    if rate.is_none() {
        publish(&sim, &ids, None).await;
    }
    let shutdown = Shutdown::new();
    let running = tokio::spawn(worker.run(shutdown.clone()));
    if rate.is_some() {
        publish(&sim, &ids, rate).await;
    }
    for _ in 0..ids.len() {
        if tokio::time::timeout(Duration::from_secs(30), reports.recv()).await.ok().flatten().is_none() {
            anyhow::bail!("the in-process worker stopped handling messages");
        }
    }
    shutdown.request();
    running.await??;
    sim.shutdown().await;
    let received = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let first = first.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut samples: Vec<Duration> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some(first.get(&c.as_str().to_ascii_lowercase())?.saturating_duration_since(*received.get(&msg_id(i))?)))
        .collect();
    samples.sort();
    let load = match rate {
        None => format!("{} messages queued in advance", ids.len()),
        Some(r) => format!("{} messages sent at {r}/s", ids.len()),
    };
    let pick = |q: f64| samples.get(((samples.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default();
    Ok(Overhead { load, samples: samples.len(), p50: pick(0.50), p99: pick(0.99), max: samples.last().copied().unwrap_or_default() })
}

fn msg_id(i: usize) -> String {
    format!("overhead-{i}")
}

/// One cluster-write event per cluster; paced at `rate` per second when given.
async fn publish(sim: &SimHandle, ids: &[ResourceId], rate: Option<u32>) {
    let mut ticker = rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(r.max(1)))));
    for (i, cluster) in ids.iter().enumerate() {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let mut event = cluster_write_event(cluster, Schema::EventGrid);
        event["id"] = serde_json::Value::String(msg_id(i));
        sim.send(EVENTS_QUEUE, NewMessage::new(event.to_string()).message_id(msg_id(i)));
    }
}
