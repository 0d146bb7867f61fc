//! Telemetry through the `fleetgate` binary against the simulator: at trace level neither the client secret
//! nor any bearer token reaches stderr (text and JSON), JSON logs are JSON lines, an invalid `FLEETGATE_LOG`
//! exits 2, with `OTEL_EXPORTER_OTLP_ENDPOINT` set `plan` exports its ARM spans and metrics, and a
//! metrics-only endpoint exports `apply`'s writes by kind.

mod common;
mod telemetry_collector;

use std::process::Output;

use common::child::FleetgateCommand;
use common::fleet::FleetToml;
use common::*;
use fleetgate::sim::SimHandle;
use serde_json::Value;
use telemetry_collector::Collector;

/// Every token the simulator issues starts with this.
const SIM_TOKEN_PREFIX: &str = "fgsim.";

async fn sim() -> SimHandle {
    start_sim(&FleetToml::new().sim(&[]).subscription(SUB1, "full", &[]).cluster(SUB1, "rg-aks", "aks-new", &[]).build()).await
}

fn plan(sim: &SimHandle, env: &[(&str, &str)]) -> Output {
    fleetgate("plan", sim, env)
}

fn fleetgate(command: &str, sim: &SimHandle, env: &[(&str, &str)]) -> Output {
    let cluster = cluster_id(SUB1, "rg-aks", "aks-new");
    let mut args = vec![command, "--cluster", &cluster, "--output", "json"];
    if command == "apply" {
        args.push("--yes");
    }
    FleetgateCommand::new(sim, &[SUB1]).args(args).envs(env.iter().copied()).output()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_no_secrets(sim: &SimHandle, err: &str) {
    assert!(sim.journal().iter().any(|e| e.is_token_call() && e.status == 200), "the child obtained a token");
    assert!(!err.contains(CLIENT_SECRET), "client secret in stderr");
    assert!(!err.contains(SIM_TOKEN_PREFIX), "bearer token in stderr");
    assert!(!err.to_ascii_lowercase().contains("bearer "), "authorization header in stderr");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_level_text_logs_never_contain_the_secret_or_token() {
    let sim = sim().await;
    let out = plan(&sim, &[("FLEETGATE_LOG", "trace")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(err.contains("TRACE"), "trace logging is on: {err}");
    assert_no_secrets(&sim, &err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_level_json_logs_are_json_lines_without_secrets() {
    let sim = sim().await;
    let out = plan(&sim, &[("FLEETGATE_LOG", "trace"), ("FLEETGATE__TELEMETRY__LOG_FORMAT", "json")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    let lines: Vec<Value> =
        err.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stderr line not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|l| l["level"] == "TRACE"), "{err}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["target"].is_string()), "{err}");
    assert_no_secrets(&sim, &err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_log_filter_exits_2_naming_it() {
    let sim = sim().await;
    let out = plan(&sim, &[("FLEETGATE_LOG", "fleetgate=loudest")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("FLEETGATE_LOG") && err.contains("fleetgate=loudest"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_exports_arm_call_spans_and_metrics_when_the_endpoint_is_set() {
    let sim = sim().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let out = plan(&sim, &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_SERVICE_NAME", "fleetgate-cli-test")]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let traces = collector.received("/v1/traces");
    assert!(traces.iter().any(|t| t.contains("arm_call") && t.contains("fleetgate-cli-test")), "{} trace exports", traces.len());
    assert!(traces.iter().all(|t| !t.contains(CLIENT_SECRET) && !t.contains(SIM_TOKEN_PREFIX)), "secrets in exported spans");
    let exported = collector.received("/v1/metrics");
    assert!(exported.iter().any(|m| m.contains("fleetgate_arm_requests_total")), "{} metric exports", exported.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_exports_writes_by_kind() {
    let sim = sim().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let out = fleetgate("apply", &sim, &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", &format!("{endpoint}/v1/metrics"))]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(collector.received("/v1/traces").is_empty(), "only the metrics signal was configured");
    let exported = collector.received("/v1/metrics");
    let last = exported.last().expect("a metrics export");
    for needle in ["fleetgate_writes_total", "create_identity", "create_federated_credential", "update_security_gating"] {
        assert!(last.contains(needle), "metrics export lacks {needle:?}");
    }
}
