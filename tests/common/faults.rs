//! Fault rules for the simulator.

use fleetgate::sim::faults::FaultRule;
use serde_json::json;

/// A fault rule on `method` requests (any method when `None`) to `path` that does nothing yet: set
/// `status`, `code`, `latency_ms`, `reset`, `count` or `probability` with `FaultRule { …, ..fault(…) }`.
/// Built from its fleet-file form, so every other field takes the simulator's default.
pub fn fault(method: Option<&str>, path: &str) -> FaultRule {
    serde_json::from_value(json!({ "method": method, "path": path })).expect("a fault rule with a method and a path")
}
