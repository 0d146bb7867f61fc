//! The demo's steps (see the module docs of `demo`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::Secret;
use tokio::sync::mpsc::unbounded_channel;
use tokio::time::Instant;

use super::progress::{Watch, print_result, say};
use super::scenario::{self, Published};
use super::view::{self, ClusterRow};
use super::{DEMO_FLEET, DemoError, DemoOptions, DemoResult, DemoSpeed};
use crate::arm::ArmClient;
use crate::arm::auth::{CredentialEnv, credential_with_env};
use crate::config::{self, ConfigSource, CredentialKind, QueueAuthKind, Settings};
use crate::dispatch::{Dispatcher, MessageOutcome};
use crate::id::ResourceId;
use crate::queue::{SasKey, ServiceBusQueue};
use crate::reconcile::Engine;
use crate::sim::latency::LatencyPreset;
use crate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE, QueueSpec, ROOT_RULE};
use crate::sim::{Fleet, SimHandle, Simulator};
use crate::source::{QueueCredential, ServiceBusSource};
use crate::worker::{Shutdown, Worker, WorkerOptions, WorkerSummary};

/// The cluster that gets a second registry during the demo, and that registry.
const ATTACH_CLUSTER: &str = "aks-prod-weu-02";
const ATTACH_REGISTRY: &str = "acrshared";
/// Any client ID works against the simulator's token endpoint.
const DEMO_CLIENT_ID: &str = "0d3b7c1e-5f00-4a6e-9d2b-0000000de0a1";

/// Runs the demo, writing progress, the table and the summary to `out`.
pub async fn run(options: DemoOptions, out: &mut (dyn Write + Send)) -> Result<DemoResult, DemoError> {
    let started = Instant::now();
    let fleet = demo_fleet(options.speed)?;
    let (clusters, subscriptions) = fleet_ids(&fleet)?;
    let registries = fleet.registries.len();
    let sim = Simulator::start(fleet, std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let settings = Arc::new(demo_settings(&sim, subscriptions.clone(), options.queue_auth)?);
    let env = CredentialEnv { client_secret: Some(Secret::new("fleetgate-demo")), ..Default::default() };
    let credential = credential_with_env(&settings.azure, &env)?;
    let engine = Engine::new(ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential.clone())?, Arc::clone(&settings))
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    declare_queues(&sim)?;
    let speed = if options.speed == DemoSpeed::Realistic { "realistic ARM latency and LRO timing" } else { "instant simulator" };
    say(
        out,
        &format!(
            "fleetgate demo — simulated Azure at {} ({} clusters, {} subscriptions, {registries} registries; {speed})",
            sim.base_url(),
            clusters.len(),
            subscriptions.len()
        ),
    );
    say(
        out,
        &format!(
            "Service Bus queue '{EVENTS_QUEUE}' (auth: {}), worker max_concurrency {}\n",
            auth_label(options.queue_auth),
            settings.queue.max_concurrency
        ),
    );
    let before = view::snapshot(&engine, &sim, &clusters).await;

    let queue_credential = match options.queue_auth {
        QueueAuthKind::Sas => QueueCredential::Sas(SasKey::new(ROOT_RULE, sim.root_sas_key())),
        QueueAuthKind::Entra => QueueCredential::Entra(credential),
    };
    let source = ServiceBusSource::from_settings(&settings.queue, queue_credential).map_err(|e| DemoError::Setup(e.to_string()))?;
    let publisher = source.queue().clone();
    let (tx, rx) = unbounded_channel();
    let worker =
        Worker::new(Dispatcher::new(engine.clone(), Arc::clone(&settings)), Arc::new(source), WorkerOptions::from_settings(&settings))
            .with_reports(tx);
    let mut watch = Watch::new(rx, worker.status(), options.drain_timeout);
    let shutdown = Shutdown::new();
    let first_seq = last_seq(&sim);
    let running = tokio::spawn(worker.run(shutdown.clone()));

    let events = scenario::cluster_events(&clusters);
    say(
        out,
        &format!(
            "Publishing {} events (cluster writes, noise, one malformed message); the worker handles them as they arrive:",
            events.len()
        ),
    );
    publish(&publisher, &events, &mut watch).await?;
    watch.until_drained(&sim, events.len(), out).await?;

    let attach_from = last_seq(&sim);
    let (cluster, registry, assignment) = attach_registry(engine.arm(), &sim, &settings, &clusters).await?;
    let attach_to = last_seq(&sim);
    say(
        out,
        &format!(
            "\nAttached {} to {} (AcrPull for its kubelet identity), as `az aks update --attach-acr` does:",
            registry.name(),
            cluster.name()
        ),
    );
    let attached = [scenario::registry_attached_event(&assignment, &cluster, &registry)];
    publish(&publisher, &attached, &mut watch).await?;
    watch.until_drained(&sim, events.len() + 1, out).await?;

    shutdown.request();
    let summary = match running.await {
        Ok(Ok(summary)) => summary,
        Ok(Err(e)) => return Err(DemoError::Setup(e.to_string())),
        Err(e) => return Err(DemoError::Setup(format!("the worker task failed: {e}"))),
    };
    let (arm_reads, arm_writes) = arm_counts(&sim, first_seq, last_seq(&sim), (attach_from, attach_to));
    let after = view::snapshot(&engine, &sim, &clusters).await;
    let rows: Vec<ClusterRow> = clusters
        .into_iter()
        .zip(before.into_iter().zip(after))
        .map(|(cluster, (before, after))| ClusterRow { cluster, before, after })
        .collect();
    let parked = sim.queue_depth(POISON_QUEUE).unwrap_or(0);
    let mut problems = view::problems(&rows, Some((&cluster, registry.name())));
    problems.extend(extra_problems(&summary, parked));
    let result = DemoResult {
        rows,
        summary,
        published: events.len() + attached.len(),
        parked,
        arm_reads,
        arm_writes,
        elapsed: started.elapsed(),
        problems,
    };
    print_result(&result, out);
    sim.shutdown().await;
    Ok(result)
}

