//! Shared by the backfill and report tests: a mixed fleet over three subscriptions (the third out of
//! scope), a backfill over the harness's engine, and journal helpers.
#![allow(dead_code)]

use std::sync::Arc;

use fleetgate::fleet::{Backfill, BackfillOptions, FicMode, Mode, Progress, ProgressStyle, RunReport, Selection};
use fleetgate::queue::ServiceBusQueue;
use fleetgate::sim::{JournalEntry, SimHandle};
use serde_json::Value;

use crate::common::child::FleetgateCommand;
use crate::common::fleet::{FleetToml, attached};
use crate::common::{SUB1, SUB2, SUB3, TestEnv, cluster_id, registry_id, start_sim};

/// Clusters in scope (SUB1 + SUB2): 1 compliant, 3 to converge, 2 blocked, 1 excluded. SUB3 (out of
/// scope) has one cluster and one registry that must never be read.
pub fn mixed_fleet() -> String {
    let acr = |sub: &str, name: &str| registry_id(sub, "rg-acr", name);
    let (one, two, far) = (acr(SUB1, "acrone"), acr(SUB2, "acrtwo"), acr(SUB3, "acrfar"));
    FleetToml::new()
        .sim(&[])
        .subscription(SUB1, "full", &[])
        .subscription(SUB2, "off", &[])
        .subscription(SUB3, "full", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB2, "rg-acr", "acrtwo")
        .registry(SUB3, "rg-acr", "acrfar")
        .cluster(SUB1, "rg-a", "aks-compliant", &[&attached([&one]), "compliant = true"])
        .cluster(SUB1, "rg-a", "aks-fresh", &[&attached([&one, &two])])
        .cluster(SUB1, "rg-b", "aks-fresh2", &[&attached([&one])])
        .cluster(SUB2, "rg-c", "aks-sub2", &[&attached([&two])])
        .cluster(SUB1, "rg-a", "aks-old", &[r#"kubernetes_version = "1.29.4""#, &attached([&one])])
        .cluster(SUB1, "rg-b", "aks-nooidc", &["oidc_issuer = false", &attached([&one])])
        .cluster(SUB2, "rg-c", "aks-excluded", &[r#"tags = { "fleetgate.io/exclude" = "true" }"#])
        .cluster(SUB3, "rg-x", "aks-outside", &[&attached([&far])])
        .build()
}

/// The three clusters the mixed fleet converges.
pub fn to_converge() -> Vec<String> {
    vec![cluster_id(SUB1, "rg-a", "aks-fresh"), cluster_id(SUB1, "rg-b", "aks-fresh2"), cluster_id(SUB2, "rg-c", "aks-sub2")]
}

/// Options of a direct run.
pub fn direct() -> BackfillOptions {
    BackfillOptions { mode: Mode::Direct, dry_run: false, max_clusters: None, fic_mode: FicMode::Trust, run_id: "run-1".into(), all: false }
}

/// A backfill over the harness's engine.
pub fn backfill(env: &TestEnv) -> Backfill {
    Backfill::new(env.engine.clone(), Arc::new(env.settings.clone()))
}

/// The selection of `env`'s scope, narrowed to `subscriptions` when not empty.
pub fn selection(env: &TestEnv, subscriptions: &[&str]) -> Selection {
    let subs: Vec<String> = subscriptions.iter().map(|s| s.to_string()).collect();
    Selection::new(&env.settings.scope.subscriptions, &subs, &[]).expect("selection")
}

/// Runs a backfill quietly.
pub async fn run(b: &Backfill, selection: &Selection, options: &BackfillOptions, queue: Option<&ServiceBusQueue>) -> RunReport {
    b.run(selection, options, queue, &mut Progress::new(ProgressStyle::Quiet)).await.expect("backfill runs")
}

/// Successful ARM writes.
pub fn ok_writes(journal: &[JournalEntry]) -> Vec<&JournalEntry> {
    journal.iter().filter(|e| e.is_write() && (200..300).contains(&e.status)).collect()
}

/// ARM reads that are neither Resource Graph queries nor pricing GETs (= per-cluster reads).
pub fn per_cluster_reads(journal: &[JournalEntry]) -> Vec<&JournalEntry> {
    journal.iter().filter(|e| e.is_read() && !e.path.to_ascii_lowercase().contains("/providers/microsoft.security/pricings/")).collect()
}

/// Resource Graph request bodies.
pub fn graph_bodies(journal: &[JournalEntry]) -> Vec<Value> {
    journal.iter().filter(|e| e.is_graph_query()).filter_map(|e| e.request_body.clone()).collect()
}

/// True when `sub` appears anywhere in the journal (path or Resource Graph subscription list).
pub fn touched(journal: &[JournalEntry], sub: &str) -> bool {
    journal.iter().any(|e| {
        e.path.to_ascii_lowercase().contains(sub) || e.request_body.as_ref().is_some_and(|b| b["subscriptions"].to_string().contains(sub))
    })
}

/// Runs the `fleetgate` binary against `sim` with SUB1 + SUB2 in scope, plus `env`.
pub fn fleetgate_cli(sim: &SimHandle, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    FleetgateCommand::new(sim, &[SUB1, SUB2]).args(args).envs(env.iter().cloned()).output()
}

/// The simulator with the mixed fleet.
pub async fn mixed_sim() -> SimHandle {
    start_sim(&mixed_fleet()).await
}

/// stdout as JSON (panics with the text when it is not).
pub fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}
