//! The one error classifier table (the Azure Service Operator idea): every ARM outcome that is not a
//! success is mapped, by HTTP status and error `code`, to what the caller should do about it.
//!
//! The table is `RULES`, read top to bottom; the first matching row wins. Rows that name a code match
//! it case-insensitively. Fallbacks by status class follow the named rows.

use std::time::Duration;

/// What to do about a failed ARM call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: retry with exponential backoff (429, 5xx, connection errors, timeouts).
    Retryable,
    /// Transient, and the server said when: retry after exactly this long.
    RetryAfter(Duration),
    /// Will not clear soon (e.g. a resource lock): retry much later, outside this operation.
    Slow,
    /// Another operation is running on the resource: wait for its terminal `provisioningState`,
    /// re-GET and re-plan.
    WaitForTerminalState,
    /// The resource changed under us (412): re-GET and re-plan.
    Replan,
    /// A principal created moments ago is not yet visible everywhere: retry within
    /// `azure.retry.principal_not_found_window`.
    ReplicationDelay,
    /// Retrying will not help; a person must act (the error says what to do).
    Fatal,
}

impl Disposition {
    /// True for outcomes the client retries on its own (`Retryable`, `RetryAfter`, `ReplicationDelay`).
    pub fn is_retried_in_client(self) -> bool {
        matches!(self, Disposition::Retryable | Disposition::RetryAfter(_) | Disposition::ReplicationDelay)
    }

    /// Upgrades `Retryable` to `RetryAfter(d)` when the server sent a `Retry-After`; other dispositions
    /// are unchanged (a hint on a fatal error does not make it retryable).
    pub fn with_retry_after(self, retry_after: Option<Duration>) -> Self {
        match (self, retry_after) {
            (Disposition::Retryable, Some(d)) => Disposition::RetryAfter(d),
            (d, _) => d,
        }
    }
}

/// Which statuses a row applies to.
#[derive(Debug, Clone, Copy)]
enum Status {
    /// Exactly this status.
    Is(u16),
    /// Any status (the code decides).
    Any,
    /// Any status in `lo..=hi`.
    Range(u16, u16),
}

