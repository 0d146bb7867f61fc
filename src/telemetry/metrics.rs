//! The metrics facade every component records through, backed by OpenTelemetry instruments.
//!
//! Instruments come from the global meter provider, created lazily on first use and re-created by
//! [`super::init`] once it installed a provider: with OTLP off they are the global no-op instruments,
//! with OTLP on they feed the periodic exporter. Recording is cheap (an uncontended read lock and an
//! attribute lookup); callers never need to know whether telemetry is exported.

use std::sync::{Arc, RwLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};

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
    writes: Counter<u64>,
    in_flight: UpDownCounter<i64>,
    lock_renewals: Counter<u64>,
    queue_receives: Counter<u64>,
    memo_lookups: Counter<u64>,
    message_panics: Counter<u64>,
    cluster_put_unconditional: Counter<u64>,
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        Self {
            messages: meter.u64_counter("fleetgate_messages_total").with_description("Messages handled, by outcome").build(),
            reconcile_duration: meter
                .f64_histogram("fleetgate_reconcile_duration_seconds")
                .with_description("Duration of one cluster reconcile, by final status")
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            arm_requests: meter
                .u64_counter("fleetgate_arm_requests_total")
                .with_description("ARM HTTP answers, by status code (0 = no answer)")
                .build(),
            arm_retries: meter.u64_counter("fleetgate_arm_retries_total").with_description("ARM request attempts after the first").build(),
            writes: meter.u64_counter("fleetgate_writes_total").with_description("Writes applied, by action kind").build(),
            in_flight: meter.i64_up_down_counter("fleetgate_in_flight").with_description("Messages being worked on").build(),
            lock_renewals: meter
                .u64_counter("fleetgate_lock_renewals_total")
                .with_description("Service Bus lock renewals, by result (ok | error)")
                .build(),
            queue_receives: meter
                .u64_counter("fleetgate_queue_receives_total")
                .with_description("Service Bus receive calls, by result (message | empty | error)")
                .build(),
            memo_lookups: meter
                .u64_counter("fleetgate_unchanged_memo_total")
                .with_description("Cluster-write events checked against the unchanged-cluster memo, by result (hit | changed | none)")
                .build(),
            message_panics: meter
                .u64_counter("fleetgate_message_panics_total")
                .with_description("Message handlers that panicked (the message was parked with the panic as its reason)")
                .build(),
            cluster_put_unconditional: meter
                .u64_counter("fleetgate_cluster_put_unconditional_total")
                .with_description("Cluster PUTs sent without If-Match because If-Match: * was answered 412 on a cluster without an eTag")
                .build(),
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
}

static METRICS: Metrics = Metrics { bound: RwLock::new(None) };

/// The process-wide instruments.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    /// Instruments bound to `meter` (tests; the process-wide set binds to the global provider).
    pub fn with_meter(meter: &Meter) -> Self {
        Self { bound: RwLock::new(Some(Arc::new(Instruments::new(meter)))) }
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
}

#[cfg(test)]
mod tests;
