//! The HTTP client every Entra credential sends through (token endpoints, managed identity): a reqwest
//! client that never follows a redirect, wrapped in [`BoundedClient`], which refuses a response body
//! larger than [`MAX_TOKEN_RESPONSE_BYTES`] — announced by `Content-Length` or found while streaming —
//! so a hostile or broken token endpoint cannot make fleetgate buffer an unbounded body (azure_identity
//! collects it whole).

use std::sync::Arc;
use std::time::Duration;

use azure_core::error::{Error, ErrorKind};
use azure_core::http::{AsyncRawResponse, HttpClient, Request};
use futures::StreamExt;

/// Largest token-endpoint response read: a token answer is a few kilobytes.
pub const MAX_TOKEN_RESPONSE_BYTES: u64 = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The credentials' client: no redirects, bounded bodies. A body over the limit is an error of kind
/// `Other`, which azure_core's retry policy does not retry.
pub fn credential_http_client() -> Result<Arc<dyn HttpClient>, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| format!("could not build the credential HTTP client: {e}"))?;
    Ok(Arc::new(BoundedClient::new(Arc::new(client), MAX_TOKEN_RESPONSE_BYTES)))
}

/// Delegates to an inner client and bounds every response body to `limit` bytes.
#[derive(Debug)]
pub struct BoundedClient {
    inner: Arc<dyn HttpClient>,
    limit: u64,
}

impl BoundedClient {
    /// Bounds `inner`'s response bodies to `limit` bytes.
    pub fn new(inner: Arc<dyn HttpClient>, limit: u64) -> Self {
        Self { inner, limit }
    }
}

fn too_large(limit: u64, origin: &str) -> Error {
    Error::with_message_fn(ErrorKind::Other, || format!("refusing a token-endpoint response from {origin} larger than {limit} bytes"))
}

#[async_trait::async_trait]
impl HttpClient for BoundedClient {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let origin = request.url().origin().ascii_serialization();
        let response = self.inner.execute_request(request).await?;
        let limit = self.limit;
        let announced =
            response.headers().get_optional_str(&azure_core::http::headers::CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
        if announced.is_some_and(|n| n > limit) {
            return Err(too_large(limit, &origin));
        }
        let (status, headers, body) = response.deconstruct();
        let mut seen = 0u64;
        let bounded = body.map(move |chunk| {
            let chunk = chunk?;
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > limit { Err(too_large(limit, &origin)) } else { Ok(chunk) }
        });
        Ok(AsyncRawResponse::new(status, headers, Box::pin(bounded)))
    }
}
