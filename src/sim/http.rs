//! The simulator's request/response values: what the HTTP pipeline (`server.rs`) hands to the resource
//! handlers (`state.rs` and `arm/`), which are plain synchronous functions over the in-memory state.

use serde_json::{Value, json};

/// One incoming request, fully read.
#[derive(Debug, Clone)]
pub struct SimRequest {
    /// HTTP method, upper case (`GET`, `PUT`, …).
    pub method: String,
    /// The raw path, e.g. `/subscriptions/…/providers/…` (not percent-decoded).
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Request headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// `http://127.0.0.1:PORT`, for building absolute URLs (Azure-AsyncOperation, nextLink).
    pub base_url: String,
}

impl SimRequest {
    /// A query parameter by case-insensitive name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or the ARM-shaped 400 a real service would answer.
    pub fn json_body(&self) -> Result<Value, SimResponse> {
        serde_json::from_slice(&self.body).map_err(|e| {
            SimResponse::error(400, "InvalidRequestContent", &format!("The request content was invalid and could not be deserialized: {e}"))
        })
    }

    /// True for GET/HEAD.
    pub fn is_read(&self) -> bool {
        self.method == "GET" || self.method == "HEAD"
    }
}

/// One response, before serialization.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResponse {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl SimResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, headers: Vec::new(), body: Some(body) }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: None }
    }

    /// The ARM error shape `{"error":{"code","message"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!({"error": {"code": code, "message": message}}))
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The error code, when this is an ARM error response.
    pub fn error_code(&self) -> Option<&str> {
        self.body.as_ref()?.pointer("/error/code")?.as_str()
    }
}
