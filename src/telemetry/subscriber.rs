//! The tracing subscriber: a log layer (text or JSON lines) and, when OTLP is on, the
//! tracing-opentelemetry layer turning spans into OTLP spans. Each layer has its own filter.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Filter, Layer, SubscriberExt};
use tracing_subscriber::{Registry, fmt};

use super::filter::{log_filter, otel_filter, secret_cap};
use super::{TelemetryEnv, TelemetryError};
use crate::config::{LogFormat, TelemetrySettings};

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// A subscriber with the log layer writing to `writer` (no ANSI colours) and no OpenTelemetry layer.
/// For tests and embedding: install it with `tracing::subscriber::with_default`.
pub fn log_subscriber<W>(
    settings: &TelemetrySettings,
    env: &TelemetryEnv,
    writer: W,
) -> Result<impl Subscriber + Send + Sync + use<W>, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(settings, env, writer, false, None)
}

/// The full subscriber. `ansi` only applies to text logs.
pub(super) fn build<W>(
    settings: &TelemetrySettings,
    env: &TelemetryEnv,
    writer: W,
    ansi: bool,
    tracer: Option<SdkTracer>,
) -> Result<impl Subscriber + Send + Sync + use<W>, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = log_filter(settings, env)?.and(secret_cap());
    let mut layers: Vec<BoxedLayer> = vec![log_layer(settings.log_format, writer, ansi, filter)];
    if let Some(tracer) = tracer {
        layers.push(tracing_opentelemetry::layer().with_tracer(tracer).with_filter(otel_filter()).boxed());
    }
    Ok(Registry::default().with(layers))
}

fn log_layer<W, F>(format: LogFormat, writer: W, ansi: bool, filter: F) -> BoxedLayer
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    F: Filter<Registry> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => fmt::layer().with_writer(writer).with_ansi(ansi).with_filter(filter).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .with_filter(filter)
            .boxed(),
    }
}
