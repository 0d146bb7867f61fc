//! Size limits on what Service Bus (or anything answering at `queue.endpoint`) sends back. The crate
//! collects every body into memory, so the transport bounds them first:
//!
//! - a **received message** body is read up to [`MAX_RECEIVED_BODY_BYTES`] and cut there (the rest is
//!   never read). That is four times what the dispatcher accepts, so a cut message is still received
//!   with its lock, rejected as too large and parked with its reason (its `fleetgate-body-truncated`
//!   property then says 4 MiB, a lower bound) instead of costing a lock period per delivery;
//! - **any other** response (send, settle, renew, errors) larger than [`MAX_RESPONSE_BYTES`] — announced
//!   by `Content-Length` or found while streaming — fails the operation.

use azure_core_legacy::error::{Error, ErrorKind};
use azure_core_legacy::headers::HeaderName;
use azure_core_legacy::{Response, ResponseBody};
use futures::StreamExt;

use crate::events::limits::MAX_BODY_BYTES;

/// Largest received message body kept: 4 MiB, four times what the dispatcher accepts (so a cut body is
/// always rejected as too large, and bodies up to 4 MiB are parked with their true length).
pub const MAX_RECEIVED_BODY_BYTES: usize = 4 * MAX_BODY_BYTES;
/// Largest body of any other Service Bus response (they are empty or a short error document).
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// The `Content-Length` a response announces, if any.
pub fn announced_length(response: &Response) -> Option<u64> {
    response.headers().get_optional_str(&HeaderName::from_static("content-length")).and_then(|v| v.trim().parse().ok())
}

/// Reads at most `limit` bytes of `body`; true in the second field when more was there.
pub async fn read_at_most(mut body: ResponseBody, limit: usize) -> azure_core_legacy::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let room = limit - out.len();
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

/// `response` with a body that fails once more than `limit` bytes came (or at once when
/// `Content-Length` says so).
pub fn capped(response: Response, limit: u64, origin: &str) -> azure_core_legacy::Result<Response> {
    if announced_length(&response).is_some_and(|n| n > limit) {
        return Err(too_large(limit, origin));
    }
    let (status, headers, body) = response.deconstruct();
    let origin = origin.to_string();
    let mut seen = 0u64;
    let stream = body.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit { Err(too_large(limit, &origin)) } else { Ok(chunk) }
    });
    Ok(Response::new(status, headers, Box::pin(stream)))
}

fn too_large(limit: u64, origin: &str) -> Error {
    Error::with_message(ErrorKind::Other, || {
        format!("refusing a Service Bus response from {origin} larger than {limit} bytes; check queue.endpoint")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core_legacy::headers::{HeaderValue, Headers};
    use azure_core_legacy::{BytesStream, StatusCode};

    fn response(body: Vec<u8>, content_length: Option<u64>) -> Response {
        let mut headers = Headers::new();
        if let Some(n) = content_length {
            headers.insert(HeaderName::from_static("content-length"), HeaderValue::from(n.to_string()));
        }
        Response::new(StatusCode::Created, headers, Box::pin(BytesStream::new(body)))
    }

    #[tokio::test]
    async fn bodies_within_the_limit_pass_unchanged() {
        let r = capped(response(b"{\"ok\":1}".to_vec(), Some(8)), 8, "http://x").unwrap();
        assert_eq!(r.into_body().collect().await.unwrap().as_ref(), b"{\"ok\":1}");
    }

    #[tokio::test]
    async fn announced_or_streamed_excess_fails() {
        let e = capped(response(vec![b'x'; 10], Some(10)), 9, "http://x").unwrap_err();
        assert!(e.to_string().contains("larger than 9 bytes"), "{e}");
        let r = capped(response(vec![b'x'; 10], None), 9, "http://x").unwrap();
        let e = r.into_body().collect().await.unwrap_err();
        assert!(e.to_string().contains("http://x"), "{e}");
    }

    #[tokio::test]
    async fn received_bodies_are_cut_at_the_limit() {
        let (body, cut) = read_at_most(response(vec![b'y'; 100], None).into_body(), 64).await.unwrap();
        assert_eq!((body.len(), cut), (64, true));
        let (body, cut) = read_at_most(response(vec![b'y'; 64], None).into_body(), 64).await.unwrap();
        assert_eq!((body.len(), cut), (64, false));
    }
}
