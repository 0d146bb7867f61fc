//! The environment variables telemetry reads, captured once so the resolution rules are pure and testable.
//!
//! - `FLEETGATE_LOG`: a tracing filter that wins over `telemetry.log_level`.
//! - `OTEL_EXPORTER_OTLP_ENDPOINT`: base URL of an OTLP http/protobuf collector; OTLP is off when unset.
//!   `/v1/traces` and `/v1/metrics` are appended.
//! - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`: full per-signal URLs, used
//!   as given; either one alone also turns that signal on.
//! - `OTEL_SERVICE_NAME`: wins over `telemetry.service_name`.

use std::collections::HashMap;

/// Telemetry-relevant environment variables (empty values count as unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetryEnv {
    /// `FLEETGATE_LOG`
    pub log_filter: Option<String>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`
    pub otlp_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    pub otlp_traces_endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
    pub otlp_metrics_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`
    pub service_name: Option<String>,
}

/// Where each OTLP signal goes; `None` = that signal is not exported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtlpEndpoints {
    /// Full URL for spans (`…/v1/traces`).
    pub traces: Option<String>,
    /// Full URL for metrics (`…/v1/metrics`).
    pub metrics: Option<String>,
}

impl OtlpEndpoints {
    /// True when neither signal is exported.
    pub fn is_off(&self) -> bool {
        self.traces.is_none() && self.metrics.is_none()
    }
}

impl TelemetryEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads from a map (tests).
    pub fn from_map(map: &HashMap<String, String>) -> Self {
        Self::from_lookup(|name| map.get(name).cloned())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Self {
            log_filter: get("FLEETGATE_LOG"),
            otlp_endpoint: get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otlp_traces_endpoint: get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            otlp_metrics_endpoint: get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            service_name: get("OTEL_SERVICE_NAME"),
        }
    }

    /// The per-signal URLs: the signal variable as given, else the base URL plus the signal path.
    pub fn endpoints(&self) -> OtlpEndpoints {
        let signal = |specific: &Option<String>, path: &str| {
            specific.clone().or_else(|| self.otlp_endpoint.as_deref().map(|base| format!("{}{path}", base.trim_end_matches('/'))))
        };
        OtlpEndpoints {
            traces: signal(&self.otlp_traces_endpoint, "/v1/traces"),
            metrics: signal(&self.otlp_metrics_endpoint, "/v1/metrics"),
        }
    }

    /// `OTEL_SERVICE_NAME`, else the configured name.
    pub fn service_name(&self, configured: &str) -> String {
        self.service_name.clone().unwrap_or_else(|| configured.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> TelemetryEnv {
        TelemetryEnv::from_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn otlp_is_off_without_any_endpoint_variable() {
        assert!(env(&[]).endpoints().is_off());
        assert!(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")]).endpoints().is_off());
    }

    #[test]
    fn the_base_endpoint_gets_signal_paths_appended() {
        for base in ["http://collector:4318", "http://collector:4318/"] {
            let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]).endpoints();
            assert_eq!(e.traces.as_deref(), Some("http://collector:4318/v1/traces"));
            assert_eq!(e.metrics.as_deref(), Some("http://collector:4318/v1/metrics"));
        }
    }

    #[test]
    fn signal_endpoints_are_used_as_given_and_win() {
        let e = env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom")])
            .endpoints();
        assert_eq!(e.traces.as_deref(), Some("http://t:1/custom"));
        assert_eq!(e.metrics.as_deref(), Some("http://base:4318/v1/metrics"));
        let only_metrics = env(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:2/v1/metrics")]).endpoints();
        assert_eq!(only_metrics, OtlpEndpoints { traces: None, metrics: Some("http://m:2/v1/metrics".into()) });
    }

    #[test]
    fn service_name_prefers_the_standard_variable() {
        assert_eq!(env(&[]).service_name("fleetgate"), "fleetgate");
        assert_eq!(env(&[("OTEL_SERVICE_NAME", "fg-prod")]).service_name("fleetgate"), "fg-prod");
    }
}
