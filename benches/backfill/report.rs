//! Printing the figures (plain text, meant to be pasted into docs/PERFORMANCE.md).

use std::time::Duration;

use crate::Options;
use crate::backfill_case::BackfillFigures;
use crate::bound::{READS, WRITES};
use crate::noop::NoopFigures;
use crate::overhead::Overhead;

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The 1, 5 and 15 minute load averages (other work on the machine competes for its cores).
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// Machine and options.
pub fn header(o: &Options) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "fleetgate benchmark — {profile} build, {cores} cores available; simulator in the benchmark process, fleetgate measured in its own"
    );
    println!("options: {o:?}; load average {}\n", load());
}

/// Case 1.
pub fn backfill(f: &BackfillFigures) {
    let (bound, binding) = &f.bound;
    let wall = f.exited.wall.as_secs_f64();
    let t = &f.traffic;
    println!(
        "== 1. backfill: {} clusters in {} subscriptions (+1 registry hub), {} need changes; realistic latency, ARM buckets, LRO {} s, backfill.concurrency {}",
        f.clusters,
        f.subscriptions,
        f.minimum.clusters,
        f.lro.as_secs(),
        f.concurrency.map_or_else(|| "default".to_string(), |n| n.to_string())
    );
    println!("  exit code                 {:?}  summary {}", f.exited.code, f.summary);
    println!("  wall time (process)       {wall:.1} s   (the run's own duration_s {})", f.summary["duration_s"]);
    println!("  lower bound               {:.1} s   (binding subscription {})", bound.as_secs_f64(), binding.as_deref().unwrap_or("-"));
    println!("  ratio                     {:.3}   (target ≤ 1.10)", wall / bound.as_secs_f64().max(1e-9));
    println!(
        "  per subscription (minimum writes W, reads R; floor = max((W−{})⁺/{}, (R−{})⁺/{})):",
        WRITES.burst, WRITES.rate, READS.burst, READS.rate
    );
    for (sub, d) in &f.minimum.per_subscription {
        let floor = ((d.writes as f64 - WRITES.burst).max(0.0) / WRITES.rate).max((d.reads as f64 - READS.burst).max(0.0) / READS.rate);
        println!(
            "    {sub}  W {:>5}  R {:>5} (cluster PUTs {:>4}; their polls included)  floor {floor:>6.1} s",
            d.writes, d.reads, d.cluster_puts
        );
    }
    println!("  Resource Graph queries    {} (bound adds (⌈Q/15⌉−1)×5 s)", t.graph_queries);
    println!("  one LRO                   {} s (bound adds it once)", f.lro.as_secs());
    println!("  ARM requests              {} (reads {}, writes {}, Resource Graph {})", t.requests, t.reads, t.writes, t.graph_queries);
    for (kind, n) in &t.by_kind {
        println!("    {kind:<40} {n:>7}");
    }
    println!("  429s                      {}   (target: none after the first)", t.throttled);
    println!(
        "  write amplification       {:.3} = {} writes sent excluding retries / {} planned   (target 1.00)",
        t.writes_once as f64 / (f.minimum.writes as f64).max(1.0),
        t.writes_once,
        f.minimum.writes
    );
    println!("  peak RSS                  {:.1} MiB   (target ≤ 64 MiB)", mib(f.exited.max_rss_kib));
    println!("  CPU time                  {:.2} s", f.exited.cpu.as_secs_f64());
    println!("  afterwards                {} clusters still need changes (bulk re-plan)", f.left_over);
    println!("  load average after        {}\n", load());
}

/// Case 2.
pub fn noop(f: &NoopFigures) {
    println!(
        "== 2. no-op events through `fleetgate run --source servicebus` ({} compliant clusters, zero latency, no throttling, queue.max_concurrency {}, gating.unchanged_cluster_ttl {} s)",
        f.clusters,
        f.concurrency,
        f.memo_ttl.as_secs()
    );
    println!("  events                    {} ({} compliant)", f.events, f.compliant);
    println!(
        "  memo hits                 {} (one cluster GET each; the other {} observed fully)",
        f.memo_hits,
        f.events.saturating_sub(f.memo_hits)
    );
    println!("  first → last handled      {:.2} s", f.span.as_secs_f64());
    println!("  rate                      {:.0} events/s   (machine-dependent; the ratio below is the target)", f.rate());
    println!(
        "  worker CPU                {:.2} s = {:.0} µs per event (worker alone could do {:.0} events/s per core)",
        f.exited.cpu.as_secs_f64(),
        f.exited.cpu.as_secs_f64() * 1e6 / f.events as f64,
        f.events as f64 / f.exited.cpu.as_secs_f64().max(1e-9)
    );
    println!("  ARM requests              {} ({:.1} per event)", f.arm_requests, f.arm_requests as f64 / f.events.max(1) as f64);
    println!("  worker peak RSS           {:.1} MiB", mib(f.exited.max_rss_kib));
    println!(
        "  baseline                  {} requests (receive + the worker's {} ARM requests + complete) in {:.2} s, CPU {:.2} s",
        f.baseline.requests,
        f.arm_requests,
        f.baseline.wall_us as f64 / 1e6,
        f.baseline.cpu_us as f64 / 1e6
    );
    println!("  worker CPU per event      {:.0} µs", f.worker_cpu_per_event().as_secs_f64() * 1e6);
    println!("  baseline CPU per event    {:.0} µs", f.baseline_cpu_per_event().as_secs_f64() * 1e6);
    println!("  ratio worker ÷ baseline   {:.2}   (target ≤ 1.5 on the median of the rounds)", f.ratio());
    println!("  load average after        {}\n", load());
}

/// Case 2's verdict: the median ratio over its rounds.
pub fn noop_rounds(ratios: &[f64]) {
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!("== 2. no-op ratio over {} rounds: {} → median {:.2}   (target ≤ 1.5)\n", ratios.len(), shown.join(" / "), median(ratios));
}

/// The median (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Case 3.
pub fn overhead(all: &[Overhead]) {
    println!("== 3. worker overhead, receive → first ARM call (in-process worker, zero latency)");
    for o in all {
        println!(
            "  {:<40} n {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms   (target p99 ≤ 50 ms)",
            o.load,
            o.samples,
            ms(o.p50),
            ms(o.p99),
            ms(o.max)
        );
    }
    println!();
}
