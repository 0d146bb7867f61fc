//! OTLP http/protobuf export through the real `telemetry::init_with`: a `tracing` span and a metric reach a
//! loopback collector when the guard shuts down. Its own test binary: `init` installs process globals.

mod telemetry_collector;

use fleetgate::config::{LogFormat, TelemetrySettings};
use fleetgate::telemetry::{self, TelemetryEnv, TelemetryError, metrics};
use telemetry_collector::Collector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_and_metrics_reach_the_collector_on_shutdown() {
    let collector = Collector::start().await;
    let settings = TelemetrySettings { log_format: LogFormat::Text, log_level: "warn".into(), service_name: "fleetgate-otlp-test".into() };
    let env = TelemetryEnv { otlp_endpoint: Some(collector.endpoint()), ..Default::default() };
    metrics().message("before_init"); // bound to the no-op provider first: init must rebind
    let guard = telemetry::init_with(&settings, &env).unwrap();
    assert_eq!(guard.endpoints().traces, Some(format!("{}/v1/traces", collector.endpoint())));
    assert_eq!(guard.endpoints().metrics, Some(format!("{}/v1/metrics", collector.endpoint())));

    {
        // An info span is exported even though logs are at warn (each layer has its own filter).
        let span = tracing::info_span!("handle_message", cluster = "aks-otlp-1", event_id = "evt-42");
        let _entered = span.enter();
        tracing::info!(outcome = "converged", "message handled");
    }
    metrics().message("converged");
    metrics().arm_request(429);
    metrics().in_flight(1);

    let again = telemetry::init_with(&settings, &TelemetryEnv::default());
    assert!(matches!(again, Err(TelemetryError::AlreadyInitialized)), "{again:?}");

    tokio::task::spawn_blocking(move || guard.shutdown()).await.unwrap().unwrap();

    let traces = collector.received("/v1/traces");
    assert!(!traces.is_empty(), "no /v1/traces export arrived");
    assert!(traces.iter().all(|t| t.content_type == "application/x-protobuf"), "{traces:?}");
    let span = traces.iter().find(|t| t.contains("handle_message")).expect("the span was exported");
    for needle in ["fleetgate-otlp-test", "aks-otlp-1", "evt-42", "message handled"] {
        assert!(span.contains(needle), "span export lacks {needle:?}");
    }

    let exported = collector.received("/v1/metrics");
    assert!(!exported.is_empty(), "no /v1/metrics export arrived");
    assert!(exported.iter().all(|m| m.content_type == "application/x-protobuf"));
    let last = exported.last().unwrap();
    for needle in ["fleetgate_messages_total", "converged", "fleetgate_arm_requests_total", "fleetgate_in_flight", "fleetgate-otlp-test"] {
        assert!(last.contains(needle), "metrics export lacks {needle:?}");
    }
}
