//! [`ArmResponse`]: a successful ARM answer with the headers fleetgate uses.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::error::{ArmError, Call};
use super::headers;

/// A successful (2xx) ARM response.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResponse {
    /// HTTP status (200, 201, 202, 204).
    pub status: u16,
    /// `ETag` header, else the body's `etag`/`eTag` property.
    pub etag: Option<String>,
    /// `Azure-AsyncOperation` header (absolute URL).
    pub azure_async_operation: Option<String>,
    /// `Location` header (absolute URL).
    pub location: Option<String>,
    /// `Retry-After` header, parsed.
    pub retry_after: Option<Duration>,
    /// The JSON body; `Value::Null` when empty.
    pub body: Value,
    /// Method of the request that produced it.
    pub method: &'static str,
    /// The request path (no query), as given to the client.
    pub path: String,
    /// The full request URL including `api-version`, used to re-read the resource after an LRO.
    pub url: String,
    /// HTTP attempts it took (1 = no retry).
    pub attempts: u32,
}

impl ArmResponse {
    /// True when the response starts a long-running operation (202, or an `Azure-AsyncOperation` header,
    /// or a 201 with a `Location`).
    pub fn is_long_running(&self) -> bool {
        self.status == 202 || self.azure_async_operation.is_some() || (self.status == 201 && self.location.is_some())
    }

    /// `properties.provisioningState` of the body, if present.
    pub fn provisioning_state(&self) -> Option<&str> {
        crate::core::model::pointer(&self.body, "/properties/provisioningState").and_then(Value::as_str)
    }

    /// The request this response answers.
    pub fn call(&self) -> Call {
        Call::new(self.method, self.path.clone())
    }

    /// Builds a response from the status, headers and body bytes of a 2xx answer.
    pub(crate) fn from_parts(call: &Call, url: &str, status: u16, headers: &HeaderMap, bytes: &[u8]) -> Result<Self, ArmError> {
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(bytes).map_err(|e| ArmError::Decode {
                call: call.clone(),
                status,
                message: format!("invalid JSON: {e}"),
            })?
        };
        let etag = header(headers, headers::ETAG)
            .or_else(|| body.get("etag").or_else(|| body.get("eTag")).and_then(Value::as_str).map(str::to_string));
        Ok(Self {
            status,
            etag,
            azure_async_operation: header(headers, headers::AZURE_ASYNC_OPERATION),
            location: header(headers, headers::LOCATION),
            retry_after: retry_after(headers),
            body,
            method: call.method,
            path: call.resource.clone(),
            url: url.to_string(),
            attempts: 1,
        })
    }
}

/// A header as text, when present and valid UTF-8.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// The `Retry-After` header, parsed.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, headers::RETRY_AFTER).and_then(|v| headers::parse_retry_after(&v, time::OffsetDateTime::now_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn parts(status: u16, hdrs: &[(&'static str, &str)], body: &str) -> Result<ArmResponse, ArmError> {
        let mut h = HeaderMap::new();
        for (k, v) in hdrs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        ArmResponse::from_parts(
            &Call::new("PUT", "/subscriptions/s"),
            "https://x/subscriptions/s?api-version=1",
            status,
            &h,
            body.as_bytes(),
        )
    }

    #[test]
    fn reads_headers_and_body() {
        let r = parts(
            201,
            &[("etag", "\"abc\""), ("azure-asyncoperation", "https://x/op"), ("retry-after", "2")],
            r#"{"properties":{"provisioningState":"Updating"}}"#,
        )
        .unwrap();
        assert_eq!(r.etag.as_deref(), Some("\"abc\""));
        assert_eq!(r.azure_async_operation.as_deref(), Some("https://x/op"));
        assert_eq!(r.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(r.provisioning_state(), Some("Updating"));
        assert!(r.is_long_running());
        assert_eq!(r.call().to_string(), "PUT /subscriptions/s");
    }

    #[test]
    fn etag_from_body_and_empty_bodies() {
        assert_eq!(parts(200, &[], r#"{"eTag":"e1"}"#).unwrap().etag.as_deref(), Some("e1"));
        assert_eq!(parts(200, &[], r#"{"etag":"e2"}"#).unwrap().etag.as_deref(), Some("e2"));
        let empty = parts(204, &[], "").unwrap();
        assert_eq!(empty.body, Value::Null);
        assert!(!empty.is_long_running());
        assert!(parts(202, &[("location", "https://x/l")], "").unwrap().is_long_running());
    }

    #[test]
    fn garbage_body_is_a_decode_error() {
        let e = parts(200, &[], "<html>").unwrap_err();
        assert!(matches!(e, ArmError::Decode { status: 200, .. }), "{e}");
    }
}
