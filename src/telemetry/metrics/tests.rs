//! The facade records what it says, under the documented names and labels, through a real SDK pipeline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use super::{CATALOG, ClusterCounts, GaugeStatus, METER_NAME, Metrics, ReceiveResult};

/// One exported data point: metric name, sorted `key=value` labels, value (sum, or histogram count).
#[derive(Debug, Clone, PartialEq)]
struct Point {
    name: String,
    labels: Vec<String>,
    value: f64,
}

#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Vec<Point>>>);

fn labels<'a>(attrs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> Vec<String> {
    let mut v: Vec<String> = attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    v.sort();
    v
}

impl PushMetricExporter for Capture {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut out = self.0.lock().unwrap();
        out.clear();
        for m in metrics.scope_metrics().flat_map(|s| s.metrics()) {
            let name = m.name().to_string();
            let mut push = |labels: Vec<String>, value: f64| out.push(Point { name: name.clone(), labels, value });
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => s.data_points().for_each(|p| push(labels(p.attributes()), p.value() as f64)),
                AggregatedMetrics::F64(MetricData::Sum(s)) => s.data_points().for_each(|p| push(labels(p.attributes()), p.value())),
                AggregatedMetrics::I64(MetricData::Sum(s)) => s.data_points().for_each(|p| push(labels(p.attributes()), p.value() as f64)),
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    h.data_points().for_each(|p| push(labels(p.attributes()), p.count() as f64))
                }
                AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                    g.data_points().for_each(|p| push(labels(p.attributes()), p.value() as f64))
                }
                AggregatedMetrics::F64(MetricData::Gauge(g)) => g.data_points().for_each(|p| push(labels(p.attributes()), p.value())),
                other => panic!("unexpected data for {name}: {other:?}"),
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

fn pipeline() -> (SdkMeterProvider, Capture, Metrics) {
    let capture = Capture::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(capture.clone()).build()).build();
    let metrics = Metrics::with_meter(&provider.meter(METER_NAME));
    (provider, capture, metrics)
}

fn value(points: &[Point], name: &str, labels: &[&str]) -> Option<f64> {
    points.iter().find(|p| p.name == name && p.labels == labels).map(|p| p.value)
}

#[test]
fn every_method_records_under_its_name_and_labels() {
    let (provider, capture, m) = pipeline();
    m.message("converged");
    m.message("converged");
    m.message("ignored");
    m.reconcile_duration(1.5, "converged");
    m.arm_request(200);
    m.arm_request(429);
    m.arm_request(0);
    m.retry();
    m.arm_paced("reads", Duration::from_millis(1500));
    m.write("create_identity");
    m.in_flight(1);
    m.in_flight(1);
    m.in_flight(-1);
    m.lock_renewal(true);
    m.lock_renewal(false);
    m.queue_receive(ReceiveResult::Empty);
    m.memo_lookup("hit");
    m.message_panic();
    m.cluster_put_unconditional();
    m.deferral("scheduled");
    let mut counts = ClusterCounts::default();
    counts.add("SUB-A", GaugeStatus::Compliant);
    counts.add("sub-a", GaugeStatus::Blocked);
    m.fleet_clusters(&counts);
    m.resync_completed(1_700_000_000.5);
    provider.force_flush().unwrap();
    let points = capture.0.lock().unwrap().clone();
    let mut exported: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
    exported.sort_unstable();
    exported.dedup();
    let mut catalog: Vec<&str> = CATALOG.iter().map(|m| m.name).collect();
    catalog.sort_unstable();
    assert_eq!(exported, catalog, "the SDK exports exactly the catalog's metrics");
    assert_eq!(value(&points, "fleetgate_clusters", &["status=compliant", "subscription=sub-a"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_clusters", &["status=blocked", "subscription=sub-a"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_clusters", &["status=failed", "subscription=sub-a"]), Some(0.0), "zeros are recorded");
    assert_eq!(value(&points, "fleetgate_last_resync_timestamp_seconds", &[]), Some(1_700_000_000.5));
    assert_eq!(value(&points, "fleetgate_deferrals_total", &["result=scheduled"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_messages_total", &["outcome=converged"]), Some(2.0), "{points:?}");
    assert_eq!(value(&points, "fleetgate_messages_total", &["outcome=ignored"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_reconcile_duration_seconds", &["status=converged"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_arm_requests_total", &["status=429"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_arm_requests_total", &["status=0"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_arm_retries_total", &[]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_arm_paced_seconds_total", &["bucket=reads"]), Some(1.5));
    assert_eq!(value(&points, "fleetgate_writes_total", &["kind=create_identity"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_in_flight", &[]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_lock_renewals_total", &["result=ok"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_lock_renewals_total", &["result=error"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_queue_receives_total", &["result=empty"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_unchanged_memo_total", &["result=hit"]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_message_panics_total", &[]), Some(1.0));
    assert_eq!(value(&points, "fleetgate_cluster_put_unconditional_total", &[]), Some(1.0));
    provider.shutdown().unwrap();
}

#[test]
fn the_process_wide_facade_is_a_no_op_without_a_provider() {
    // No provider installed in this test binary: recording must neither panic nor block.
    let m = super::metrics();
    m.message("converged");
    m.in_flight(1);
    m.in_flight(-1);
    m.rebind_global();
    m.reconcile_duration(0.1, "failed");
    assert!(m.bound.read().unwrap().is_some(), "instruments are bound after first use");
}

#[test]
fn a_subscription_left_out_of_a_refresh_reads_zero_instead_of_its_old_count() {
    let (provider, capture, m) = pipeline();
    let mut first = ClusterCounts::default();
    first.add("a", GaugeStatus::Compliant);
    first.add("b", GaugeStatus::ChangesNeeded);
    first.add("b", GaugeStatus::ChangesNeeded);
    m.fleet_clusters(&first);
    let mut second = ClusterCounts::default();
    second.add("a", GaugeStatus::Compliant);
    second.add("a", GaugeStatus::Compliant);
    m.fleet_clusters(&second);
    provider.force_flush().unwrap();
    let points = capture.0.lock().unwrap().clone();
    assert_eq!(value(&points, "fleetgate_clusters", &["status=compliant", "subscription=a"]), Some(2.0));
    assert_eq!(value(&points, "fleetgate_clusters", &["status=changes_needed", "subscription=b"]), Some(0.0), "{points:?}");
    assert_eq!(points.iter().filter(|p| p.name == "fleetgate_clusters").count(), 10, "five statuses for each subscription");
    provider.shutdown().unwrap();
}
