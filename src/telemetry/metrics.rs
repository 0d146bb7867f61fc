//! The metrics facade every component records through, backed by OpenTelemetry instruments.
//!
//! Instruments come from the global meter provider, created lazily on first use and re-created by
//! [`super::init`] once it installed a provider: with OTLP off they are the global no-op instruments,
//! with OTLP on they feed the periodic exporter. Recording is cheap (an uncontended read lock and an
//! attribute lookup); callers never need to know whether telemetry is exported.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use opentelemetry::KeyValue;
use std::time::Duration;

use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};

mod catalog;
mod fleet;

use catalog::*;
pub use catalog::{CATALOG, MetricInfo, MetricKind, prometheus_names};
pub use fleet::{CLUSTER_STATUSES, ClusterCounts, GaugeStatus};

/// The instrumentation scope name of fleetgate's meter.
pub const METER_NAME: &str = "fleetgate";

/// Histogram bucket bounds for reconcile durations, in seconds (an AKS PUT can take minutes).
const DURATION_BUCKETS: [f64; 14] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// The instruments themselves (all cheap to clone handles).
#[derive(Debug)]
struct Instruments {
    messages: Counter<u64>,
    reconcile_duration: Histogram<f64>,
    arm_requests: Counter<u64>,
    arm_retries: Counter<u64>,
    arm_paced: Counter<f64>,
    writes: Counter<u64>,
    in_flight: UpDownCounter<i64>,
    lock_renewals: Counter<u64>,
    queue_receives: Counter<u64>,
    memo_lookups: Counter<u64>,
    message_panics: Counter<u64>,
    cluster_put_unconditional: Counter<u64>,
    deferrals: Counter<u64>,
    clusters: Gauge<u64>,
    last_resync: Gauge<f64>,
}

fn counter(meter: &Meter, m: MetricInfo) -> Counter<u64> {
    meter.u64_counter(m.name).with_description(m.description).build()
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Self {
            messages: counter(meter, MESSAGES),
            reconcile_duration: meter
                .f64_histogram(RECONCILE_DURATION.name)
                .with_description(RECONCILE_DURATION.description)
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            arm_requests: counter(meter, ARM_REQUESTS),
            arm_retries: counter(meter, ARM_RETRIES),
            arm_paced: meter.f64_counter(ARM_PACED.name).with_description(ARM_PACED.description).with_unit("s").build(),
            writes: counter(meter, WRITES),
            in_flight: meter.i64_up_down_counter(IN_FLIGHT.name).with_description(IN_FLIGHT.description).build(),
            lock_renewals: counter(meter, LOCK_RENEWALS),
            queue_receives: counter(meter, QUEUE_RECEIVES),
            memo_lookups: counter(meter, MEMO_LOOKUPS),
            message_panics: counter(meter, MESSAGE_PANICS),
            cluster_put_unconditional: counter(meter, CLUSTER_PUT_UNCONDITIONAL),
            deferrals: counter(meter, DEFERRALS),
            clusters: meter.u64_gauge(CLUSTERS.name).with_description(CLUSTERS.description).build(),
            last_resync: meter.f64_gauge(LAST_RESYNC.name).with_description(LAST_RESYNC.description).with_unit("s").build(),
        }
    }
}

/// What one Service Bus receive call returned (label of `fleetgate_queue_receives_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveResult {
    /// A message was locked.
    Message,
    /// The queue was empty (204).
    Empty,
    /// The call failed.
    Error,
}

impl ReceiveResult {
    fn label(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Empty => "empty",
            Self::Error => "error",
        }
    }
}

/// fleetgate's instruments. Obtain the process-wide set with [`metrics()`].
#[derive(Debug, Default)]
pub struct Metrics {
    bound: RwLock<Option<Arc<Instruments>>>,
    /// Subscriptions the fleet gauge reported so far (zeroed when a later refresh leaves them out).
    reported: Mutex<BTreeSet<String>>,
}

static METRICS: Metrics = Metrics { bound: RwLock::new(None), reported: Mutex::new(BTreeSet::new()) };

