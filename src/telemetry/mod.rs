//! Telemetry: logs (tracing, text or JSON), OpenTelemetry traces and metrics over OTLP http/protobuf.
//! (Skeleton: the metrics facade exists so callers can record; exporters arrive with the telemetry work.)

pub mod metrics;

pub use metrics::{Metrics, metrics};
