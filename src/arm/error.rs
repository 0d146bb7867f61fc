//! [`ArmError`]: every failure of an ARM call, carrying the method, the resource, the status, the ARM
//! error code and message, its [`Disposition`] and a hint of what to do. Tokens never appear in it.

use std::fmt;
use std::time::Duration;

use super::classify::{Disposition, TRANSPORT};
use super::hints::hint;

/// Which request an error belongs to: method and resource path (no query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `GET`, `PUT`, `DELETE`, `POST`.
    pub method: &'static str,
    /// The ARM path, e.g. `/subscriptions/…/managedClusters/c1`.
    pub resource: String,
}

impl Call {
    /// A call description.
    pub fn new(method: &'static str, resource: impl Into<String>) -> Self {
        Self { method, resource: resource.into() }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.resource)
    }
}

/// An error status from ARM (or the final status of a failed long-running operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The request.
    pub call: Call,
    /// HTTP status; for a failed long-running operation, the status of the request that started it.
    pub status: u16,
    /// ARM error code, when the body had one.
    pub code: Option<String>,
    /// ARM error message (truncated), or a placeholder.
    pub message: String,
    /// What to do about it.
    pub disposition: Disposition,
    /// For a long-running operation: its terminal status (`Failed`, `Canceled`).
    pub operation_status: Option<String>,
    /// HTTP attempts made before giving up.
    pub attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.operation_status {
            Some(s) => write!(f, "{}: the long-running operation ended {s}", self.call)?,
            None => write!(f, "{} failed with HTTP {}", self.call, self.status)?,
        }
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}. {}", self.message, hint(self.status, self.code.as_deref(), &self.call.resource))
    }
}

/// Which deadline fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// One HTTP request (`azure.request_timeout`).
    Request,
    /// The whole operation including retries and polling (`azure.operation_timeout`).
    Operation,
}

/// Every failure of the ARM client.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM answered with an error status, or a long-running operation ended `Failed`/`Canceled`.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request did not get an HTTP answer (DNS, connect, reset, TLS).
    #[error("{call}: could not reach Azure Resource Manager ({message}); check network access and proxy settings for the endpoint")]
    Transport {
        /// The request.
        call: Call,
        /// The transport error, without URL query or headers.
        message: String,
    },
    /// A deadline fired.
    #[error("{call}: {} after {after:?}; {}", timeout_what(*.kind), timeout_fix(*.kind))]
    Timeout {
        /// The request.
        call: Call,
        /// Which deadline.
        kind: TimeoutKind,
        /// Its length.
        after: Duration,
    },
    /// No access token could be obtained.
    #[error(
        "{call}: could not get an Azure access token for {scope}: {message}. Check azure.credential, the tenant and client IDs and that the identity exists"
    )]
    Credential {
        /// The request that needed the token.
        call: Call,
        /// The token scope.
        scope: String,
        /// The credential's error text (never the token or a secret).
        message: String,
    },
    /// A success response whose body is not the JSON expected.
    #[error(
        "{call}: HTTP {status} response is not the expected ARM JSON ({message}); check that azure.resource_manager_endpoint points at ARM"
    )]
    Decode {
        /// The request.
        call: Call,
        /// HTTP status of the response.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// A `nextLink` or operation URL pointing somewhere other than the configured endpoint.
    #[error(
        "{call}: refusing to follow {url}: it is not on {expected} (azure.resource_manager_endpoint); the bearer token is only sent there"
    )]
    ForeignUrl {
        /// The request whose response carried the URL.
        call: Call,
        /// The refused URL (scheme, host and path only).
        url: String,
        /// The configured endpoint's origin.
        expected: String,
    },
    /// A request (built or taken from a response) that would leave `scope.subscriptions`.
    #[error(
        "{call}: refusing to send a request to {url}: {reason}; fleetgate sends requests only inside scope.subscriptions (and to Resource Graph)"
    )]
    OutOfScope {
        /// The request, or the request whose response carried the URL.
        call: Call,
        /// The refused URL (scheme, host and path only).
        url: String,
        /// Why it is out of scope.
        reason: String,
    },
    /// A response body larger than `azure.max_response_bytes` (announced or while streaming).
    #[error(
        "{call}: the response from {url} is larger than {limit} bytes (azure.max_response_bytes); it was not read further. Check that azure.resource_manager_endpoint points at ARM, or raise the limit if such answers are expected"
    )]
    ResponseTooLarge {
        /// The request.
        call: Call,
        /// The URL read (scheme, host and path only).
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A request path that is not a plain ARM path.
    #[error("invalid ARM request path {path:?}: {reason}; pass a path like /subscriptions/<id>/resourceGroups/<rg>/providers/…")]
    InvalidPath {
        /// The path given.
        path: String,
        /// What rule it broke.
        reason: &'static str,
    },
    /// The client could not be built from the settings.
    #[error("ARM client setup failed: {0}")]
    Setup(String),
}

