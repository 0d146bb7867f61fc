//! Latency model: zero for tests, `realistic` for the demo and benchmarks.

use serde::{Deserialize, Serialize};

/// A named latency preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyPreset {
    /// No added latency (tests).
    #[default]
    Zero,
    /// ARM-like latencies: reads tens of ms, writes hundreds, LROs seconds.
    Realistic,
}
