//! Case 1: `fleetgate backfill --output json` (a child process, the release binary) over a generated
//! fleet on the in-process simulator with realistic latency and ARM's buckets; the lower bound comes
//! from the same bulk plans, computed in this process before the run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fleetgate::core::PlanStatus;
use fleetgate::fleet::{BulkOptions, BulkResult, FicMode, Selection, bulk_plan};
use fleetgate::reconcile::Engine;
use fleetgate::sim::SimHandle;
use serde_json::Value;

use crate::bound::Minimum;
use crate::child::{self, Exited};
use crate::setup;
use crate::traffic::{Traffic, tally};

/// What case 1 measured.
#[derive(Debug)]
pub struct BackfillFigures {
    /// Clusters in the fleet.
    pub clusters: usize,
    /// Cluster subscriptions (the hub not counted).
    pub subscriptions: usize,
    /// `backfill.concurrency` of the run (`None`: the default).
    pub concurrency: Option<usize>,
    /// The child's exit.
    pub exited: Exited,
    /// Its JSON summary.
    pub summary: Value,
    /// What the plans required.
    pub minimum: Minimum,
    /// The lower bound and its binding subscription.
    pub bound: (Duration, Option<String>),
    /// ARM traffic of the run.
    pub traffic: Traffic,
    /// Clusters still needing changes afterwards (bulk re-plan).
    pub left_over: usize,
    /// The LRO duration.
    pub lro: Duration,
}

/// Runs case 1 (`retry_after`: `Retry-After` of the simulator's LRO answers; `None` = none, as AKS).
pub async fn run(
    clusters: usize,
    subscriptions: usize,
    concurrency: Option<usize>,
    lro: Duration,
    retry_after: Option<u64>,
) -> anyhow::Result<BackfillFigures> {
    let spec = setup::spec(clusters, subscriptions, 0.30);
    let mut fleet = setup::realistic_fleet(&spec, lro);
    fleet.sim.lro_retry_after_secs = retry_after;
    let subs = setup::subscriptions(&fleet);
    let sim = setup::start(fleet).await?;
    let before = plan_all(&sim, &subs).await.context("planning before the run (for the lower bound)")?;
    let minimum = Minimum::of(before.items.iter().filter_map(|e| e.plan())).with_pricing_reads(&subs);
    drop(before);
    // A fresh Resource Graph window and full ARM buckets for the run.
    tokio::time::sleep(Duration::from_secs(6)).await;
    sim.clear_journal();
    let mut env = setup::child_env(&sim, &subs);
    if let Some(n) = concurrency {
        env.push(("FLEETGATE__BACKFILL__CONCURRENCY".into(), n.to_string()));
    }
    let (running, mut lines) = child::spawn(&["backfill", "--yes", "--output", "json"], &env)?;
    let exited = child::wait(running).await?;
    let stdout = child::collect(&mut lines).await;
    let summary: Value = serde_json::from_str(&stdout)
        .with_context(|| format!("backfill printed no JSON summary:\n{stdout}\n{}", child::tail(&exited.stderr, 20)))?;
    let journal = sim.journal();
    let traffic = tally(&journal);
    let mut polls = std::collections::BTreeMap::new();
    for e in journal.iter().filter(|e| e.is_read() && e.path.to_ascii_lowercase().contains("/operations/")) {
        *polls.entry(e.subscription.clone().unwrap_or_default().to_ascii_lowercase()).or_insert(0u64) += 1;
    }
    drop(journal);
    let minimum = minimum.with_polls(&polls);
    let bound = minimum.bound(traffic.graph_queries, lro);
    let after = plan_all(&sim, &subs).await.context("planning after the run")?;
    let left_over = after.items.iter().filter(|e| e.plan().is_none_or(|p| p.status == PlanStatus::ChangesNeeded)).count();
    sim.shutdown().await;
    Ok(BackfillFigures { clusters, subscriptions, concurrency, exited, summary, minimum, bound, traffic, left_over, lro })
}

/// Bulk-plans every cluster in process (Resource Graph and pricing reads only).
async fn plan_all(sim: &SimHandle, subs: &[String]) -> anyhow::Result<BulkResult> {
    let settings = setup::settings(sim, subs)?;
    let engine = Engine::new(setup::arm_client(&settings)?, Arc::new(settings.clone()))?;
    let selection = Selection::new(subs, &[], &[])?;
    let options = BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: 16 };
    Ok(bulk_plan(engine.arm(), &settings, engine.policy(), &selection, options).await?)
}
