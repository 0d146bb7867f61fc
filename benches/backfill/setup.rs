//! The benchmark's fleets, the in-process simulator, and the settings / environment that point
//! fleetgate (in process or as a child `fleetgate` process) at it.

use std::collections::HashMap;
use std::time::Duration;

use azure_core::credentials::Secret;
use fleetgate::arm::ArmClient;
use fleetgate::arm::auth::{CredentialEnv, credential_with_env};
use fleetgate::config::{self, ConfigSource, CredentialKind, Settings};
use fleetgate::id::ResourceId;
use fleetgate::sim::arm::generator::{GeneratorSpec, generate};
use fleetgate::sim::latency::LatencyPreset;
use fleetgate::sim::{Fleet, SimHandle, Simulator};

/// Any client ID works against the simulator's token endpoint.
pub const CLIENT_ID: &str = "0d3b7c1e-5f00-4a6e-9d2b-00000000be0c";
/// Any secret works (the generated fleets set none).
pub const CLIENT_SECRET: &str = "fleetgate-bench";

/// A generated fleet: `clusters` in `subscriptions` cluster subscriptions (plus the generator's hub
/// subscription for shared registries), `non_compliant` of them convergeable, the rest compliant;
/// no blocked, excluded or failed clusters (they cost nothing beyond the bulk reads).
pub fn spec(clusters: usize, subscriptions: usize, non_compliant: f64) -> GeneratorSpec {
    GeneratorSpec {
        count: clusters,
        subscriptions,
        compliant: 1.0 - non_compliant,
        oidc_disabled: 0.0,
        workload_identity_disabled: 0.0,
        old_kubernetes: 0.0,
        excluded: 0.0,
        failed: 0.0,
        ..GeneratorSpec::default()
    }
}

/// The backfill fleet: realistic latency (reads 40 ms, writes 150 ms, ±25 %), ARM's token buckets
/// on, cluster PUTs `Updating` for `lro` with `Retry-After: 1`, identity replication 5 s, FIC writes
/// 200 ms — the demo's timing.
pub fn realistic_fleet(spec: &GeneratorSpec, lro: Duration) -> Fleet {
    let mut fleet = generate(spec);
    fleet.sim.latency = LatencyPreset::Realistic;
    fleet.sim.throttling = true;
    fleet.sim.lro_duration = Some(lro);
    fleet.sim.lro_retry_after_secs = Some(1);
    fleet.sim.replication_delay = Duration::from_secs(5);
    fleet.sim.fic_write_duration = Duration::from_millis(200);
    fleet.sim.journal_bodies = false;
    fleet
}

/// The no-op fleet: zero latency, no throttling (fleetgate's own cost, not ARM's limits).
pub fn instant_fleet(spec: &GeneratorSpec) -> Fleet {
    let mut fleet = generate(spec);
    fleet.sim.latency = LatencyPreset::Zero;
    fleet.sim.throttling = false;
    fleet.sim.journal_bodies = false;
    fleet
}

/// Every subscription of `fleet` (the hub included: its registries are written to).
pub fn subscriptions(fleet: &Fleet) -> Vec<String> {
    fleet.subscriptions.iter().map(|s| s.id.clone()).collect()
}

/// The cluster IDs of a generated fleet.
pub fn cluster_ids(fleet: &Fleet) -> Vec<ResourceId> {
    fleet
        .clusters
        .iter()
        .filter_map(|c| match (&c.subscription, &c.resource_group, &c.name) {
            (Some(s), Some(rg), Some(n)) => ResourceId::new_resource(s, rg, "Microsoft.ContainerService", "managedClusters", n).ok(),
            _ => None,
        })
        .collect()
}

/// Starts the simulator in this process on a free loopback port.
pub async fn start(fleet: Fleet) -> anyhow::Result<SimHandle> {
    Ok(Simulator::start(fleet, "127.0.0.1:0".parse()?).await?)
}

/// Built-in defaults pointed at `sim` with `subscriptions` in scope (for in-process use).
pub fn settings(sim: &SimHandle, subscriptions: &[String]) -> anyhow::Result<Settings> {
    let mut s = config::load(&ConfigSource { file: None, env: Some(HashMap::new()) })?;
    s.azure.resource_manager_endpoint = sim.base_url();
    s.azure.authority_host = sim.base_url();
    s.azure.tenant_id = sim.tenant_id().to_string();
    s.azure.client_id = CLIENT_ID.to_string();
    s.azure.credential = CredentialKind::ClientSecret;
    s.scope.subscriptions = subscriptions.to_vec();
    s.queue.namespace = fleetgate::sim::cli::SIM_NAMESPACE.into();
    s.queue.endpoint = sim.service_bus_endpoint();
    s.queue.auth = config::QueueAuthKind::Sas;
    s.queue.receive_timeout = Duration::from_secs(1);
    s.resync.enabled = false;
    s.gating.manage_defender_plan = config::DefenderPlanMode::Full;
    Ok(s)
}

/// An ARM client for `settings` with the client-secret credential.
pub fn arm_client(settings: &Settings) -> anyhow::Result<ArmClient> {
    let env = CredentialEnv { client_secret: Some(Secret::new(CLIENT_SECRET)), ..Default::default() };
    let credential = credential_with_env(&settings.azure, &env)?;
    Ok(ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential)?)
}

/// The environment of a child `fleetgate` process aimed at `sim` (the same settings as [`settings`]).
pub fn child_env(sim: &SimHandle, subscriptions: &[String]) -> Vec<(String, String)> {
    let pairs = [
        ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", sim.base_url()),
        ("FLEETGATE__AZURE__AUTHORITY_HOST", sim.base_url()),
        ("FLEETGATE__AZURE__CREDENTIAL", "client_secret".into()),
        ("FLEETGATE__SCOPE__SUBSCRIPTIONS", subscriptions.join(",")),
        // The generated fleets have Free subscriptions; the figures include switching them on.
        ("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", "full".into()),
        ("FLEETGATE__QUEUE__NAMESPACE", fleetgate::sim::cli::SIM_NAMESPACE.into()),
        ("FLEETGATE__QUEUE__ENDPOINT", sim.service_bus_endpoint()),
        ("FLEETGATE__QUEUE__AUTH", "sas".into()),
        ("FLEETGATE__QUEUE__RECEIVE_TIMEOUT", "1s".into()),
        ("FLEETGATE__RESYNC__ENABLED", "false".into()),
        ("FLEETGATE__HEALTH__LISTEN", "127.0.0.1:0".into()),
        ("FLEETGATE_SAS_KEY", sim.root_sas_key()),
        ("AZURE_TENANT_ID", sim.tenant_id().to_string()),
        ("AZURE_CLIENT_ID", CLIENT_ID.into()),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
    ];
    let mut env: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    // Passed through for experiments with the worker's runtime (tokio reads it for its thread count).
    if let Ok(threads) = std::env::var("TOKIO_WORKER_THREADS") {
        env.push(("TOKIO_WORKER_THREADS".into(), threads));
    }
    env
}
