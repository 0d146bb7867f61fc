//! Case 2: no-op events per second through `fleetgate run --source servicebus --output json` (a child
//! process). The in-process simulator answers instantly and does not throttle; every cluster is already
//! compliant, so each event costs the worker a receive, a full observation of its cluster (or, for a
//! cluster already found compliant within `gating.unchanged_cluster_ttl`, one cluster GET answered from
//! the unchanged-cluster memo), a plan with nothing to do, and a complete. The queue is filled before
//! the worker starts; the rate is taken between the first and the last handled message (process
//! start-up excluded). In the same run, the baseline (`baseline`): a minimal client sending exactly the
//! requests the worker sent (the ARM ones from the simulator's journal, one receive and one complete
//! per event) as a child process; the figure that travels between machines is the ratio of their CPU
//! times per event.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetgate::arm::PUBLIC_ARM_SCOPE;
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::queue::{SAS_TTL_SECS, SasKey};
use fleetgate::reconcile::MEMO_REASON;
use fleetgate::sim::SimHandle;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage};
use serde_json::Value;

use crate::baseline::{self, Measured, Plan};
use crate::child::{self, Exited};
use crate::setup;
use crate::traffic::tally;

/// What case 2 measured.
#[derive(Debug)]
pub struct NoopFigures {
    /// Events handled.
    pub events: usize,
    /// Of which `compliant`.
    pub compliant: usize,
    /// Of which confirmed from the unchanged-cluster memo (reason `confirmed_from_memo: …`).
    pub memo_hits: usize,
    /// Clusters in the fleet (events cycle over them).
    pub clusters: usize,
    /// `queue.max_concurrency` of the worker.
    pub concurrency: usize,
    /// `gating.unchanged_cluster_ttl` of the worker (zero: memo off).
    pub memo_ttl: Duration,
    /// First to last handled message.
    pub span: Duration,
    /// The child's exit (CPU time, peak RSS).
    pub exited: Exited,
    /// ARM requests the worker sent.
    pub arm_requests: u64,
    /// The baseline's figures for the same requests.
    pub baseline: Measured,
}

impl NoopFigures {
    /// Events per second between the first and the last handled message.
    pub fn rate(&self) -> f64 {
        (self.events.saturating_sub(1)) as f64 / self.span.as_secs_f64().max(1e-9)
    }

    /// Worker CPU per event.
    pub fn worker_cpu_per_event(&self) -> Duration {
        self.exited.cpu / u32::try_from(self.events.max(1)).unwrap_or(u32::MAX)
    }

    /// Baseline CPU per event.
    pub fn baseline_cpu_per_event(&self) -> Duration {
        Duration::from_micros(self.baseline.cpu_us) / u32::try_from(self.events.max(1)).unwrap_or(u32::MAX)
    }

    /// Worker CPU ÷ baseline CPU (target ≤ 1.5).
    pub fn ratio(&self) -> f64 {
        self.exited.cpu.as_secs_f64() / (self.baseline.cpu_us as f64 / 1e6).max(1e-9)
    }
}

/// Runs case 2.
pub async fn run(
    clusters: usize,
    subscriptions: usize,
    events: usize,
    concurrency: usize,
    memo_ttl: Duration,
) -> anyhow::Result<NoopFigures> {
    let fleet = setup::instant_fleet(&setup::spec(clusters, subscriptions, 0.0));
    let (subs, ids) = (setup::subscriptions(&fleet), setup::cluster_ids(&fleet));
    let sim = setup::start(fleet).await?;
    enqueue(&sim, &ids, events, "noop")?;
    sim.clear_journal();
    let mut env = setup::child_env(&sim, &subs);
    env.push(("FLEETGATE__QUEUE__MAX_CONCURRENCY".into(), concurrency.to_string()));
    env.push(("FLEETGATE__GATING__UNCHANGED_CLUSTER_TTL".into(), format!("{}s", memo_ttl.as_secs())));
    let (running, mut lines) = child::spawn(&["run", "--source", "servicebus", "--output", "json"], &env)?;
    let (mut handled, mut compliant, mut memo_hits, mut first, mut last) = (0, 0, 0, None::<Instant>, None::<Instant>);
    while handled < events {
        let Ok(Some((at, line))) = tokio::time::timeout(Duration::from_secs(30), lines.recv()).await else {
            running.terminate();
            let exited = child::wait(running).await?;
            bail!("the worker stopped after {handled} of {events} messages:\n{}", child::tail(&exited.stderr, 20));
        };
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        if v.get("message").is_some() {
            handled += 1;
            compliant += usize::from(v["outcome"] == "compliant");
            memo_hits += usize::from(v["reason"].as_str().is_some_and(|r| r.starts_with(MEMO_REASON)));
            first.get_or_insert(at);
            last = Some(at);
        }
    }
    running.terminate();
    let exited = child::wait(running).await?;
    let journal = sim.journal();
    let arm_requests = tally(&journal).requests;
    let arm_urls = journal.iter().filter(|e| e.is_arm()).map(|e| url(&sim.base_url(), &e.path, &e.query)).collect();
    enqueue(&sim, &ids, events, "baseline")?;
    let baseline = baseline::measure(&plan(&sim, events, concurrency, arm_urls), &std::env::temp_dir()).await?;
    sim.shutdown().await;
    let span = last.zip(first).map(|(l, f)| l - f).unwrap_or_default();
    Ok(NoopFigures { events, compliant, memo_hits, clusters, concurrency, memo_ttl, span, exited, arm_requests, baseline })
}

/// Queues `events` cluster-write events cycling over `ids`, with message IDs `{prefix}-{i}`.
fn enqueue(sim: &SimHandle, ids: &[ResourceId], events: usize, prefix: &str) -> anyhow::Result<()> {
    for i in 0..events {
        let mut event = cluster_write_event(&ids[i % ids.len()], Schema::EventGrid);
        event["id"] = Value::String(format!("{prefix}-{i}"));
        sim.send(EVENTS_QUEUE, NewMessage::new(event.to_string()).message_id(format!("{prefix}-{i}")))
            .context("the events queue exists")?;
    }
    Ok(())
}

fn url(base: &str, path: &str, query: &str) -> String {
    if query.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{query}") }
}

/// The baseline's plan: the worker's ARM requests, a token of the same kind, a SAS signed once.
fn plan(sim: &SimHandle, events: usize, concurrency: usize, arm_urls: Vec<String>) -> Plan {
    let queue = format!("{}/{EVENTS_QUEUE}", sim.service_bus_endpoint());
    let expiry = time::OffsetDateTime::now_utc().unix_timestamp() + SAS_TTL_SECS;
    let sb_authorization = SasKey::new("RootManageSharedAccessKey", sim.root_sas_key()).authorization(&queue, expiry);
    Plan {
        arm_token: sim.issue_token(PUBLIC_ARM_SCOPE),
        sb_authorization,
        receive_url: format!("{queue}/messages/head?timeout=1"),
        events,
        arm_urls,
        concurrency,
    }
}
