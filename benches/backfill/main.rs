//! `cargo bench --bench backfill [-- OPTIONS]`: fleetgate against the simulator, printing measured
//! figures (recorded in docs/PERFORMANCE.md). Not a test: `cargo test` runs nothing here.
//!
//! 1. **backfill**: `fleetgate backfill --output json` (child process) over a generated fleet — 5,000
//!    clusters in 5 subscriptions, 30 % needing changes — with realistic latency, ARM's token buckets
//!    and 3 s cluster updates; wall time vs the lower bound (`bound`), requests by kind, 429s, write
//!    amplification, peak RSS.
//!
//!    **lro** (`--only lro`): the same backfill with minutes-long operations — cluster PUTs
//!    `Updating` for `--lro` seconds (120 unless given), no `Retry-After` (as AKS), the default
//!    `backfill.concurrency` (unless `--concurrency` is given); the bound adds one LRO and counts the
//!    status polls the run made.
//! 2. **noop**: events per second through `fleetgate run --source servicebus` (child process) when
//!    every cluster is compliant, simulator at zero latency without throttling; and its CPU per event
//!    against a minimal client sending the same requests (`baseline`, this binary run as a child with
//!    the hidden `--baseline-child PLAN`). A single run moves by ±15 % on a shared 2-core machine, so
//!    the case runs `--noop-rounds` rounds (3), each a fresh simulator, worker and baseline, and the
//!    target is read on the median ratio.
//! 3. **overhead**: receive → first ARM call, p50/p99, in-process worker with probes.
//! 4. **burst**: an event burst with minutes-long AKS operations (`burst`): 200 cluster-created events
//!    for clusters `Creating` for 120 s that then need a 120 s cluster PUT, one `fleetgate run --source
//!    servicebus` (child process) deferring instead of waiting; wall vs Creating + PUT + write floor,
//!    reads per cluster while waiting, lost, duplicated writes.
//!
//! The simulator always runs **in this process**; the measured `fleetgate` runs in its own (cases 1
//! and 2), so its RSS and CPU time are its own — but both processes share the machine's cores.
//!
//! Options: `--only backfill|lro|noop|overhead|burst`, `--clusters N` (5000), `--subscriptions N` (5),
//! `--concurrency N` (backfill.concurrency, 64), `--lro SECONDS` (3), `--noop-clusters N` (500),
//! `--events N` (10000), `--noop-rounds N` (3), `--worker-concurrency N` (queue.max_concurrency, 8), `--memo-ttl SECONDS`
//! (gating.unchanged_cluster_ttl of the no-op worker, 60; 0 turns the memo off), `--overhead-messages N` (2000,
//! one per cluster), `--overhead-rate N` (200 per second), `--burst-clusters N` (200), `--burst-subscriptions N`
//! (1: one pipeline creates its clusters in one subscription), `--burst-wait SECONDS`
//! (Creating, 120), `--burst-lro SECONDS` (the cluster PUT, 120).
//! `TOKIO_WORKER_THREADS`, when set, is passed
//! on to the child `fleetgate` (runtime experiments).

mod backfill_case;
mod baseline;
mod bound;
mod burst;
mod child;
mod noop;
mod overhead;
mod report;
mod setup;
mod traffic;

use std::process::ExitCode;
use std::time::Duration;

