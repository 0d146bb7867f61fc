//! Log lines through `telemetry::log_subscriber` with an injected writer: JSON lines, plain text without
//! ANSI colours, the level from settings or `FLEETGATE_LOG`, and HTTP stacks never below `info`.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use fleetgate::config::{LogFormat, TelemetrySettings};
use fleetgate::telemetry::{TelemetryEnv, log_subscriber};
use serde_json::Value;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn settings(format: LogFormat, level: &str) -> TelemetrySettings {
    TelemetrySettings { log_format: format, log_level: level.into(), service_name: "fleetgate".into() }
}

fn env(filter: &str) -> TelemetryEnv {
    TelemetryEnv { log_filter: Some(filter.into()), ..Default::default() }
}

/// Emits a fixed set of events (including header-bearing HTTP-stack ones) and returns what was written.
fn emit(settings: &TelemetrySettings, env: &TelemetryEnv) -> String {
    let buf = Buffer::default();
    let writer = buf.clone();
    let subscriber = log_subscriber(settings, env, move || writer.clone()).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("handle_message", message_id = "m-1");
        let _entered = span.enter();
        tracing::info!(cluster = "aks-1", "reconciled");
        tracing::debug!("debug detail");
        tracing::warn!("slow ARM answer");
        tracing::trace!(target: "h2::hpack::decoder", "decoded header: authorization: Bearer hpack-secret");
        tracing::debug!(target: "hyper::proto::h1::role", "request headers: authorization: Bearer hyper-secret");
        tracing::info!(target: "hyper::client", "connection reused");
    });
    buf.text()
}

#[test]
fn json_format_writes_one_object_per_line_with_span_and_fields() {
    let out = emit(&settings(LogFormat::Json, "info"), &env("debug"));
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.len() >= 3, "{out}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
    }
    let reconciled = lines.iter().find(|l| l["message"] == "reconciled").expect("info event");
    assert_eq!(reconciled["level"], "INFO");
    assert_eq!(reconciled["cluster"], "aks-1");
    assert_eq!(reconciled["span"]["name"], "handle_message");
    assert_eq!(reconciled["span"]["message_id"], "m-1");
    assert!(lines.iter().any(|l| l["message"] == "debug detail"), "FLEETGATE_LOG=debug applies");
}

#[test]
fn http_stacks_never_log_below_info_even_at_trace() {
    for format in [LogFormat::Text, LogFormat::Json] {
        let out = emit(&settings(format, "info"), &env("trace"));
        assert!(!out.contains("hpack-secret") && !out.contains("hyper-secret"), "{out}");
        assert!(!out.contains("Bearer"), "{out}");
        assert!(out.contains("connection reused"), "info from the HTTP stack still shows: {out}");
        assert!(out.contains("debug detail"), "trace applies to fleetgate: {out}");
    }
}

#[test]
fn text_format_has_no_ansi_colours_and_the_configured_level_applies() {
    let out = emit(&settings(LogFormat::Text, "warn"), &TelemetryEnv::default());
    assert!(!out.contains('\u{1b}'), "ANSI escape in {out:?}");
    assert!(out.contains("WARN") && out.contains("slow ARM answer"), "{out}");
    assert!(!out.contains("reconciled"), "info is below telemetry.log_level = warn: {out}");
    assert!(!out.trim_start().starts_with('{'), "text, not JSON: {out}");
}
