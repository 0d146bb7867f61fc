//! A loopback OTLP http/protobuf collector for tests: records every `POST /v1/traces` and `/v1/metrics`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::routing::post;

/// One export request as received.
#[derive(Debug, Clone)]
pub struct Export {
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Export {
    /// Protobuf strings are stored verbatim, so names and attribute values can be found as bytes.
    pub fn contains(&self, needle: &str) -> bool {
        self.body.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

type Received = Arc<Mutex<Vec<Export>>>;

/// A running collector.
pub struct Collector {
    pub addr: SocketAddr,
    received: Received,
}

impl Collector {
    pub async fn start() -> Self {
        let received: Received = Arc::default();
        let app = Router::new().route("/v1/traces", post(record)).route("/v1/metrics", post(record)).with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, received }
    }

    /// The base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received on `path`.
    pub fn received(&self, path: &str) -> Vec<Export> {
        self.received.lock().unwrap().iter().filter(|e| e.path == path).cloned().collect()
    }
}

async fn record(
    State(received): State<Received>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1]) {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    received.lock().unwrap().push(Export { path: uri.path().to_string(), content_type, body: body.to_vec() });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/x-protobuf")])
}
