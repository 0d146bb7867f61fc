//! Item 6: server-provided waits. A hostile ARM adds Resource Graph quota headers saying "no queries
//! left, reset in 4,000,000,000,000,000 hours" to every answer. `plan` used to panic ("overflow when adding
//! duration to instant", exit 101) and `run` lost the message whose task panicked; now the wait is
//! clamped (`MAX_GRAPH_QUOTA_WAIT`), nothing panics, and every message gets an outcome. (That
//! `99:00:00` gates queries for at most the ceiling, not 99 hours, is shown on paused time in
//! `arm::client`'s unit tests; a panic at the message-task boundary parks the message — `worker::tests`.)

use std::sync::Arc;

use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use serde_json::Value;

use crate::common::child::FleetgateCommand;
use crate::common::fleet::{attached, sub1_with_acrone};
use crate::common::{SUB1, cluster_id, start_sim};
use crate::proxy::{Answer, Exchange, Proxy};

/// 4e15 hours: 1.44e19 seconds fit a u64 but not an `Instant` (the panic the issue saw).
const ABSURD_RESET: &str = "4000000000000000:00:00";

fn absurd_quota(x: &Exchange) -> Answer {
    let mut headers = x.headers.clone();
    headers.insert("x-ms-user-quota-remaining", "0".parse().unwrap());
    headers.insert("x-ms-user-quota-resets-after", ABSURD_RESET.parse().unwrap());
    Answer::Replace { status: x.status, headers, body: x.body.clone() }
}

async fn setup() -> (fleetgate::sim::SimHandle, Proxy) {
    let fleet = sub1_with_acrone()
        .sim(&[])
        .cluster(SUB1, "rg-aks", "aks-one", &[&attached(["acrone"])])
        .cluster(SUB1, "rg-aks", "aks-two", &[&attached(["acrone"]), "compliant = true"])
        .build();
    let sim = start_sim(&fleet).await;
    let proxy = Proxy::start(&sim.base_url(), Arc::new(absurd_quota)).await;
    (sim, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item6_absurd_quota_headers_do_not_panic_plan() {
    let (sim, proxy) = setup().await;
    let out = FleetgateCommand::new(&sim, &[SUB1])
        .env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", &proxy.base)
        .args(["plan", "--cluster", &cluster_id(SUB1, "rg-aks", "aks-one")])
        .output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item6_absurd_quota_headers_leave_no_run_message_without_an_outcome() {
    let (sim, proxy) = setup().await;
    let id = |name: &str| ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap();
    let lines = [cluster_write_event(&id("aks-one"), Schema::EventGrid), cluster_write_event(&id("aks-two"), Schema::CloudEvents)]
        .map(|e| e.to_string());
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let out = FleetgateCommand::new(&sim, &[SUB1])
        .env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", &proxy.base)
        .args(["run", "--source", &format!("file:{}", file.path().display()), "--output", "json"])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let outcomes: Vec<(u64, String)> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| Some((v.get("message")?.as_u64()?, v.get("outcome")?.as_str()?.to_string())))
        .collect();
    assert_eq!(outcomes, [(1, "converged".to_string()), (2, "compliant".to_string())], "{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
