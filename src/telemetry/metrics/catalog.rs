//! Every metric fleetgate exports, in one list: name, kind, unit, attributes and meaning. The
//! instruments are built from it ([`super::Metrics`]), a test checks that the SDK exports exactly these
//! names, and the Grafana dashboard and the Prometheus rules in `deploy/observability/` are checked
//! against the Prometheus series they become ([`MetricInfo::prometheus_series`]).

/// The kind of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic sum (`…_total`).
    Counter,
    /// Sum that goes up and down (a gauge in Prometheus).
    UpDownCounter,
    /// Distribution (`_bucket`, `_sum`, `_count` in Prometheus).
    Histogram,
    /// Last value recorded.
    Gauge,
}

/// One exported metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// OpenTelemetry instrument name (already in Prometheus form: `snake_case`, `_total`, `_seconds`).
    pub name: &'static str,
    /// Instrument kind.
    pub kind: MetricKind,
    /// UCUM unit (`s`), if any.
    pub unit: Option<&'static str>,
    /// Attribute keys recorded with it.
    pub labels: &'static [&'static str],
    /// What it counts.
    pub description: &'static str,
}

impl MetricInfo {
    /// The series Prometheus has for it behind an OpenTelemetry Collector's `prometheus` or
    /// `prometheusremotewrite` exporter: counters keep their `_total` name, gauges and up-down
    /// counters their name, histograms become `_bucket`, `_sum` and `_count` (the names already end in
    /// their unit, so the exporters add no suffix).
    pub fn prometheus_series(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Histogram => ["_bucket", "_sum", "_count"].iter().map(|s| format!("{}{s}", self.name)).collect(),
            MetricKind::Counter | MetricKind::UpDownCounter | MetricKind::Gauge => vec![self.name.to_string()],
        }
    }
}

const fn metric(name: &'static str, kind: MetricKind, labels: &'static [&'static str], description: &'static str) -> MetricInfo {
    MetricInfo { name, kind, unit: None, labels, description }
}

pub(super) const MESSAGES: MetricInfo =
    metric("fleetgate_messages_total", MetricKind::Counter, &["outcome"], "Messages handled, by outcome");
pub(super) const RECONCILE_DURATION: MetricInfo = MetricInfo {
    unit: Some("s"),
    ..metric(
        "fleetgate_reconcile_duration_seconds",
        MetricKind::Histogram,
        &["status"],
        "Duration of one cluster reconcile, by final status",
    )
};
pub(super) const ARM_REQUESTS: MetricInfo =
    metric("fleetgate_arm_requests_total", MetricKind::Counter, &["status"], "ARM HTTP answers, by status code (0 = no answer)");
pub(super) const ARM_RETRIES: MetricInfo =
    metric("fleetgate_arm_retries_total", MetricKind::Counter, &[], "ARM request attempts after the first");
pub(super) const ARM_PACED: MetricInfo = MetricInfo {
    unit: Some("s"),
    ..metric(
        "fleetgate_arm_paced_seconds_total",
        MetricKind::Counter,
        &["bucket"],
        "Time ARM requests were held back by pacing from x-ms-ratelimit-remaining-subscription-* headers, by bucket (reads | writes | deletes)",
    )
};
pub(super) const WRITES: MetricInfo = metric("fleetgate_writes_total", MetricKind::Counter, &["kind"], "Writes applied, by action kind");
pub(super) const IN_FLIGHT: MetricInfo = metric("fleetgate_in_flight", MetricKind::UpDownCounter, &[], "Messages being worked on");
pub(super) const LOCK_RENEWALS: MetricInfo =
    metric("fleetgate_lock_renewals_total", MetricKind::Counter, &["result"], "Service Bus lock renewals, by result (ok | error)");
pub(super) const QUEUE_RECEIVES: MetricInfo = metric(
    "fleetgate_queue_receives_total",
    MetricKind::Counter,
    &["result"],
    "Service Bus receive calls, by result (message | empty | error)",
);
pub(super) const MEMO_LOOKUPS: MetricInfo = metric(
    "fleetgate_unchanged_memo_total",
    MetricKind::Counter,
    &["result"],
    "Cluster-write events checked against the unchanged-cluster memo, by result (hit | changed | none)",
);
pub(super) const MESSAGE_PANICS: MetricInfo = metric(
    "fleetgate_message_panics_total",
    MetricKind::Counter,
    &[],
    "Message handlers that panicked (the message was parked with the panic as its reason)",
);
pub(super) const CLUSTER_PUT_UNCONDITIONAL: MetricInfo = metric(
    "fleetgate_cluster_put_unconditional_total",
    MetricKind::Counter,
    &[],
    "Cluster PUTs sent without If-Match because If-Match: * was answered 412 on a cluster without an eTag",
);
pub(super) const DEFERRALS: MetricInfo = metric(
    "fleetgate_deferrals_total",
    MetricKind::Counter,
    &["result"],
    "Service Bus worker deferrals of a cluster whose AKS operation is running, by result (scheduled | expired | operation_failed)",
);
pub(super) const CLUSTERS: MetricInfo = metric(
    "fleetgate_clusters",
    MetricKind::Gauge,
    &["status", "subscription"],
    "Clusters in scope by gated-deployment status (compliant | changes_needed | blocked | excluded | failed) and subscription, as the last resync or backfill found them",
);
pub(super) const LAST_RESYNC: MetricInfo = MetricInfo {
    unit: Some("s"),
    ..metric(
        "fleetgate_last_resync_timestamp_seconds",
        MetricKind::Gauge,
        &[],
        "Unix time at which this worker last completed a drift resync (reconcile commands sent for every cluster)",
    )
};

/// Every metric fleetgate exports.
pub const CATALOG: &[MetricInfo] = &[
    MESSAGES,
    RECONCILE_DURATION,
    ARM_REQUESTS,
    ARM_RETRIES,
    ARM_PACED,
    WRITES,
    IN_FLIGHT,
    LOCK_RENEWALS,
    QUEUE_RECEIVES,
    MEMO_LOOKUPS,
    MESSAGE_PANICS,
    CLUSTER_PUT_UNCONDITIONAL,
    DEFERRALS,
    CLUSTERS,
    LAST_RESYNC,
];

/// Every Prometheus series name the catalog becomes.
pub fn prometheus_names() -> Vec<String> {
    CATALOG.iter().flat_map(MetricInfo::prometheus_series).collect()
}
