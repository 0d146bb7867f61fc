//! Telemetry: logs (tracing, text or JSON lines on stderr), OpenTelemetry traces and metrics over OTLP
//! http/protobuf.
//!
//! [`init`] installs, once per process:
//! - a log layer: `telemetry.log_format` (`text` | `json`) to stderr, ANSI colours only on a terminal (and not with `NO_COLOR`),
//!   filtered by `FLEETGATE_LOG` else `telemetry.log_level`, with HTTP stacks capped at `info` so
//!   no header (bearer token, SAS signature) is ever printed (see [`filter`]);
//! - when `OTEL_EXPORTER_OTLP_ENDPOINT` (or a per-signal variable, see [`env`](mod@env)) is set: a tracer provider
//!   whose spans come from `tracing` spans (the ARM client's `arm_call`, the worker's per-message spans),
//!   and a meter provider behind [`metrics()`]. Unset: no exporter, and the metrics are no-ops.
//!
//! [`TelemetryGuard::shutdown`] flushes what is buffered; it blocks, so from async code run it in
//! `tokio::task::spawn_blocking`. Dropping the guard shuts down too (best effort, errors ignored).

pub mod env;
pub mod filter;
pub mod metrics;
mod otlp;
mod subscriber;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::util::SubscriberInitExt;

pub use env::{OtlpEndpoints, TelemetryEnv};
pub use metrics::{Metrics, ReceiveResult, metrics};
pub use subscriber::log_subscriber;

use crate::config::TelemetrySettings;
use otlp::Providers;

/// Why telemetry could not be set up or flushed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter {value:?} in {origin}: {message}; use a tracing filter such as \"info\" or \"fleetgate=debug,info\"")]
    InvalidFilter {
        /// `FLEETGATE_LOG` or `telemetry.log_level`.
        origin: &'static str,
        /// The directives as given.
        value: String,
        /// The parser's complaint.
        message: String,
    },
    /// An OTLP exporter could not be built.
    #[error(
        "cannot set up OTLP {signal} export to {endpoint}: {message}; check OTEL_EXPORTER_OTLP_ENDPOINT (a base URL such as http://collector:4318) or unset it to turn export off"
    )]
    Exporter {
        /// `traces` or `metrics`.
        signal: &'static str,
        /// The signal URL.
        endpoint: String,
        /// The exporter's complaint.
        message: String,
    },
    /// Another global tracing subscriber is already installed.
    #[error("telemetry is already initialised in this process (a global tracing subscriber is installed); call telemetry::init once")]
    AlreadyInitialized,
    /// Flushing at shutdown failed (buffered spans or metrics may be lost).
    #[error("flushing telemetry at shutdown failed ({message}); check that the OTLP collector is reachable")]
    Shutdown {
        /// Per-signal failures.
        message: String,
    },
}

/// Keeps the exporters alive; [`TelemetryGuard::shutdown`] flushes them.
#[derive(Debug)]
pub struct TelemetryGuard {
    providers: Option<Providers>,
    endpoints: OtlpEndpoints,
}

impl TelemetryGuard {
    /// Where spans and metrics are exported (both `None` when OTLP is off).
    pub fn endpoints(&self) -> &OtlpEndpoints {
        &self.endpoints
    }

    /// Flushes buffered spans and metrics and stops the exporters. Blocking (up to the export timeout per
    /// signal): from async code call it inside `tokio::task::spawn_blocking`.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        self.providers.take().map_or(Ok(()), Providers::shutdown)
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.providers.take() {
            let _ = p.shutdown();
        }
    }
}

/// Installs logging and, when the OTLP variables are set, trace and metric export (process environment).
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    init_with(settings, &TelemetryEnv::from_process())
}

/// [`init`] with an explicit environment (tests).
pub fn init_with(settings: &TelemetrySettings, env: &TelemetryEnv) -> Result<TelemetryGuard, TelemetryError> {
    let endpoints = env.endpoints();
    let service_name = env.service_name(&settings.service_name);
    let providers = Providers::build(&endpoints, &service_name)?;
    let tracer = providers.tracer.as_ref().map(|p| p.tracer(metrics::METER_NAME));
    // ANSI colours only on a terminal, and never with NO_COLOR set to anything (https://no-color.org).
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let installed = subscriber::build(settings, env, std::io::stderr, ansi, tracer)
        .and_then(|s| s.try_init().map_err(|_| TelemetryError::AlreadyInitialized));
    if let Err(e) = installed {
        let _ = providers.shutdown();
        return Err(e);
    }
    if let Some(tp) = &providers.tracer {
        opentelemetry::global::set_tracer_provider(tp.clone());
    }
    if let Some(mp) = &providers.meter {
        opentelemetry::global::set_meter_provider(mp.clone());
    }
    metrics().rebind_global();
    if !endpoints.is_off() {
        tracing::debug!(traces = ?endpoints.traces, metrics = ?endpoints.metrics, service = %service_name, "OTLP export on");
    }
    Ok(TelemetryGuard { providers: Some(providers), endpoints })
}
