//! Case 4: an event burst with minutes-long AKS operations, through `fleetgate run --source servicebus
//! --output json` (a child process, one worker). `clusters` cluster-created events for clusters that
//! stay `Creating` for `wait` after the simulator starts (the generator's `creating_for`), then need the
//! gating writes whose cluster PUT runs `lro` (`update_duration`, no `Retry-After`, as AKS answers).
//! Realistic request latency, ARM's token buckets; identities replicate at once (the Entra delay is not
//! what this case measures).
//!
//! The worker defers instead of waiting: every `deferred` report is one re-check that cost exactly one
//! ARM read (the cluster GET that found it busy, or one poll of fleetgate's cluster operation), so
//! "reads while waiting" per cluster = its `deferred` reports. Wall = worker start → last cluster
//! converged. Bound = `wait` + `lro` + the write floor, the write floor being the writes the run made
//! per subscription paid at ARM's bucket (`(W_s − 200)⁺ / 10 s`, the busiest subscription).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::fleet::budget::subscription_of;
use fleetgate::sim::arm::generator::generate;
use fleetgate::sim::latency::LatencyPreset;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, POISON_QUEUE};
use serde_json::Value;

use crate::bound::WRITES;
use crate::child::{self, Exited};
use crate::setup;
use crate::traffic::{Traffic, tally};

/// The re-check interval the worker runs with (`defer.interval` = `defer.max_interval`).
pub const RECHECK: Duration = Duration::from_secs(15);

/// What case 4 measured.
#[derive(Debug)]
pub struct BurstFigures {
    /// Events sent (one per cluster).
    pub clusters: usize,
    /// Cluster subscriptions.
    pub subscriptions: usize,
    /// `queue.max_concurrency`.
    pub concurrency: usize,
    /// How long the clusters stay `Creating`.
    pub wait: Duration,
    /// The cluster PUT's operation.
    pub lro: Duration,
    /// Worker start → last cluster converged.
    pub wall: Duration,
    /// Clusters reported `converged`.
    pub converged: usize,
    /// Clusters never reported converged, plus parked and dead-lettered messages.
    pub lost: usize,
    /// Successful writes to a resource that was already written successfully.
    pub duplicated_writes: usize,
    /// `deferred` reports per cluster (one ARM read each): mean and max.
    pub waiting_reads: (f64, usize),
    /// Every report by outcome.
    pub outcomes: BTreeMap<String, usize>,
    /// The write floor (busiest subscription) and its writes.
    pub write_floor: (Duration, u64),
    /// ARM traffic.
    pub traffic: Traffic,
    /// The child's exit.
    pub exited: Exited,
}

impl BurstFigures {
    /// `wait + lro + write floor`.
    pub fn bound(&self) -> Duration {
        self.wait + self.lro + self.write_floor.0
    }
}

