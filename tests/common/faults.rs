//! Fault rules for the simulator.

use fleetgate::sim::faults::FaultRule;

/// A fault rule on `method` requests (any method when `None`) to `path` that does nothing yet: set
/// `status`, `code`, `latency_ms`, `reset`, `count` or `probability` with `FaultRule { …, ..fault(…) }`.
pub fn fault(method: Option<&str>, path: &str) -> FaultRule {
    FaultRule {
        method: method.map(str::to_string),
        path: path.into(),
        status: None,
        code: None,
        message: None,
        retry_after: None,
        latency_ms: None,
        reset: false,
        count: None,
        probability: None,
    }
}
