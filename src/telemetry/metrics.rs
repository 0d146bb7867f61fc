//! The metrics facade every component records through. (Skeleton: no-op until exporters land.)

/// fleetgate's instruments.
#[derive(Debug, Default)]
pub struct Metrics {}

static METRICS: Metrics = Metrics {};

/// The process-wide instruments.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    /// One message handled, by outcome label (`converged`, `ignored`, …).
    pub fn message(&self, _outcome: &str) {}
    /// One reconcile finished, with its duration and apply status label.
    pub fn reconcile_duration(&self, _seconds: f64, _status: &str) {}
    /// One ARM HTTP answer, by status (0 = no answer).
    pub fn arm_request(&self, _status: u16) {}
    /// One ARM retry.
    pub fn retry(&self) {}
    /// One write applied, by action kind.
    pub fn write(&self, _kind: &str) {}
    /// Messages in flight changed by `delta`.
    pub fn in_flight(&self, _delta: i64) {}
    /// One lock renewal, succeeded or not.
    pub fn lock_renewal(&self, _ok: bool) {}
}
