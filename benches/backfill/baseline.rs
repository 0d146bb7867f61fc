//! The no-op case's baseline: a minimal client doing exactly the HTTP work the measured worker did per
//! event — one Service Bus peek-lock receive (BrokerProperties and body parsed as JSON), the ARM
//! requests the simulator's journal recorded for the worker's run (same paths and query strings, the
//! same kind of bearer token, every body parsed into a `serde_json::Value`), one complete (DELETE of
//! the lock URL) — with the worker's concurrency, and nothing else: no planner, no logs, no metrics.
//!
//! It runs as a child process (this benchmark binary with `--baseline-child PLAN`), so its CPU time is
//! its own and not the in-process simulator's: the child reads `getrusage(RUSAGE_SELF)` around the work
//! (runtime start-up excluded) and prints one JSON line.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the baseline child is told to do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    /// ARM bearer token (issued by the simulator for the ARM audience).
    pub arm_token: String,
    /// `Authorization` for Service Bus (a SAS signed once over the queue).
    pub sb_authorization: String,
    /// `{sb}/{queue}/messages/head?timeout=1`.
    pub receive_url: String,
    /// Events to handle (one receive and one complete each).
    pub events: usize,
    /// The ARM URLs (absolute, with their query) the worker sent, in order; spread over the events.
    pub arm_urls: Vec<String>,
    /// Events in flight at once (the worker's `queue.max_concurrency`).
    pub concurrency: usize,
}

/// What the child measured.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Measured {
    /// User + system CPU time of the work.
    pub cpu_us: u64,
    /// Wall time of the work.
    pub wall_us: u64,
    /// HTTP requests sent.
    pub requests: u64,
}

/// Runs the child for `plan` (written to `dir`) and returns its figures.
pub async fn measure(plan: &Plan, dir: &Path) -> anyhow::Result<Measured> {
    let file = dir.join("fleetgate-noop-baseline.json");
    std::fs::write(&file, serde_json::to_vec(plan)?)?;
    let exe = std::env::current_exe()?;
    let out = tokio::task::spawn_blocking(move || {
        Command::new(exe).arg("--bench").arg("--baseline-child").arg(&file).stdin(Stdio::null()).output()
    })
    .await??;
    if !out.status.success() {
        bail!("the baseline child failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).with_context(|| format!("baseline child output: {line}"))
}

/// The child's entry point: `--baseline-child PLAN`.
pub fn child_main(plan_file: &str) -> anyhow::Result<()> {
    let plan: Plan = serde_json::from_slice(&std::fs::read(plan_file)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (cpu0, wall0) = (cpu_now(), Instant::now());
    let requests = runtime.block_on(work(&http, &plan))?;
    let measured = Measured { cpu_us: (cpu_now() - cpu0).as_micros() as u64, wall_us: wall0.elapsed().as_micros() as u64, requests };
    println!("{}", serde_json::to_string(&measured)?);
    Ok(())
}

async fn work(http: &reqwest::Client, plan: &Plan) -> anyhow::Result<u64> {
    let per_event = |i: usize| {
        let (n, events) = (plan.arm_urls.len(), plan.events.max(1));
        &plan.arm_urls[i * n / events..(i + 1) * n / events]
    };
    let results: Vec<anyhow::Result<u64>> = futures::stream::iter(0..plan.events)
        .map(|i| event(http, plan, per_event(i)))
        .buffer_unordered(plan.concurrency.max(1))
        .collect()
        .await;
    results.into_iter().sum()
}

/// One event: receive, the ARM reads, complete. Returns the requests sent.
async fn event(http: &reqwest::Client, plan: &Plan, arm_urls: &[String]) -> anyhow::Result<u64> {
    let received =
        http.post(&plan.receive_url).header("authorization", &plan.sb_authorization).header("content-length", "0").send().await?;
    if received.status().as_u16() != 201 {
        bail!("receive answered {}", received.status());
    }
    let broker: Value = serde_json::from_str(received.headers().get("brokerproperties").context("BrokerProperties")?.to_str()?)?;
    let location = received.headers().get("location").context("Location")?.to_str()?.to_string();
    let body: Value = serde_json::from_slice(&received.bytes().await?)?;
    std::hint::black_box((&broker, &body));
    for url in arm_urls {
        let answer = http.get(url).bearer_auth(&plan.arm_token).send().await?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await?;
        if !bytes.is_empty() {
            std::hint::black_box(serde_json::from_slice::<Value>(&bytes)?);
        }
        if status >= 400 && status != 404 {
            bail!("{url} answered {status}");
        }
    }
    let done = http.delete(&location).header("authorization", &plan.sb_authorization).send().await?;
    if !done.status().is_success() {
        bail!("complete answered {}", done.status());
    }
    Ok(2 + arm_urls.len() as u64)
}

/// User + system CPU time of this process so far.
fn cpu_now() -> Duration {
    // SAFETY: an all-zero rusage is a valid value; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage(2) on this process with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0)) + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