/// The compiled-in fleet, with the timing zeroed for [`DemoSpeed::Instant`].
fn demo_fleet(speed: DemoSpeed) -> Result<Fleet, DemoError> {
    let mut fleet = Fleet::from_toml_str(DEMO_FLEET).map_err(|e| DemoError::Setup(format!("built-in demo fleet: {e}")))?;
    if speed == DemoSpeed::Instant {
        fleet.sim.latency = LatencyPreset::Zero;
        fleet.sim.lro_duration = Some(Duration::ZERO);
        fleet.sim.lro_retry_after_secs = Some(0);
        fleet.sim.replication_delay = Duration::ZERO;
        fleet.sim.fic_write_duration = Duration::ZERO;
    }
    Ok(fleet)
}

/// The clusters and subscriptions of the fleet.
fn fleet_ids(fleet: &Fleet) -> Result<(Vec<ResourceId>, Vec<String>), DemoError> {
    let mut clusters = Vec::new();
    for c in &fleet.clusters {
        if let (Some(sub), Some(rg), Some(name)) = (&c.subscription, &c.resource_group, &c.name) {
            let id = ResourceId::new_resource(sub, rg, "Microsoft.ContainerService", "managedClusters", name)
                .map_err(|e| DemoError::Setup(format!("built-in demo fleet: {e}")))?;
            clusters.push(id);
        }
    }
    Ok((clusters, fleet.subscriptions.iter().map(|s| s.id.clone()).collect()))
}

/// Built-in defaults pointed at the simulator (the user's configuration is not read).
fn demo_settings(sim: &SimHandle, subscriptions: Vec<String>, auth: QueueAuthKind) -> Result<Settings, DemoError> {
    let mut s = config::load(&ConfigSource { file: None, env: Some(HashMap::new()) }).map_err(|e| DemoError::Setup(e.to_string()))?;
    s.azure.resource_manager_endpoint = sim.base_url();
    s.azure.authority_host = sim.base_url();
    s.azure.tenant_id = sim.tenant_id().to_string();
    s.azure.client_id = DEMO_CLIENT_ID.to_string();
    s.azure.credential = CredentialKind::ClientSecret;
    s.azure.retry.initial_backoff = Duration::from_millis(200);
    s.azure.retry.max_backoff = Duration::from_secs(2);
    s.scope.subscriptions = subscriptions;
    s.queue.namespace = "fleetgate-demo".into();
    s.queue.endpoint = sim.service_bus_endpoint();
    s.queue.auth = auth;
    s.queue.receive_timeout = Duration::from_secs(1);
    s.queue.lock_renewal_interval = Duration::from_secs(10);
    s.shutdown.grace = Duration::from_secs(10);
    Ok(s)
}

