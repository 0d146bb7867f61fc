//! Shared test harness: an in-process simulator on port 0 and settings pointing at it, authenticated
//! with the real azure_identity `ClientSecretCredential` through the loopback transport.
#![allow(dead_code)]

pub mod child;
pub mod faults;
pub mod fleet;
pub mod png;
pub mod queue;
pub mod second_writer;
pub mod snapshot;
pub mod terminal;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::Secret;
use fleetgate::arm::ArmClient;
use fleetgate::arm::auth::{CredentialEnv, credential_with_env};
use fleetgate::config::{self, ConfigSource, Settings};
use fleetgate::reconcile::Engine;
use fleetgate::sim::{Fleet, JournalEntry, SimHandle, Simulator};

pub const SUB1: &str = "00000000-0000-0000-0000-000000000001";
pub const SUB2: &str = "00000000-0000-0000-0000-000000000002";
pub const SUB3: &str = "00000000-0000-0000-0000-000000000003";
pub const CLIENT_ID: &str = "11111111-1111-1111-1111-111111111111";
pub const CLIENT_SECRET: &str = "sim-client-secret-value";

/// A running simulator plus settings and an engine aimed at it.
pub struct TestEnv {
    pub sim: SimHandle,
    pub settings: Settings,
    pub engine: Engine,
}

/// Settings for `sim` with fast retries; `subscriptions` in scope. The test fleets put subscriptions on
/// the Free plan on purpose, so the harness runs with `gating.manage_defender_plan = "full"` (fleetgate
/// may switch them on); the tests of the default (`extensions`) set it back.
pub fn settings_for(sim: &SimHandle, subscriptions: &[&str]) -> Settings {
    let env: HashMap<String, String> = HashMap::new();
    let mut s = config::load(&ConfigSource { file: None, env: Some(env) }).expect("defaults load");
    s.azure.resource_manager_endpoint = sim.base_url();
    s.azure.authority_host = sim.base_url();
    s.azure.tenant_id = sim.tenant_id().to_string();
    s.azure.client_id = CLIENT_ID.to_string();
    s.azure.credential = config::CredentialKind::ClientSecret;
    s.azure.retry.initial_backoff = Duration::from_millis(10);
    s.azure.retry.max_backoff = Duration::from_millis(50);
    s.azure.retry.principal_not_found_window = Duration::from_secs(5);
    s.azure.request_timeout = Duration::from_secs(10);
    s.azure.operation_timeout = Duration::from_secs(30);
    s.scope.subscriptions = subscriptions.iter().map(|x| x.to_string()).collect();
    s.gating.manage_defender_plan = config::DefenderPlanMode::Full;
    s
}

/// An ARM client using the real client-secret credential against the simulator's token endpoint.
pub fn arm_client(settings: &Settings) -> ArmClient {
    let env = CredentialEnv { client_secret: Some(Secret::new(CLIENT_SECRET)), ..Default::default() };
    let credential = credential_with_env(&settings.azure, &env).expect("credential");
    ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential).expect("arm client")
}

/// Starts the simulator for `fleet_toml` on a free loopback port.
pub async fn start_sim(fleet_toml: &str) -> SimHandle {
    let fleet = fast_polls(Fleet::from_toml_str(fleet_toml).expect("fleet parses"));
    Simulator::start(fleet, "127.0.0.1:0".parse().expect("addr")).await.expect("simulator starts")
}

/// `fleet` with `Retry-After: 0` on LRO answers unless it sets its own: the explicit kinder knob that
/// keeps tests fast (recorded AKS answers carry no `Retry-After`, so fleetgate would wait its default
/// poll interval of 5 s per operation).
pub fn fast_polls(mut fleet: Fleet) -> Fleet {
    fleet.sim.lro_retry_after_secs.get_or_insert(0);
    fleet
}

/// Starts the simulator for `fleet_toml` and builds an engine; `tweak` adjusts settings first.
pub async fn start(fleet_toml: &str, subscriptions: &[&str], tweak: impl FnOnce(&mut Settings)) -> TestEnv {
    let sim = start_sim(fleet_toml).await;
    let mut settings = settings_for(&sim, subscriptions);
    tweak(&mut settings);
    let engine = Engine::new(arm_client(&settings), Arc::new(settings.clone())).expect("engine");
    TestEnv { sim, settings, engine }
}

/// ARM writes in the journal (excluding token calls and Resource Graph queries).
pub fn writes(journal: &[JournalEntry]) -> Vec<&JournalEntry> {
    journal.iter().filter(|e| e.is_write()).collect()
}

/// Successful ARM writes whose path contains `needle` (case-insensitive).
pub fn ok_writes_to(journal: &[JournalEntry], needle: &str) -> usize {
    let needle = needle.to_ascii_lowercase();
    journal.iter().filter(|e| e.is_write() && (200..300).contains(&e.status) && e.path.to_ascii_lowercase().contains(&needle)).count()
}

/// The ARM ID of registry `name` in `sub`/`rg`.
pub fn registry_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}")
}

/// The ARM ID of managed cluster `name` in `sub`/`rg`.
pub fn cluster_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}")
}
