//! Which events and spans reach the log writer and which spans reach OpenTelemetry.
//!
//! The user's filter is a comma-separated list of `level`, `target=level` or bare `target` (= `trace`)
//! directives, parsed into a regex-free [`Targets`] filter (span and field filters are not supported).
//!
//! Secrets: HTTP stacks log headers (and so `Authorization` bearer tokens and SAS signatures) at debug/trace
//! level. Those targets are capped at `info` for every layer, whatever `FLEETGATE_LOG` asks for: the cap is a
//! second filter ANDed with the user's, so it only ever lowers verbosity. The OpenTelemetry layer also
//! ignores them entirely, and the exporters' own spans, so export traffic never feeds back into export.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

use super::{TelemetryEnv, TelemetryError};
use crate::config::TelemetrySettings;

/// Targets whose debug/trace output can include HTTP headers; never more verbose than `info`.
pub const HEADER_LOGGING_TARGETS: [&str; 7] = ["hyper", "hyper_util", "h2", "reqwest", "rustls", "tower", "tower_http"];

/// Targets of the OTLP exporter's own machinery (never turned into spans).
const EXPORTER_TARGETS: [&str; 4] = ["opentelemetry", "opentelemetry_sdk", "opentelemetry_otlp", "opentelemetry_http"];

/// The user's filter: `FLEETGATE_LOG` when set, else `telemetry.log_level`. Without a bare level, targets the
/// directives do not mention are off (`fleetgate=debug` alone shows fleetgate only); a list of only commas
/// means `error`.
pub fn log_filter(settings: &TelemetrySettings, env: &TelemetryEnv) -> Result<Targets, TelemetryError> {
    let (origin, directives) = match &env.log_filter {
        Some(v) => ("FLEETGATE_LOG", v.as_str()),
        None => ("telemetry.log_level", settings.log_level.as_str()),
    };
    let invalid = |message: String| TelemetryError::InvalidFilter { origin, value: directives.to_string(), message };
    if directives.trim().is_empty() {
        return Err(invalid("it is empty".into()));
    }
    parse_directives(directives).map_err(invalid)
}

/// Parses `directives` (comma-separated; blanks and empty entries ignored) into a [`Targets`].
fn parse_directives(directives: &str) -> Result<Targets, String> {
    let parts: Vec<String> = directives.split(',').map(normalize).filter(|d| !d.is_empty()).collect();
    if parts.is_empty() {
        return Ok(Targets::new().with_default(LevelFilter::ERROR));
    }
    for part in &parts {
        check_directive(part)?;
    }
    parts.join(",").parse().map_err(|e| format!("{e}; expected `level`, `target=level` or `target`, comma-separated"))
}

/// One directive without blanks around it or around its `=`; `target=` means `target` (= `trace`), as it did
/// with `EnvFilter` (`Targets` alone would read the empty level as `error`).
fn normalize(part: &str) -> String {
    match part.split_once('=') {
        Some((target, level)) if level.trim().is_empty() && !target.trim().is_empty() => target.trim().to_string(),
        Some((target, level)) => format!("{}={}", target.trim(), level.trim()),
        None => part.trim().to_string(),
    }
}

/// Rejects what [`Targets`] would misread: span/field filters and an empty or malformed target.
fn check_directive(part: &str) -> Result<(), String> {
    if part.contains(['[', ']', '{', '}']) {
        return Err(format!("`{part}`: span and field filters are not supported; use `level` or `target=level`"));
    }
    let target = part.split_once('=').map_or(part, |(target, _)| target);
    // The first character is checked as the former `EnvFilter` parser did; the rest is a target prefix.
    if !target.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '-' | ':' | '_')) {
        return Err(format!("`{part}`: a target is a Rust module path such as `fleetgate` or `fleetgate::arm`"));
    }
    Ok(())
}

/// The cap on header-logging targets (everything else passes).
pub fn secret_cap() -> Targets {
    HEADER_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, target| t.with_target(*target, LevelFilter::INFO))
}

/// The ARM client's target: its per-request `arm_call` span is a debug span (cheap for logs at `info`)
/// that OTLP exports all the same.
const ARM_CLIENT_TARGET: &str = "fleetgate::arm::client";