fn timeout_what(kind: TimeoutKind) -> &'static str {
    match kind {
        TimeoutKind::Request => "no response",
        TimeoutKind::Operation => "operation did not finish (retries and polling included)",
    }
}

fn timeout_fix(kind: TimeoutKind) -> &'static str {
    match kind {
        TimeoutKind::Request => "retried automatically; raise azure.request_timeout if ARM is consistently slow",
        TimeoutKind::Operation => "it is retried later; raise azure.operation_timeout if long operations are expected",
    }
}

impl ArmError {
    /// An API error from a status and parsed body, classified by the table.
    pub fn api(call: Call, status: u16, code: Option<String>, message: Option<String>, retry_after: Option<Duration>) -> Self {
        let disposition = super::classify::classify(status, code.as_deref()).with_retry_after(retry_after);
        let message = message.unwrap_or_else(|| "no error message in the response".into());
        ArmError::Api(Box::new(ApiError { call, status, code, message, disposition, operation_status: None, attempts: 1 }))
    }

    /// What to do about this error (see [`Disposition`]). Transport errors and per-request timeouts are
    /// retryable; an expired operation deadline and credential failures are `Slow` (retry the whole
    /// operation later); decode, URL, scope, size and setup errors are fatal.
    pub fn disposition(&self) -> Disposition {
        match self {
            ArmError::Api(e) => e.disposition,
            ArmError::Transport { .. } => TRANSPORT,
            ArmError::Timeout { kind: TimeoutKind::Request, .. } => TRANSPORT,
            ArmError::Timeout { kind: TimeoutKind::Operation, .. } | ArmError::Credential { .. } => Disposition::Slow,
            ArmError::Decode { .. }
            | ArmError::ForeignUrl { .. }
            | ArmError::OutOfScope { .. }
            | ArmError::ResponseTooLarge { .. }
            | ArmError::InvalidPath { .. }
            | ArmError::Setup(_) => Disposition::Fatal,
        }
    }

    /// True when retrying soon may succeed (`Retryable` or `RetryAfter`).
    pub fn is_retryable(&self) -> bool {
        matches!(self.disposition(), Disposition::Retryable | Disposition::RetryAfter(_))
    }

    /// The server's `Retry-After`, when it sent one on a retryable error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.disposition() {
            Disposition::RetryAfter(d) => Some(d),
            _ => None,
        }
    }

    /// The ARM error code, if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, if a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            ArmError::Api(e) => Some(e.status),
            ArmError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// HTTP attempts made before this error was returned (1 when no response was involved).
    pub fn attempts(&self) -> u32 {
        match self {
            ArmError::Api(e) => e.attempts,
            _ => 1,
        }
    }

    /// The request this error belongs to.
    pub fn call(&self) -> Option<&Call> {
        match self {
            ArmError::Api(e) => Some(&e.call),
            ArmError::Transport { call, .. }
            | ArmError::Timeout { call, .. }
            | ArmError::Credential { call, .. }
            | ArmError::Decode { call, .. }
            | ArmError::ForeignUrl { call, .. }
            | ArmError::OutOfScope { call, .. }
            | ArmError::ResponseTooLarge { call, .. } => Some(call),
            ArmError::InvalidPath { .. } | ArmError::Setup(_) => None,
        }
    }

    /// A low-cardinality label for metrics (`arm_errors_total{reason=…}`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            ArmError::Api(e) if e.operation_status.is_some() => "operation_failed",
            ArmError::Api(e) => api_label(e.status, e.code.as_deref(), e.disposition),
            ArmError::Transport { .. } => "transport",
            ArmError::Timeout { kind: TimeoutKind::Request, .. } => "request_timeout",
            ArmError::Timeout { kind: TimeoutKind::Operation, .. } => "operation_timeout",
            ArmError::Credential { .. } => "credential",
            ArmError::Decode { .. } => "decode",
            ArmError::ForeignUrl { .. } => "foreign_url",
            ArmError::OutOfScope { .. } => "out_of_scope",
            ArmError::ResponseTooLarge { .. } => "response_too_large",
            ArmError::InvalidPath { .. } => "invalid_path",
            ArmError::Setup(_) => "setup",
        }
    }
}