/// The benchmark's knobs.
#[derive(Debug, Clone)]
pub struct Options {
    only: Option<String>,
    clusters: usize,
    subscriptions: usize,
    concurrency: Option<usize>,
    lro: Option<Duration>,
    noop_clusters: usize,
    events: usize,
    noop_rounds: usize,
    worker_concurrency: usize,
    memo_ttl: Duration,
    overhead_messages: usize,
    overhead_rate: u32,
    burst_clusters: usize,
    burst_subscriptions: usize,
    burst_wait: Duration,
    burst_lro: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Self {
            only: None,
            clusters: 5000,
            subscriptions: 5,
            concurrency: None,
            lro: None,
            noop_clusters: 500,
            events: 10_000,
            noop_rounds: 3,
            worker_concurrency: 8,
            memo_ttl: Duration::from_secs(60),
            overhead_messages: 2000,
            overhead_rate: 200,
            burst_clusters: 200,
            burst_subscriptions: 1,
            burst_wait: Duration::from_secs(120),
            burst_lro: Duration::from_secs(120),
        };
        let mut it = args.iter().filter(|a| *a != "--bench");
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            let num = |v: &String| v.parse::<usize>().map_err(|_| format!("{flag}: {v:?} is not a number"));
            match flag.as_str() {
                "--only" => o.only = Some(value()?.clone()),
                "--clusters" => o.clusters = num(value()?)?,
                "--subscriptions" => o.subscriptions = num(value()?)?,
                "--concurrency" => o.concurrency = Some(num(value()?)?),
                "--lro" => o.lro = Some(Duration::from_secs(num(value()?)? as u64)),
                "--noop-clusters" => o.noop_clusters = num(value()?)?,
                "--events" => o.events = num(value()?)?,
                "--noop-rounds" => o.noop_rounds = num(value()?)?.max(1),
                "--worker-concurrency" => o.worker_concurrency = num(value()?)?,
                "--memo-ttl" => o.memo_ttl = Duration::from_secs(num(value()?)? as u64),
                "--overhead-messages" => o.overhead_messages = num(value()?)?,
                "--overhead-rate" => o.overhead_rate = u32::try_from(num(value()?)?).map_err(|e| e.to_string())?,
                "--burst-clusters" => o.burst_clusters = num(value()?)?,
                "--burst-subscriptions" => o.burst_subscriptions = num(value()?)?,
                "--burst-wait" => o.burst_wait = Duration::from_secs(num(value()?)? as u64),
                "--burst-lro" => o.burst_lro = Duration::from_secs(num(value()?)? as u64),
                other => return Err(format!("unknown option {other:?} (see benches/backfill/main.rs)")),
            }
        }
        match o.only.as_deref() {
            None | Some("backfill" | "lro" | "noop" | "overhead" | "burst") => Ok(o),
            Some(other) => Err(format!("--only {other:?}: use backfill, lro, noop, overhead or burst")),
        }
    }

    fn runs(&self, case: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == case)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("backfill benchmark: not run under `cargo test`; run `cargo bench --bench backfill`");
        return ExitCode::SUCCESS;
    }
    if let Some(i) = args.iter().position(|a| a == "--baseline-child") {
        return match args.get(i + 1).map(|plan| baseline::child_main(plan)) {
            Some(Ok(())) => ExitCode::SUCCESS,
            Some(Err(e)) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
            None => ExitCode::from(2),
        };
    }
    let options = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(o: &Options) -> anyhow::Result<()> {
    report::header(o);
    if o.runs("backfill") {
        let lro = o.lro.unwrap_or(Duration::from_secs(3));
        let figures = backfill_case::run(o.clusters, o.subscriptions, Some(o.concurrency.unwrap_or(64)), lro, Some(1)).await?;
        report::backfill(&figures);
    }
    if o.runs("lro") {
        let lro = o.lro.unwrap_or(Duration::from_secs(120));
        let figures = backfill_case::run(o.clusters, o.subscriptions, o.concurrency, lro, None).await?;
        report::backfill(&figures);
    }
    if o.runs("noop") {
        let mut ratios = Vec::with_capacity(o.noop_rounds);
        for _ in 0..o.noop_rounds {
            let figures = noop::run(o.noop_clusters, o.subscriptions, o.events, o.worker_concurrency, o.memo_ttl).await?;
            report::noop(&figures);
            ratios.push(figures.ratio());
        }
        report::noop_rounds(&ratios);
    }
    if o.runs("overhead") {
        let figures = overhead::run(o.overhead_messages, o.subscriptions, o.overhead_rate).await?;
        report::overhead(&figures);
    }
    if o.runs("burst") {
        let figures = burst::run(o.burst_clusters, o.burst_subscriptions, o.worker_concurrency, o.burst_wait, o.burst_lro).await?;
        burst::print(&figures);
    }
    Ok(())
}
