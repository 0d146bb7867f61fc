//! Received bodies that are not UTF-8 (or too large: they are cut first, see `limit`).
//!
//! The crate reads a received body with `collect_string`, which fails on invalid UTF-8 *after* the
//! service has locked the message, and the lock URI is lost with the error. Such a message would come
//! back after every `lockDuration` (each time sending the receive loop into its error backoff) until
//! `MaxDeliveryCount` moves it to the dead-letter queue — one hostile message would slow every other.
//! The transport therefore reads a receive's body first and replaces invalid sequences with U+FFFD:
//! the message is received like any other, and the dispatcher parks it as not being JSON (or, when the
//! bytes sat inside a JSON string, handles an event that contains U+FFFD, as if it had been sent so).

use std::borrow::Cow;

use azure_core_legacy::{BytesStream, Response};

/// `response` with its body cut to `limit` bytes (see `limit`) and made valid UTF-8 (unchanged when
/// it already is).
pub async fn lossy_body(response: Response, limit: usize) -> azure_core_legacy::Result<Response> {
    let announced = super::limit::announced_length(&response);
    let (status, headers, body) = response.deconstruct();
    let (raw, cut) = super::limit::read_at_most(body, limit).await?;
    if cut {
        tracing::warn!(
            kept_bytes = raw.len(),
            announced_bytes = announced,
            "a received message body is larger than fleetgate accepts; it was cut (it is rejected as too large and parked)"
        );
    }
    let stream = match String::from_utf8_lossy(&raw) {
        Cow::Borrowed(_) => BytesStream::new(raw),
        Cow::Owned(text) => {
            tracing::warn!(bytes = raw.len(), "a received message body is not UTF-8; invalid bytes replaced with U+FFFD");
            BytesStream::new(text.into_bytes())
        }
    };
    Ok(Response::new(status, headers, Box::pin(stream)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core_legacy::StatusCode;
    use azure_core_legacy::headers::Headers;

    async fn through(body: Vec<u8>) -> String {
        let response = Response::new(StatusCode::Created, Headers::new(), Box::pin(BytesStream::new(body)));
        lossy_body(response, 1024).await.unwrap().into_body().collect_string().await.unwrap()
    }

    #[tokio::test]
    async fn invalid_bytes_become_replacement_characters() {
        assert_eq!(through(vec![0xff, b'{', 0xc3, 0x28, b'}']).await, "\u{fffd}{\u{fffd}(}");
        assert_eq!(through("{\"ok\": \"✓\"}".as_bytes().to_vec()).await, "{\"ok\": \"✓\"}", "valid UTF-8 is untouched");
        assert_eq!(through(Vec::new()).await, "");
    }
}
