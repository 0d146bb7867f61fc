//! The scripted ARM server the ARM client tests run against: answers `METHOD /path` from queues of
//! replies (the last one repeats), records every request, and can stream a large body without
//! `Content-Length`.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use fleetgate::arm::ArmClient;
use fleetgate::config::AzureSettings;
use serde_json::Value;

pub const CLUSTER: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1";
pub const API: &str = fleetgate::core::api_versions::DEFAULT_MANAGED_CLUSTERS;

/// One scripted answer.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    /// This many bytes of spaces before `body`, streamed in chunks without `Content-Length`.
    pub streamed: Option<u64>,
}

pub fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: if body.is_null() { String::new() } else { body.to_string() },
        delay: Duration::ZERO,
        streamed: None,
    }
}

impl Reply {
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One request the server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

/// A server answering `METHOD /path` from queues; the last reply of a queue repeats.
#[derive(Default)]
pub struct Script {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    /// Bytes of streamed bodies actually written to the socket.
    pub streamed_bytes: std::sync::atomic::AtomicU64,
}

pub struct Server {
    pub base: String,
    pub script: Arc<Script>,
}

impl Server {
    pub async fn start() -> Self {
        let script = Arc::new(Script::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, script }
    }

    pub fn on(&self, method: &str, path: &str, replies: Vec<Reply>) {
        self.script.routes.lock().unwrap().insert(format!("{method} {path}"), replies.into());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.script.seen.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.seen().iter().filter(|s| s.method == method && s.path == path).count()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub async fn handle(State(script): State<Arc<Script>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    script.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
        at: Instant::now(),
    });
    let next = {
        let mut routes = script.routes.lock().unwrap();
        routes.get_mut(&format!("{method} {path}")).and_then(|q| if q.len() > 1 { q.pop_front() } else { q.front().cloned() })
    };
    let Some(r) = next else {
        return (StatusCode::NOT_FOUND, r#"{"error":{"code":"ResourceNotFound","message":"not scripted"}}"#).into_response();
    };
    tokio::time::sleep(r.delay).await;
    let mut hm = HeaderMap::new();
    for (k, v) in &r.headers {
        hm.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    let status = StatusCode::from_u16(r.status).unwrap();
    match r.streamed {
        None => (status, hm, r.body).into_response(),
        Some(total) => (status, hm, axum::body::Body::from_stream(filler(script, total, r.body))).into_response(),
    }
}

/// `total` bytes of spaces in 64 KiB chunks, then `tail`, counted into `streamed_bytes` as they are
/// handed to the connection.
fn filler(script: Arc<Script>, total: u64, tail: String) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: u64 = 64 * 1024;
    let tail = Some(Bytes::from(tail));
    futures::stream::unfold((0u64, tail), move |(sent, tail)| {
        let script = Arc::clone(&script);
        async move {
            if sent >= total {
                return tail.filter(|t| !t.is_empty()).map(|t| (Ok(t), (sent, None)));
            }
            let n = CHUNK.min(total - sent);
            script.streamed_bytes.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            Some((Ok(Bytes::from(vec![b' '; n as usize])), (sent + n, tail)))
        }
    })
}

#[derive(Debug)]
pub struct FakeCredential;

#[async_trait::async_trait]
impl TokenCredential for FakeCredential {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        assert_eq!(scopes, ["https://management.azure.com/.default"], "loopback endpoints use the public ARM scope");
        Ok(AccessToken::new("fake-arm-token", time::OffsetDateTime::now_utc() + time::Duration::hours(1)))
    }
}

pub fn settings(base: &str) -> AzureSettings {
    let mut s = fleetgate::config::load(&fleetgate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap().azure;
    s.resource_manager_endpoint = base.to_string();
    s.request_timeout = Duration::from_secs(5);
    s.operation_timeout = Duration::from_secs(30);
    s.retry.max_attempts = 4;
    s.retry.initial_backoff = Duration::from_millis(10);
    s.retry.max_backoff = Duration::from_millis(40);
    s.retry.principal_not_found_window = Duration::from_millis(400);
    s
}

pub fn client(server: &Server) -> ArmClient {
    client_with(&settings(&server.base))
}

/// The one subscription the scripted clients may send requests into.
pub const SUB1: &str = "00000000-0000-0000-0000-000000000001";

pub fn client_with(s: &AzureSettings) -> ArmClient {
    ArmClient::new(s, &[SUB1.to_string()], Arc::new(FakeCredential)).unwrap()
}

pub fn gap(a: &Seen, b: &Seen) -> Duration {
    b.at.duration_since(a.at)
}