/// The events queue (30 s locks, duplicate detection) and the poison queue.
fn declare_queues(sim: &SimHandle) -> Result<(), DemoError> {
    let events = QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(30)).duplicate_detection(Duration::from_secs(600));
    for spec in [events, QueueSpec::new(POISON_QUEUE)] {
        sim.create_queue(spec).map_err(|e| DemoError::Setup(e.to_string()))?;
    }
    Ok(())
}

/// Sends `events` in order through the real Service Bus client.
async fn publish(queue: &ServiceBusQueue, events: &[Published], watch: &mut Watch) -> Result<(), DemoError> {
    for p in events {
        if let Some(id) = &p.message.message_id {
            watch.labels.insert(id.clone(), p.label.clone());
        }
        queue.send(&p.message).await?;
    }
    Ok(())
}

/// Gives the kubelet identity of [`ATTACH_CLUSTER`] AcrPull on [`ATTACH_REGISTRY`] through ARM.
async fn attach_registry(
    arm: &ArmClient,
    sim: &SimHandle,
    settings: &Settings,
    clusters: &[ResourceId],
) -> Result<(ResourceId, ResourceId, ResourceId), DemoError> {
    let cluster = clusters.iter().find(|c| c.name() == ATTACH_CLUSTER).cloned().ok_or_else(|| missing(ATTACH_CLUSTER))?;
    let doc = sim.with_state(|s| s.cluster_document(cluster.as_str())).ok_or_else(|| missing(ATTACH_CLUSTER))?;
    let kubelet = doc
        .pointer("/properties/identityProfile/kubeletidentity/objectId")
        .and_then(|v| v.as_str())
        .ok_or_else(|| missing("kubelet identity"))?;
    let registry = ResourceId::new_resource(
        "00000000-0000-0000-0000-000000000003",
        "rg-platform",
        "Microsoft.ContainerRegistry",
        "registries",
        ATTACH_REGISTRY,
    )
    .map_err(|e| DemoError::Setup(e.to_string()))?;
    let assignment = registry
        .child_provider("Microsoft.Authorization", "roleAssignments", &uuid::Uuid::new_v4().to_string())
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let body = scenario::acr_pull_assignment_body(&registry, kubelet);
    arm.put(assignment.as_str(), &settings.azure.api_versions.role_assignments, &body, None).await?;
    Ok((cluster, registry, assignment))
}

fn missing(what: &str) -> DemoError {
    DemoError::Setup(format!("the built-in demo fleet has no {what}"))
}

/// The newest journal sequence number.
fn last_seq(sim: &SimHandle) -> u64 {
    sim.journal().last().map_or(0, |e| e.seq)
}

/// ARM reads and writes journaled in `(from, to]`, except those in `excluded` (the demo's own attach).
fn arm_counts(sim: &SimHandle, from: u64, to: u64, excluded: (u64, u64)) -> (usize, usize) {
    let entries = sim.journal_since(from);
    let counted = entries.iter().filter(|e| e.seq <= to && !(e.seq > excluded.0 && e.seq <= excluded.1));
    counted.fold((0, 0), |(r, w), e| {
        if e.is_write() {
            (r, w + 1)
        } else if e.is_read() || e.is_graph_query() {
            (r + 1, w)
        } else {
            (r, w)
        }
    })
}

/// Worker-level expectations: nothing failed, exactly the malformed message parked.
fn extra_problems(summary: &WorkerSummary, parked: usize) -> Vec<String> {
    let mut out = Vec::new();
    if summary.count(MessageOutcome::Failed) > 0 {
        out.push(format!("{} message(s) failed (see above)", summary.count(MessageOutcome::Failed)));
    }
    if parked != 1 {
        out.push(format!("expected exactly the malformed message in {POISON_QUEUE}, found {parked}"));
    }
    out
}

fn auth_label(auth: QueueAuthKind) -> &'static str {
    match auth {
        QueueAuthKind::Entra => "Microsoft Entra token",
        QueueAuthKind::Sas => "SAS",
    }
}