/// Spans (and their events) exported over OTLP: `info` and above from fleetgate and its libraries, `debug`
/// from the ARM client (its `arm_call` spans), nothing from the HTTP stacks or the exporter itself.
pub fn otel_filter() -> Targets {
    HEADER_LOGGING_TARGETS
        .iter()
        .chain(EXPORTER_TARGETS.iter())
        .fold(Targets::new().with_default(LevelFilter::INFO), |t, target| t.with_target(*target, LevelFilter::OFF))
        .with_target(ARM_CLIENT_TARGET, LevelFilter::DEBUG)
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;
    use crate::config::LogFormat;

    fn settings(level: &str) -> TelemetrySettings {
        TelemetrySettings { log_format: LogFormat::Text, log_level: level.into(), service_name: "fleetgate".into() }
    }

    fn parse(directives: &str) -> Targets {
        log_filter(&settings(directives), &TelemetryEnv::default()).unwrap()
    }

    #[test]
    fn fleetgate_log_wins_over_the_configured_level() {
        let env = TelemetryEnv { log_filter: Some("debug".into()), ..Default::default() };
        let f = log_filter(&settings("warn"), &env).unwrap();
        assert!(f.would_enable("fleetgate::worker", &Level::DEBUG) && !f.would_enable("fleetgate::worker", &Level::TRACE));
        let f = log_filter(&settings("warn"), &TelemetryEnv::default()).unwrap();
        assert!(f.would_enable("azure_core", &Level::WARN) && !f.would_enable("azure_core", &Level::INFO));
    }

    #[test]
    fn the_documented_forms_parse() {
        let f = parse("info");
        assert!(f.would_enable("fleetgate::arm", &Level::INFO) && !f.would_enable("fleetgate::arm", &Level::DEBUG));
        let f = parse("fleetgate=debug,info");
        assert!(f.would_enable("fleetgate::arm::client", &Level::DEBUG) && !f.would_enable("fleetgate", &Level::TRACE));
        assert!(f.would_enable("azure_core", &Level::INFO) && !f.would_enable("azure_core", &Level::DEBUG));
        let f = parse(" fleetgate::arm = trace , WARN ,");
        assert!(f.would_enable("fleetgate::arm::client", &Level::TRACE));
        assert!(f.would_enable("fleetgate::worker", &Level::WARN) && !f.would_enable("fleetgate::worker", &Level::INFO));
        let f = parse("3");
        assert!(f.would_enable("x", &Level::INFO) && !f.would_enable("x", &Level::DEBUG), "numeric levels as before");
        let f = parse("off");
        assert!(!f.would_enable("fleetgate", &Level::ERROR));
    }

    #[test]
    fn targets_without_a_bare_level_are_the_only_ones_on() {
        // As with the former EnvFilter: a directive list without a bare level enables nothing else.
        let f = parse("fleetgate=debug");
        assert!(f.would_enable("fleetgate::sim", &Level::DEBUG));
        assert!(!f.would_enable("azure_core", &Level::ERROR));
        let f = parse("fleetgate");
        assert!(f.would_enable("fleetgate::sim", &Level::TRACE) && !f.would_enable("tokio", &Level::ERROR));
        let f = parse("fleetgate::arm=");
        assert!(f.would_enable("fleetgate::arm", &Level::TRACE) && !f.would_enable("fleetgate::sim", &Level::ERROR));
        let f = parse(",");
        assert!(f.would_enable("azure_core", &Level::ERROR) && !f.would_enable("azure_core", &Level::WARN));
    }

    #[test]
    fn unsupported_or_malformed_directives_are_rejected() {
        for bad in ["fleetgate[reconcile]=debug", "fleetgate[{cluster=x}]=debug", "=debug", "=", "a=b=c", "*=info"] {
            let env = TelemetryEnv { log_filter: Some(bad.into()), ..Default::default() };
            let msg = log_filter(&settings("info"), &env).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("FLEETGATE_LOG") && msg.contains(bad), "{bad}: {msg}");
        }
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
        assert!(f.would_enable("fleetgate::arm::client", &Level::DEBUG), "arm_call spans are exported");
        assert!(!f.would_enable("fleetgate::arm::client", &Level::TRACE));
        assert!(f.would_enable("fleetgate::worker", &Level::INFO));
        assert!(!f.would_enable("fleetgate::worker", &Level::DEBUG));
        for target in ["hyper_util::client::legacy", "reqwest::blocking", "opentelemetry_sdk::metrics", "opentelemetry_otlp"] {
            assert!(!f.would_enable(target, &Level::ERROR), "{target}");
        }
    }
}