fn api_label(status: u16, code: Option<&str>, disposition: Disposition) -> &'static str {
    let is = |c: &str| code.is_some_and(|x| x.eq_ignore_ascii_case(c));
    match disposition {
        Disposition::WaitForTerminalState => return "operation_in_progress",
        Disposition::Replan => return "precondition_failed",
        Disposition::ReplicationDelay => return "principal_not_found",
        Disposition::Slow => return "scope_locked",
        _ => {}
    }
    match status {
        429 => "throttled",
        500..=599 => "server_error",
        _ if is("AuthorizationFailed") => "authorization_failed",
        _ if is("RequestDisallowedByPolicy") => "policy_denied",
        401 => "unauthenticated",
        404 => "not_found",
        409 => "conflict",
        _ => "invalid_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, retry_after: Option<u64>) -> ArmError {
        ArmError::api(
            Call::new("PUT", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X/y/z"),
            status,
            code.map(str::to_string),
            Some("the message".into()),
            retry_after.map(Duration::from_secs),
        )
    }

    #[test]
    fn api_error_names_call_status_code_and_hint() {
        let e = api(403, Some("AuthorizationFailed"), None);
        let text = e.to_string();
        assert!(
            text.starts_with("PUT /subscriptions/s/resourceGroups/rg/providers/Microsoft.X/y/z failed with HTTP 403 (AuthorizationFailed)"),
            "{text}"
        );
        assert!(text.contains("the message"), "{text}");
        assert!(text.contains("Grant fleetgate's identity the missing permission"), "{text}");
        assert_eq!(e.disposition(), Disposition::Fatal);
        assert_eq!(e.metric_label(), "authorization_failed");
        assert_eq!(e.code(), Some("AuthorizationFailed"));
        assert_eq!(e.status(), Some(403));
        assert!(!e.is_retryable());
    }

    #[test]
    fn retry_after_is_exposed_for_retryable_errors() {
        let e = api(429, None, Some(3));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
        assert_eq!(e.metric_label(), "throttled");
        assert_eq!(api(503, None, None).retry_after(), None);
        assert!(api(503, None, None).is_retryable());
        assert_eq!(api(503, None, None).metric_label(), "server_error");
    }

    #[test]
    fn labels_follow_the_disposition() {
        assert_eq!(api(409, Some("OperationNotAllowed"), None).metric_label(), "operation_in_progress");
        assert_eq!(api(412, None, None).metric_label(), "precondition_failed");
        assert_eq!(api(400, Some("PrincipalNotFound"), None).metric_label(), "principal_not_found");
        assert_eq!(api(409, Some("ScopeLocked"), None).metric_label(), "scope_locked");
        assert_eq!(api(403, Some("RequestDisallowedByPolicy"), None).metric_label(), "policy_denied");
        assert_eq!(api(404, None, None).metric_label(), "not_found");
        assert_eq!(api(400, Some("InvalidParameter"), None).metric_label(), "invalid_request");
    }

    #[test]
    fn non_api_dispositions() {
        let call = Call::new("GET", "/subscriptions/s");
        let t = ArmError::Transport { call: call.clone(), message: "connection refused".into() };
        assert!(t.is_retryable());
        let rt = ArmError::Timeout { call: call.clone(), kind: TimeoutKind::Request, after: Duration::from_secs(1) };
        assert!(rt.is_retryable());
        assert!(rt.to_string().contains("azure.request_timeout"));
        let ot = ArmError::Timeout { call: call.clone(), kind: TimeoutKind::Operation, after: Duration::from_secs(1) };
        assert_eq!(ot.disposition(), Disposition::Slow);
        let c = ArmError::Credential { call: call.clone(), scope: "https://management.azure.com/.default".into(), message: "x".into() };
        assert_eq!(c.disposition(), Disposition::Slow);
        assert_eq!(c.metric_label(), "credential");
        let d = ArmError::Decode { call, status: 200, message: "not JSON".into() };
        assert_eq!(d.disposition(), Disposition::Fatal);
        assert_eq!(d.status(), Some(200));
    }
}
