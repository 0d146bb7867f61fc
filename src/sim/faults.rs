//! Fault injection: rules that make matching requests fail, slow down, or lose their connection.

use serde::{Deserialize, Serialize};

/// One fault rule. A request matches when its method (if given) and path pattern match; then the rule
/// fires for the next `count` matches, or with `probability` (seeded RNG), or always if neither is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `GET`, `PUT`, …; `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// Case-insensitive glob over the path (without query); `*` matches any run of characters.
    pub path: String,
    /// Status to answer with (with `{"error":{"code","message"}}`); `None` = pass through.
    #[serde(default)]
    pub status: Option<u16>,
    /// Error code in the body.
    #[serde(default)]
    pub code: Option<String>,
    /// Error message in the body.
    #[serde(default)]
    pub message: Option<String>,
    /// `Retry-After` seconds header.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Added latency in milliseconds (before answering or passing through).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Abort the connection instead of answering.
    #[serde(default)]
    pub reset: bool,
    /// Fire for the next N matches only.
    #[serde(default)]
    pub count: Option<u32>,
    /// Fire with this probability (0..=1).
    #[serde(default)]
    pub probability: Option<f64>,
}
