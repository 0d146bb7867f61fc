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

/// 16 MiB: possible on Premium (100 MB messages), or from anyone with send rights.
const HUGE_MESSAGE: usize = 16 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item5_a_huge_queue_message_is_cut_at_4_mib_and_parked() {
    use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE, QueueSpec};
    let sim = start_sim(&sub1_with_acrone().sim(&[]).build()).await;
    sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(std::time::Duration::from_secs(5))).unwrap();
    let body = format!("{{\"padding\": \"{}\"}}", "x".repeat(HUGE_MESSAGE));
    sim.send_message(EVENTS_QUEUE, body, &[]).expect("queue exists");
    let mut child = crate::common::child::FleetgateCommand::new(&sim, &[SUB1])
        .queue(&sim, crate::common::child::TEST_NAMESPACE)
        .env("FLEETGATE__RESYNC__ENABLED", "false")
        .args(["run"])
        .tokio()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while sim.peek_all(POISON_QUEUE).unwrap().is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the message was never parked");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let parked = sim.peek_all(POISON_QUEUE).unwrap().remove(0);
    let reason = parked.message.property(fleetgate::source::REASON_PROPERTY).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    assert!(reason.contains("1048576"), "rejected as larger than the 1 MiB event limit: {reason}");
    assert_eq!(
        parked.message.property(fleetgate::source::BODY_TRUNCATED_PROPERTY),
        Some(&serde_json::json!(fleetgate::queue::MAX_RECEIVED_BODY_BYTES)),
        "the receive read 4 MiB, not the whole 16 MiB"
    );
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0));
}