/// Runs case 4.
pub async fn run(clusters: usize, subscriptions: usize, concurrency: usize, wait: Duration, lro: Duration) -> anyhow::Result<BurstFigures> {
    let mut spec = setup::spec(clusters, subscriptions, 1.0);
    spec.creating_for = Some(wait);
    let mut fleet = generate(&spec);
    fleet.sim.latency = LatencyPreset::Realistic;
    fleet.sim.throttling = true;
    fleet.sim.update_duration = Some(lro);
    fleet.sim.journal_bodies = false;
    let (subs, ids) = (setup::subscriptions(&fleet), setup::cluster_ids(&fleet));
    let sim = setup::start(fleet).await?;
    for (i, id) in ids.iter().enumerate() {
        let mut event = cluster_write_event(id, Schema::EventGrid);
        event["id"] = Value::String(format!("burst-{i}"));
        sim.send(EVENTS_QUEUE, NewMessage::new(event.to_string()).message_id(format!("burst-{i}"))).context("the events queue exists")?;
    }
    let mut env = setup::child_env(&sim, &subs);
    for (k, v) in [
        ("FLEETGATE__QUEUE__MAX_CONCURRENCY", concurrency.to_string()),
        ("FLEETGATE__DEFER__INTERVAL", format!("{}s", RECHECK.as_secs())),
        ("FLEETGATE__DEFER__MAX_INTERVAL", format!("{}s", RECHECK.as_secs())),
    ] {
        env.push((k.into(), v));
    }
    let started = Instant::now();
    let (running, mut lines) = child::spawn(&["run", "--source", "servicebus", "--output", "json"], &env)?;
    let give_up = (wait + lro) * 2 + Duration::from_secs(120);
    let (mut converged, mut deferred, mut outcomes, mut last) = (HashSet::new(), HashMap::<String, usize>::new(), BTreeMap::new(), started);
    while converged.len() < ids.len() {
        let Ok(Some((at, line))) = tokio::time::timeout(give_up.saturating_sub(started.elapsed()), lines.recv()).await else {
            running.terminate();
            let exited = child::wait(running).await?;
            bail!("only {} of {} clusters converged:\n{}", converged.len(), ids.len(), child::tail(&exited.stderr, 20));
        };
        let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
        let (Some(outcome), Some(cluster)) = (v["outcome"].as_str(), v["cluster"].as_str()) else { continue };
        *outcomes.entry(outcome.to_string()).or_insert(0) += 1;
        match outcome {
            "converged" => {
                converged.insert(cluster.to_ascii_lowercase());
                last = at;
            }
            "deferred" => *deferred.entry(cluster.to_ascii_lowercase()).or_insert(0) += 1,
            _ => {}
        }
    }
    running.terminate();
    let exited = child::wait(running).await?;
    let journal = sim.journal();
    let parked = sim.queue_depth(POISON_QUEUE).unwrap_or(0) + sim.dead_letters(EVENTS_QUEUE).map_or(0, |d| d.len());
    sim.shutdown().await;
    let mut written: HashMap<String, usize> = HashMap::new();
    let mut per_sub: BTreeMap<String, u64> = BTreeMap::new();
    for e in journal.iter().filter(|e| e.is_write() && (200..300).contains(&e.status)) {
        *written.entry(e.path.to_ascii_lowercase()).or_insert(0) += 1;
        *per_sub.entry(subscription_of(&e.path).unwrap_or("").to_ascii_lowercase()).or_insert(0) += 1;
    }
    let busiest = per_sub.values().copied().max().unwrap_or(0);
    let floor = Duration::from_secs_f64(((busiest as f64) - WRITES.burst).max(0.0) / WRITES.rate);
    let reads: Vec<usize> = ids.iter().map(|id| deferred.get(&id.as_str().to_ascii_lowercase()).copied().unwrap_or(0)).collect();
    Ok(BurstFigures {
        clusters: ids.len(),
        subscriptions,
        concurrency,
        wait,
        lro,
        wall: last - started,
        converged: converged.len(),
        lost: ids.len() - converged.len() + parked,
        duplicated_writes: written.values().map(|n| n - 1).sum(),
        waiting_reads: (reads.iter().sum::<usize>() as f64 / reads.len().max(1) as f64, reads.iter().copied().max().unwrap_or(0)),
        outcomes,
        write_floor: (floor, busiest),
        traffic: tally(&journal),
        exited,
    })
}

/// Prints case 4 (meant to be pasted into docs/PERFORMANCE.md).
pub fn print(f: &BurstFigures) {
    let wall = f.wall.as_secs_f64();
    let bound = f.bound().as_secs_f64();
    let t = &f.traffic;
    println!(
        "== 4. event burst (deferral): {} cluster-created events, clusters Creating {} s then a cluster PUT of {} s, {} subscriptions; realistic latency, ARM buckets; one worker, queue.max_concurrency {}, defer.interval = max_interval = {} s",
        f.clusters,
        f.wait.as_secs(),
        f.lro.as_secs(),
        f.subscriptions,
        f.concurrency,
        RECHECK.as_secs()
    );
    println!(
        "bound = Creating {} s + cluster PUT {} s + write floor {:.1} s ({} writes in the busiest subscription at {}/s after a burst of {}) = {bound:.1} s",
        f.wait.as_secs(),
        f.lro.as_secs(),
        f.write_floor.0.as_secs_f64(),
        f.write_floor.1,
        WRITES.rate,
        WRITES.burst
    );
    println!("all converged: {}/{} in {wall:.1} s = {:.3} × bound (target ≤ 1.10)", f.converged, f.clusters, wall / bound.max(1e-9));
    println!(
        "ARM reads per cluster while waiting (deferred re-checks, one read each): mean {:.1}, max {} (target ≤ 20); all ARM reads per cluster {:.1}",
        f.waiting_reads.0,
        f.waiting_reads.1,
        t.reads as f64 / f.clusters.max(1) as f64
    );
    println!("lost {} (target 0), duplicated writes {} (target 0), 429 answers {}", f.lost, f.duplicated_writes, t.throttled);
    println!("reports by outcome: {:?}", f.outcomes);
    println!("ARM requests {} (reads {}, writes {}): {:?}", t.requests, t.reads, t.writes, t.by_kind);
    println!(
        "worker: CPU {:.1} s, peak RSS {:.1} MiB, exit {:?}\n",
        f.exited.cpu.as_secs_f64(),
        f.exited.max_rss_kib as f64 / 1024.0,
        f.exited.code
    );
}
