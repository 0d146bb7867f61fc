//! Which events and spans reach the log writer and which spans reach OpenTelemetry.
//!
//! Secrets: HTTP stacks log headers (and so `Authorization` bearer tokens and SAS signatures) at debug/trace
//! level. Those targets are capped at `info` for every layer, whatever `FLEETGATE_LOG` asks for: the cap is a
//! second filter ANDed with the user's, so it only ever lowers verbosity. The OpenTelemetry layer also
//! ignores them entirely, and the exporters' own spans, so export traffic never feeds back into export.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Targets;

use super::{TelemetryEnv, TelemetryError};
use crate::config::TelemetrySettings;

/// Targets whose debug/trace output can include HTTP headers; never more verbose than `info`.
pub const HEADER_LOGGING_TARGETS: [&str; 7] = ["hyper", "hyper_util", "h2", "reqwest", "rustls", "tower", "tower_http"];

/// Targets of the OTLP exporter's own machinery (never turned into spans).
const EXPORTER_TARGETS: [&str; 4] = ["opentelemetry", "opentelemetry_sdk", "opentelemetry_otlp", "opentelemetry_http"];

/// The user's filter: `FLEETGATE_LOG` when set, else `telemetry.log_level`. Targets the directives do not
/// mention log errors only (`fleetgate=debug` alone still shows other crates' errors).
pub fn log_filter(settings: &TelemetrySettings, env: &TelemetryEnv) -> Result<EnvFilter, TelemetryError> {
    let (origin, directives) = match &env.log_filter {
        Some(v) => ("FLEETGATE_LOG", v.as_str()),
        None => ("telemetry.log_level", settings.log_level.as_str()),
    };
    let invalid = |message: String| TelemetryError::InvalidFilter { origin, value: directives.to_string(), message };
    if directives.trim().is_empty() {
        return Err(invalid("it is empty".into()));
    }
    EnvFilter::builder().with_default_directive(LevelFilter::ERROR.into()).parse(directives).map_err(|e| invalid(e.to_string()))
}

/// The cap on header-logging targets (everything else passes).
pub fn secret_cap() -> Targets {
    HEADER_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| t.with_target(*target, LevelFilter::INFO))
}

/// Spans (and their events) exported over OTLP: `info` and above from fleetgate and its libraries,
/// nothing from the HTTP stacks or the exporter itself.
pub fn otel_filter() -> Targets {
    HEADER_LOGGING_TARGETS
        .iter()
        .chain(EXPORTER_TARGETS.iter())
        .fold(Targets::new().with_default(LevelFilter::INFO), |t, target| t.with_target(*target, LevelFilter::OFF))
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;
    use crate::config::LogFormat;

    fn settings(level: &str) -> TelemetrySettings {
        TelemetrySettings { log_format: LogFormat::Text, log_level: level.into(), service_name: "fleetgate".into() }
    }

    #[test]
    fn fleetgate_log_wins_over_the_configured_level() {
        let env = TelemetryEnv { log_filter: Some("debug".into()), ..Default::default() };
        assert_eq!(log_filter(&settings("warn"), &env).unwrap().max_level_hint(), Some(LevelFilter::DEBUG));
        assert_eq!(log_filter(&settings("warn"), &TelemetryEnv::default()).unwrap().max_level_hint(), Some(LevelFilter::WARN));
    }

    #[test]
    fn an_invalid_filter_names_its_origin_and_value() {
        let env = TelemetryEnv { log_filter: Some("fleetgate=loud".into()), ..Default::default() };
        let msg = log_filter(&settings("info"), &env).unwrap_err().to_string();
        assert!(msg.contains("FLEETGATE_LOG") && msg.contains("fleetgate=loud"), "{msg}");
        let msg = log_filter(&settings(" "), &TelemetryEnv::default()).unwrap_err().to_string();
        assert!(msg.contains("telemetry.log_level"), "{msg}");
    }

    #[test]
    fn http_stacks_are_capped_at_info_and_others_pass() {
        let cap = secret_cap();
        for target in ["hyper::proto::h1::role", "h2::hpack::decoder", "reqwest::connect", "hyper_util::client"] {
            assert!(!cap.would_enable(target, &Level::DEBUG), "{target} debug must be capped");
            assert!(!cap.would_enable(target, &Level::TRACE), "{target} trace must be capped");
            assert!(cap.would_enable(target, &Level::INFO), "{target} info passes");
        }
        assert!(cap.would_enable("fleetgate::arm::client", &Level::TRACE));
        assert!(cap.would_enable("azure_core::http", &Level::DEBUG));
    }

    #[test]
    fn otel_ignores_http_stacks_and_the_exporter() {
        let f = otel_filter();
        assert!(f.would_enable("fleetgate::arm::client", &Level::INFO));
        assert!(!f.would_enable("fleetgate::arm::client", &Level::DEBUG));
        for target in ["hyper_util::client::legacy", "reqwest::blocking", "opentelemetry_sdk::metrics", "opentelemetry_otlp"] {
            assert!(!f.would_enable(target, &Level::ERROR), "{target}");
        }
    }
}