/// One row: status, optional code, disposition.
type Rule = (Status, Option<&'static str>, Disposition);

use Disposition::*;

/// The table. Named codes first, then status-class fallbacks.
const RULES: &[Rule] = &[
    // Another operation is in progress on the resource (AKS): wait, re-GET, re-plan.
    (Status::Is(409), Some("OperationNotAllowed"), WaitForTerminalState),
    (Status::Is(409), Some("EtagMismatch"), WaitForTerminalState),
    (Status::Is(409), Some("AnotherOperationInProgress"), WaitForTerminalState),
    // FIC writes on one identity must be serialized; a concurrent writer clears quickly.
    (Status::Is(409), Some("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"), Retryable),
    // A new identity's principal is not replicated yet.
    (Status::Is(400), Some("PrincipalNotFound"), ReplicationDelay),
    // A resource lock: someone must remove it; retrying soon is pointless.
    (Status::Any, Some("ScopeLocked"), Slow),
    // Permanent until a person acts.
    (Status::Any, Some("AuthorizationFailed"), Fatal),
    (Status::Any, Some("RequestDisallowedByPolicy"), Fatal),
    (Status::Any, Some("InvalidParameter"), Fatal),
    // Status-class fallbacks.
    (Status::Is(412), None, Replan),
    (Status::Is(408), None, Retryable),
    (Status::Is(429), None, Retryable),
    (Status::Range(500, 599), None, Retryable),
    (Status::Range(400, 499), None, Fatal),
];

/// Classifies an ARM error response by HTTP status and error code.
pub fn classify(status: u16, code: Option<&str>) -> Disposition {
    RULES.iter().find(|(s, c, _)| status_matches(*s, status) && code_matches(*c, code)).map(|(_, _, d)| *d).unwrap_or(Fatal)
}

/// Classifies by error code alone, for failures that carry no HTTP status of their own (a long-running
/// operation that ended `Failed`). Only rows that name a code apply; anything else is `Fatal`.
pub fn classify_code(code: Option<&str>) -> Disposition {
    RULES.iter().find(|(_, c, _)| c.is_some() && code_matches(*c, code)).map(|(_, _, d)| *d).unwrap_or(Fatal)
}

/// Disposition of a transport failure (connection refused/reset, per-request timeout): retryable.
pub const TRANSPORT: Disposition = Retryable;

fn status_matches(rule: Status, status: u16) -> bool {
    match rule {
        Status::Is(s) => s == status,
        Status::Any => true,
        Status::Range(lo, hi) => (lo..=hi).contains(&status),
    }
}

fn code_matches(rule: Option<&str>, code: Option<&str>) -> bool {
    match (rule, code) {
        (None, _) => true,
        (Some(r), Some(c)) => r.eq_ignore_ascii_case(c),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable() {
        assert_eq!(classify(429, None), Retryable);
        assert_eq!(classify(429, Some("RetryableErrorDueToAnotherOperation")), Retryable);
        assert_eq!(classify(500, Some("InternalServerError")), Retryable);
        assert_eq!(classify(502, None), Retryable);
        assert_eq!(classify(503, Some("ServiceUnavailable")), Retryable);
        assert_eq!(classify(504, None), Retryable);
        assert_eq!(classify(408, None), Retryable);
        assert_eq!(TRANSPORT, Retryable);
    }

    #[test]
    fn retry_after_upgrades_only_retryable() {
        let d = Duration::from_secs(7);
        assert_eq!(classify(429, None).with_retry_after(Some(d)), RetryAfter(d));
        assert_eq!(classify(503, None).with_retry_after(Some(d)), RetryAfter(d));
        assert_eq!(classify(429, None).with_retry_after(None), Retryable);
        assert_eq!(classify(403, Some("AuthorizationFailed")).with_retry_after(Some(d)), Fatal);
        assert_eq!(classify(412, None).with_retry_after(Some(d)), Replan);
    }

    #[test]
    fn conflicting_operation_waits_for_terminal_state() {
        assert_eq!(classify(409, Some("OperationNotAllowed")), WaitForTerminalState);
        assert_eq!(classify(409, Some("EtagMismatch")), WaitForTerminalState);
        assert_eq!(classify(409, Some("AnotherOperationInProgress")), WaitForTerminalState);
        assert_eq!(classify(409, Some("operationnotallowed")), WaitForTerminalState, "codes compare case-insensitively");
    }

    #[test]
    fn precondition_failed_replans() {
        assert_eq!(classify(412, None), Replan);
        assert_eq!(classify(412, Some("PreconditionFailed")), Replan);
    }

    #[test]
    fn principal_not_found_is_replication_delay() {
        assert_eq!(classify(400, Some("PrincipalNotFound")), ReplicationDelay);
        assert!(ReplicationDelay.is_retried_in_client());
    }

    #[test]
    fn concurrent_fic_write_is_retryable() {
        assert_eq!(classify(409, Some("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity")), Retryable);
    }

    #[test]
    fn scope_locked_is_slow() {
        assert_eq!(classify(409, Some("ScopeLocked")), Slow);
        assert_eq!(classify(400, Some("ScopeLocked")), Slow);
        assert!(!Slow.is_retried_in_client());
    }

    #[test]
    fn permission_policy_and_bad_requests_are_fatal() {
        assert_eq!(classify(403, Some("AuthorizationFailed")), Fatal);
        assert_eq!(classify(403, Some("RequestDisallowedByPolicy")), Fatal);
        assert_eq!(classify(400, Some("InvalidParameter")), Fatal);
        assert_eq!(classify(400, Some("BadRequest")), Fatal);
        assert_eq!(classify(400, None), Fatal);
        assert_eq!(classify(401, Some("InvalidAuthenticationToken")), Fatal);
        assert_eq!(classify(404, Some("ResourceNotFound")), Fatal);
        assert_eq!(classify(409, Some("RoleAssignmentExists")), Fatal, "callers treat it as success, the client does not retry it");
        assert_eq!(classify(409, None), Fatal);
        assert!(!Fatal.is_retried_in_client());
    }

    #[test]
    fn codes_only_apply_with_their_status() {
        assert_eq!(classify(500, Some("PrincipalNotFound")), Retryable);
        assert_eq!(classify(400, Some("OperationNotAllowed")), Fatal);
    }

    #[test]
    fn unexpected_statuses_are_fatal() {
        assert_eq!(classify(302, None), Fatal);
        assert_eq!(classify(0, None), Fatal);
    }

    #[test]
    fn lro_failures_classify_by_code_alone() {
        assert_eq!(classify_code(Some("OperationNotAllowed")), WaitForTerminalState);
        assert_eq!(classify_code(Some("PrincipalNotFound")), ReplicationDelay);
        assert_eq!(classify_code(Some("ScopeLocked")), Slow);
        assert_eq!(classify_code(Some("InternalServerError")), Fatal);
        assert_eq!(classify_code(None), Fatal);
    }
}
