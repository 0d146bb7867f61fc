//! A hostile ARM in front of the simulator: a loopback HTTP proxy that forwards every request to the
//! simulator (so its journal still records — and counts per subscription — everything fleetgate sends)
//! and then lets a test tamper with the answer (the simulator has already acted on the request): inject role assignments into a list, point a `nextLink` or
//! an operation header into another subscription on the same host, add absurd quota headers, or serve
//! a body of hundreds of megabytes, produced lazily so the proxy itself stays small.
//!
//! Absolute URLs the simulator puts in its answers (its own origin) are rewritten to the proxy's, so
//! fleetgate, configured with the proxy as its ARM endpoint, sees one consistent host.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The simulator's answer to one request, as the tamper function sees it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The proxy's own base URL (where fleetgate sends its requests).
    pub proxy: String,
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The simulator's status.
    pub status: u16,
    /// The simulator's headers (origin already rewritten).
    pub headers: HeaderMap,
    /// The simulator's body (origin already rewritten).
    pub body: Vec<u8>,
}

/// What the proxy answers.
pub enum Answer {
    /// This status, these headers, this body.
    Replace { status: u16, headers: HeaderMap, body: Vec<u8> },
    /// This status and headers, `prefix`, then `filler` bytes of spaces (no `Content-Length`, streamed).
    Stream { status: u16, headers: HeaderMap, prefix: Vec<u8>, filler: u64 },
}

impl Answer {
    /// The simulator's answer, unchanged.
    pub fn pass(x: &Exchange) -> Self {
        Answer::Replace { status: x.status, headers: x.headers.clone(), body: x.body.clone() }
    }
}

/// Decides the answer to each exchange.
pub type Tamper = Arc<dyn Fn(&Exchange) -> Answer + Send + Sync>;

struct Inner {
    upstream: String,
    http: reqwest::Client,
    tamper: Tamper,
    streamed: AtomicU64,
}

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub base: String,
    inner: Arc<Inner>,
}

impl Proxy {
    /// Starts a proxy in front of `upstream` (the simulator's base URL).
    pub async fn start(upstream: &str, tamper: Tamper) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap();
        let inner = Arc::new(Inner { upstream: upstream.trim_end_matches('/').to_string(), http, tamper, streamed: AtomicU64::new(0) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(forward).with_state((Arc::clone(&inner), base.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, inner }
    }

    /// Filler bytes of streamed answers handed to connections so far.
    pub fn streamed(&self) -> u64 {
        self.inner.streamed.load(Ordering::Relaxed)
    }
}

async fn forward(State((inner, base)): State<(Arc<Inner>, String)>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let url = format!("{}{}{}", inner.upstream, path, if query.is_empty() { String::new() } else { format!("?{query}") });
    let mut req = inner.http.request(reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap(), url);
    for (name, value) in &headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            req = req.header(name.as_str(), value.as_bytes());
        }
    }
    let upstream = match req.body(body.to_vec()).send().await {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("proxy: {e}")).into_response(),
    };
    let status = upstream.status().as_u16();
    let mut out_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if matches!(name.as_str(), "content-length" | "transfer-encoding" | "connection") {
            continue;
        }
        let text = value.to_str().map(|v| v.replace(&inner.upstream, &base)).unwrap_or_default();
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_str(&text)) {
            out_headers.append(n, v);
        }
    }
    let raw = upstream.bytes().await.unwrap_or_default();
    let body = String::from_utf8(raw.to_vec()).map(|t| t.replace(&inner.upstream, &base).into_bytes()).unwrap_or_else(|_| raw.to_vec());
    let exchange = Exchange { proxy: base.clone(), method: method.to_string(), path, status, headers: out_headers, body };
    match (inner.tamper)(&exchange) {
        Answer::Replace { status, headers, body } => (StatusCode::from_u16(status).unwrap(), headers, body).into_response(),
        Answer::Stream { status, headers, prefix, filler } => {
            let stream = streamed(Arc::clone(&inner), prefix, filler);
            (StatusCode::from_u16(status).unwrap(), headers, Body::from_stream(stream)).into_response()
        }
    }
}

/// `prefix`, then `filler` spaces in 256 KiB chunks, counted as they are handed over.
fn streamed(inner: Arc<Inner>, prefix: Vec<u8>, filler: u64) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: u64 = 256 * 1024;
    let chunk = Bytes::from(vec![b' '; CHUNK as usize]);
    futures::stream::unfold((Some(prefix), 0u64), move |(prefix, sent)| {
        let inner = Arc::clone(&inner);
        let chunk = chunk.clone();
        async move {
            if let Some(p) = prefix {
                return Some((Ok(Bytes::from(p)), (None, sent)));
            }
            if sent >= filler {
                return None;
            }
            let n = CHUNK.min(filler - sent);
            inner.streamed.fetch_add(n, Ordering::Relaxed);
            Some((Ok(chunk.slice(..n as usize)), (None, sent + n)))
        }
    })
}

/// Headers with `content-type: application/json` and the given extra pairs.
pub fn json_headers(extra: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        h.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}
