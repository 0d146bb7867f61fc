//! OpenTelemetry providers exporting over OTLP http/protobuf.
//!
//! The exporters use the blocking reqwest client (the crate default): the 0.33 batch span processor and
//! periodic metric reader run on their own threads with `futures_executor::block_on`, where the async
//! reqwest client panics for want of a Tokio reactor. Building, exporting and shutting down therefore
//! never need a runtime; shutting down blocks until the last batch is sent (or the timeout passes).
//! The client is fleetgate's own (`http_client`): like every client fleetgate owns, it never follows a
//! redirect (the crate's default one follows up to ten, which would carry telemetry to another host).

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{MetricExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;

use super::{OtlpEndpoints, TelemetryError};

/// How long one export request may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The installed providers (either may be off).
#[derive(Debug, Default)]
pub(super) struct Providers {
    pub tracer: Option<SdkTracerProvider>,
    pub meter: Option<SdkMeterProvider>,
}

impl Providers {
    /// Builds the providers for the endpoints that are set.
    pub fn build(endpoints: &OtlpEndpoints, service_name: &str) -> Result<Self, TelemetryError> {
        let resource = Resource::builder()
            .with_service_name(service_name.to_string())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let tracer = endpoints.traces.as_deref().map(|url| tracer_provider(url, resource.clone())).transpose()?;
        let meter = endpoints.metrics.as_deref().map(|url| meter_provider(url, resource)).transpose()?;
        Ok(Self { tracer, meter })
    }

    /// Flushes and stops both providers (blocking). Reports every failure, after trying both.
    pub fn shutdown(self) -> Result<(), TelemetryError> {
        let traces = self.tracer.map(|p| p.shutdown().map_err(|e| ("traces", e.to_string()))).transpose();
        let metrics = self.meter.map(|p| p.shutdown().map_err(|e| ("metrics", e.to_string()))).transpose();
        let failures: Vec<String> = [traces.err(), metrics.err()].into_iter().flatten().map(|(s, e)| format!("{s}: {e}")).collect();
        if failures.is_empty() { Ok(()) } else { Err(TelemetryError::Shutdown { message: failures.join("; ") }) }
    }
}

fn exporter_error(signal: &'static str, endpoint: &str, e: impl std::fmt::Display) -> TelemetryError {
    TelemetryError::Exporter { signal, endpoint: endpoint.to_string(), message: e.to_string() }
}

/// The exporters' blocking client: no redirects, the export timeout. Built on its own thread, because a
/// blocking reqwest client cannot be created (or dropped) inside an async runtime.
fn http_client(signal: &'static str, endpoint: &str) -> Result<reqwest::blocking::Client, TelemetryError> {
    let built = std::thread::spawn(|| {
        reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(EXPORT_TIMEOUT).build()
    })
    .join()
    .map_err(|_| exporter_error(signal, endpoint, "the thread building the HTTP client panicked"))?;
    built.map_err(|e| exporter_error(signal, endpoint, e))
}

fn tracer_provider(url: &str, resource: Resource) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_http_client(http_client("traces", url)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| exporter_error("traces", url, e))?;
    Ok(SdkTracerProvider::builder().with_resource(resource).with_batch_exporter(exporter).build())
}

/// The export interval comes from `OTEL_METRIC_EXPORT_INTERVAL` (default 60 s); shutdown exports once more.
fn meter_provider(url: &str, resource: Resource) -> Result<SdkMeterProvider, TelemetryError> {
    let exporter = MetricExporter::builder()
        .with_http()
        .with_http_client(http_client("metrics", url)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .with_temporality(Temporality::Cumulative)
        .build()
        .map_err(|e| exporter_error("metrics", url, e))?;
    Ok(SdkMeterProvider::builder().with_resource(resource).with_reader(PeriodicReader::builder(exporter).build()).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_endpoint_is_an_error_naming_signal_and_url() {
        let endpoints = OtlpEndpoints { traces: Some("not a url".into()), metrics: None };
        let msg = Providers::build(&endpoints, "fleetgate").unwrap_err().to_string();
        assert!(msg.contains("traces") && msg.contains("not a url"), "{msg}");
    }

    #[test]
    fn off_endpoints_build_no_provider() {
        let p = Providers::build(&OtlpEndpoints::default(), "fleetgate").unwrap();
        assert!(p.tracer.is_none() && p.meter.is_none());
        p.shutdown().unwrap();
    }
}
