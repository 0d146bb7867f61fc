//! Item 5: a hostile ARM answering a cluster GET with a 300 MB body. fleetgate stops reading at
//! `azure.max_response_bytes` (32 MiB by default) and fails with an error naming the URL and the limit,
//! instead of buffering the body (which took 611 MiB of RSS, over the Deployment's 256 Mi limit).
//!
//! `item5_peak_rss_under_a_hostile_body` (ignored) measures the child's peak RSS with
//! `/usr/bin/time -v`: `cargo test --test blast item5_peak_rss -- --ignored --nocapture`.

use std::sync::Arc;

use crate::common::fleet::{attached, sub1_with_acrone};
use crate::common::{SUB1, cluster_id, start_sim};
use crate::proxy::{Answer, Exchange, Proxy, json_headers};

/// 300 MB, as in the issue.
const HOSTILE_BYTES: u64 = 300 * 1000 * 1000;

fn cluster() -> String {
    cluster_id(SUB1, "rg-aks", "aks-one")
}

/// Every GET of the cluster answers 200 with `{"padding": "` and 300 MB of spaces.
fn huge_cluster(x: &Exchange) -> Answer {
    if x.method == "GET" && x.path.eq_ignore_ascii_case(&cluster()) {
        return Answer::Stream { status: 200, headers: json_headers(&[]), prefix: br#"{"padding": ""#.to_vec(), filler: HOSTILE_BYTES };
    }
    Answer::pass(x)
}

async fn hostile_arm() -> (fleetgate::sim::SimHandle, Proxy) {
    let fleet = sub1_with_acrone().sim(&[]).cluster(SUB1, "rg-aks", "aks-one", &[&attached(["acrone"])]).build();
    let sim = start_sim(&fleet).await;
    let proxy = Proxy::start(&sim.base_url(), Arc::new(huge_cluster)).await;
    (sim, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item5_a_300_mb_cluster_get_is_refused_while_streaming() {
    let (sim, proxy) = hostile_arm().await;
    let out = crate::common::child::FleetgateCommand::new(&sim, &[SUB1])
        .env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", &proxy.base)
        .args(["plan", "--cluster", &cluster()])
        .output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&cluster()) && stderr.contains("larger than 33554432 bytes (azure.max_response_bytes)"), "{stderr}");
    assert_eq!(sim.journal().iter().filter(|e| e.path.eq_ignore_ascii_case(&cluster())).count(), 1, "fatal: not retried");
    let streamed = proxy.streamed();
    assert!(streamed < 64 * 1024 * 1024, "fleetgate kept reading: {streamed} of {HOSTILE_BYTES} bytes were sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: prints the peak RSS of `fleetgate plan` under a 300 MB body"]
async fn item5_peak_rss_under_a_hostile_body() {
    let (sim, proxy) = hostile_arm().await;
    let cmd = crate::common::child::FleetgateCommand::new(&sim, &[SUB1])
        .env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", &proxy.base)
        .args(["plan", "--cluster", &cluster()]);
    let plain = cmd.std();
    let mut timed = tokio::process::Command::new("/usr/bin/time");
    timed.arg("-v").arg(plain.get_program()).args(plain.get_args()).env_clear();
    timed.envs(plain.get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))));
    let out = timed.output().await.expect("/usr/bin/time -v fleetgate plan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss = stderr.lines().find(|l| l.contains("Maximum resident set size")).unwrap_or("Maximum resident set size: not reported");
    println!("fleetgate plan under a {HOSTILE_BYTES}-byte cluster GET: exit {:?}; {}", out.status.code(), rss.trim());
    println!("bytes the hostile server managed to hand over: {}", proxy.streamed());
}