/// The process-wide instruments.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    /// Instruments bound to `meter` (tests; the process-wide set binds to the global provider).
    pub fn with_meter(meter: &Meter) -> Self {
        Self { bound: RwLock::new(Some(Arc::new(Instruments::new(meter)))), reported: Mutex::default() }
    }

    /// Re-creates the instruments from the current global meter provider. Called by
    /// [`super::init`] after it installed a provider, so earlier no-op instruments are replaced.
    pub fn rebind_global(&self) {
        let fresh = Arc::new(Instruments::new(&opentelemetry::global::meter(METER_NAME)));
        *self.bound.write().unwrap_or_else(|p| p.into_inner()) = Some(fresh);
    }

    fn get(&self) -> Arc<Instruments> {
        if let Some(i) = self.bound.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Arc::clone(i);
        }
        let mut slot = self.bound.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slot.get_or_insert_with(|| Arc::new(Instruments::new(&opentelemetry::global::meter(METER_NAME)))))
    }

    /// One message handled, by outcome label (`converged`, `ignored`, …).
    pub fn message(&self, outcome: &str) {
        self.get().messages.add(1, &[KeyValue::new("outcome", outcome.to_string())]);
    }

    /// One reconcile finished, with its duration and apply status label.
    pub fn reconcile_duration(&self, seconds: f64, status: &str) {
        self.get().reconcile_duration.record(seconds, &[KeyValue::new("status", status.to_string())]);
    }

    /// One ARM HTTP answer, by status (0 = no answer).
    pub fn arm_request(&self, status: u16) {
        self.get().arm_requests.add(1, &[KeyValue::new("status", i64::from(status))]);
    }

    /// One ARM retry.
    pub fn retry(&self) {
        self.get().arm_retries.add(1, &[]);
    }

    /// An ARM request held back by header pacing for `wait`, by bucket (`reads`, `writes`, `deletes`).
    pub fn arm_paced(&self, bucket: &'static str, wait: Duration) {
        self.get().arm_paced.add(wait.as_secs_f64(), &[KeyValue::new("bucket", bucket)]);
    }

    /// One write applied, by action kind.
    pub fn write(&self, kind: &str) {
        self.get().writes.add(1, &[KeyValue::new("kind", kind.to_string())]);
    }

    /// Messages in flight changed by `delta`.
    pub fn in_flight(&self, delta: i64) {
        self.get().in_flight.add(delta, &[]);
    }

    /// One lock renewal, succeeded or not.
    pub fn lock_renewal(&self, ok: bool) {
        self.get().lock_renewals.add(1, &[KeyValue::new("result", if ok { "ok" } else { "error" })]);
    }

    /// One Service Bus receive call and what it returned.
    pub fn queue_receive(&self, result: ReceiveResult) {
        self.get().queue_receives.add(1, &[KeyValue::new("result", result.label())]);
    }

    /// One cluster-write event checked against the unchanged-cluster memo: `hit` (answered with one
    /// cluster GET), `changed` (the document changed since the full check), `none` (no live entry).
    pub fn memo_lookup(&self, result: &'static str) {
        self.get().memo_lookups.add(1, &[KeyValue::new("result", result)]);
    }

    /// One message handler panicked (caught at the task boundary; the message was parked).
    pub fn message_panic(&self) {
        self.get().message_panics.add(1, &[]);
    }

    /// One cluster PUT sent without `If-Match`: the hedge after `If-Match: *` was answered 412 on a
    /// cluster that exists and serves no eTag.
    pub fn cluster_put_unconditional(&self) {
        self.get().cluster_put_unconditional.add(1, &[]);
    }

    /// One deferral by result: `scheduled` (a re-check was scheduled), `expired` (`defer.max_wait`
    /// passed) or `operation_failed` (fleetgate's cluster operation ended Failed/Canceled).
    pub fn deferral(&self, result: &str) {
        self.get().deferrals.add(1, &[KeyValue::new("result", result.to_string())]);
    }

    /// Refreshes `fleetgate_clusters{status, subscription}` from a resync's or a backfill's results:
    /// every status of every subscription in `counts` (zeros included), and zeros for the
    /// subscriptions an earlier refresh reported that `counts` leaves out.
    pub fn fleet_clusters(&self, counts: &ClusterCounts) {
        let gauge = &self.get().clusters;
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let now: BTreeSet<String> = counts.iter().map(|(s, _)| s.to_string()).collect();
        let record = |sub: &str, values: &[u64; 5]| {
            for (status, n) in CLUSTER_STATUSES.iter().zip(values) {
                gauge.record(*n, &[KeyValue::new("status", *status), KeyValue::new("subscription", sub.to_string())]);
            }
        };
        for gone in reported.difference(&now) {
            record(gone, &[0; 5]);
        }
        for (sub, values) in counts.iter() {
            record(sub, values);
        }
        reported.extend(now);
    }

    /// `fleetgate_last_resync_timestamp_seconds`: a drift resync completed at `unix_seconds`.
    pub fn resync_completed(&self, unix_seconds: f64) {
        self.get().last_resync.record(unix_seconds, &[]);
    }
}

#[cfg(test)]
mod tests;
