//! `fleetgate_clusters{status, subscription}` and `fleetgate_last_resync_timestamp_seconds`:
//! - the worker's resync fire counts the fleet by status from one bulk observation (no per-cluster
//!   read, no write) and refreshes both gauges — checked through a real SDK pipeline installed as the
//!   global meter provider (this test binary's own process globals);
//! - `fleetgate backfill` refreshes the gauge from its final report — checked in the binary's real
//!   OTLP export, decoded with the OTLP protobuf definitions.

mod backfill_support;
mod common;
mod telemetry_collector;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backfill_support::*;
use common::queue::sas_queue;
use common::*;
use fleetgate::fleet::Selection;
use fleetgate::telemetry::metrics;
use fleetgate::worker::Resync;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Number;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use prost::Message;
use telemetry_collector::Collector;
use time::OffsetDateTime;

/// Gauge values by (metric, sorted `k=v` labels).
type Points = BTreeMap<(String, Vec<String>), f64>;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Points>>);

impl PushMetricExporter for Capture {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut out = self.0.lock().unwrap();
        for m in metrics.scope_metrics().flat_map(|s| s.metrics()) {
            let mut put = |attrs: Vec<String>, v: f64| {
                out.insert((m.name().to_string(), attrs), v);
            };
            let labels = |it: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                let mut v: Vec<String> = it.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                v.sort();
                v
            };
            match m.data() {
                AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                    g.data_points().for_each(|p| put(labels(&mut p.attributes()), p.value() as f64))
                }
                AggregatedMetrics::F64(MetricData::Gauge(g)) => g.data_points().for_each(|p| put(labels(&mut p.attributes()), p.value())),
                _ => {}
            }
        }
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

fn clusters(points: &Points, sub: &str) -> [f64; 5] {
    ["compliant", "changes_needed", "blocked", "excluded", "failed"].map(|status| {
        let key = ("fleetgate_clusters".to_string(), vec![format!("status={status}"), format!("subscription={sub}")]);
        points.get(&key).copied().unwrap_or(-1.0)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_counts_the_fleet_by_status_and_stamps_its_time() {
    let capture = Capture::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(capture.clone()).build()).build();
    opentelemetry::global::set_meter_provider(provider.clone());
    metrics().rebind_global();

    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let selection = Selection::new(&env.settings.scope.subscriptions, &[], &[]).unwrap();
    let resync = Resync::new(env.engine.arm().clone(), selection.clone(), sas_queue(&env), Duration::from_secs(3600), 50)
        .with_fleet_status(Arc::new(env.settings.clone()), env.engine.policy().clone());
    let before = OffsetDateTime::now_utc().unix_timestamp() as f64;
    let window = fleetgate::fleet::window_start(OffsetDateTime::now_utc(), Duration::from_secs(3600));
    let fired = resync.fire(window).await.expect("the resync fires");
    assert_eq!(fired.sent, 7);
    provider.force_flush().unwrap();
    let points = capture.0.lock().unwrap().clone();
    assert_eq!(clusters(&points, SUB1), [1.0, 2.0, 2.0, 0.0, 0.0], "{points:?}");
    assert_eq!(clusters(&points, SUB2), [0.0, 1.0, 0.0, 1.0, 0.0], "{points:?}");
    let stamped = points[&("fleetgate_last_resync_timestamp_seconds".to_string(), vec![])];
    assert!(stamped >= before && stamped <= before + 60.0, "{stamped} vs {before}");
    let journal = env.sim.journal();
    assert!(journal.iter().all(|e| !e.is_write()), "counting writes nothing");
    assert!(per_cluster_reads(&journal).is_empty(), "counting reads in bulk only");
    assert!(!touched(&journal, SUB3), "nothing outside scope");

    // The fleet converges; the next fire counts it again.
    run(&backfill(&env), &selection, &direct(), None).await;
    resync.fire(window).await.expect("the resync fires again");
    provider.force_flush().unwrap();
    let points = capture.0.lock().unwrap().clone();
    assert_eq!(clusters(&points, SUB1), [3.0, 0.0, 2.0, 0.0, 0.0], "{points:?}");
    assert_eq!(clusters(&points, SUB2), [1.0, 0.0, 0.0, 1.0, 0.0], "{points:?}");
    provider.shutdown().unwrap();
}

/// The last value of every `fleetgate_clusters` data point in the collector's exports.
fn exported_clusters(collector: &Collector) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for export in collector.received("/v1/metrics") {
        let request = ExportMetricsServiceRequest::decode(export.body.as_slice()).expect("an OTLP metrics request");
        let metrics = request.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics);
        for m in metrics.filter(|m| m.name == "fleetgate_clusters") {
            let Some(Data::Gauge(g)) = &m.data else { panic!("fleetgate_clusters is a gauge: {m:?}") };
            for p in &g.data_points {
                let attr = |k: &str| {
                    p.attributes.iter().find(|a| a.key == k).and_then(|a| a.value.as_ref()).and_then(|v| match &v.value {
                        Some(AnyValue::StringValue(s)) => Some(s.clone()),
                        _ => None,
                    })
                };
                let value = match p.value {
                    Some(Number::AsInt(i)) => i,
                    Some(Number::AsDouble(d)) => d as i64,
                    None => panic!("a value"),
                };
                out.insert((attr("subscription").expect("subscription"), attr("status").expect("status")), value);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_exports_the_fleet_gauge_from_its_final_report() {
    let sim = mixed_sim().await;
    let collector = Collector::start().await;
    let out = fleetgate_cli(&sim, &["backfill", "--yes", "-o", "json"], &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())]);
    assert_eq!(out.status.code(), Some(3), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let summary = stdout_json(&out);
    let got = exported_clusters(&collector);
    let n = |sub: &str, status: &str| got.get(&(sub.to_string(), status.to_string())).copied();
    assert_eq!(n(SUB1, "compliant"), Some(3), "aks-compliant plus the two converged: {got:?}");
    assert_eq!(n(SUB1, "blocked"), Some(2));
    assert_eq!(n(SUB1, "failed"), Some(0), "zeros are exported too");
    assert_eq!(n(SUB2, "compliant"), Some(1));
    assert_eq!(n(SUB2, "excluded"), Some(1));
    let total: i64 = got.values().sum();
    assert_eq!(total as u64, summary["clusters"].as_u64().unwrap(), "{got:?}");
}
