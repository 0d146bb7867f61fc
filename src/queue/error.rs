//! [`QueueError`]: what went wrong talking to a Service Bus queue, and the mapping from the crate's
//! errors and statuses. Details come from the service's error body or the transport and never carry
//! tokens, keys or signatures (those live only in request headers, which are never rendered).

use azure_core_legacy::error::ErrorKind;

/// A failed queue operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// 401/403.
    #[error(
        "Service Bus queue '{queue}': {operation} was refused with HTTP {status}: {detail}. Check queue.auth: with \"sas\" the key name and key, with \"entra\" that the identity has the Azure Service Bus Data Receiver and Data Sender roles on the namespace"
    )]
    Unauthorized {
        /// Queue (entity path).
        queue: String,
        /// What was attempted.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The service's detail.
        detail: String,
    },
    /// 410 (or 404 on the entity itself).
    #[error("Service Bus queue '{queue}' does not exist (HTTP {status} on {operation}); create it or fix queue.namespace / queue.name")]
    NotFound {
        /// Queue.
        queue: String,
        /// What was attempted.
        operation: &'static str,
        /// HTTP status.
        status: u16,
    },
    /// 404 on a lock URI: the lock expired or the message was already settled.
    #[error(
        "Service Bus queue '{queue}': the lock on message {message_id} is lost ({operation}); the message will be delivered again. Renew locks more often than queue lockDuration"
    )]
    LockLost {
        /// Queue.
        queue: String,
        /// The message.
        message_id: String,
        /// What was attempted.
        operation: &'static str,
    },
    /// A received message whose `BrokerProperties` could not be read; see `ServiceBusQueue::receive`.
    #[error(
        "Service Bus queue '{queue}': a received message has unreadable BrokerProperties ({detail}); it stays locked until its lock expires, is then delivered again, and moves to the dead-letter queue after MaxDeliveryCount"
    )]
    MalformedMessage {
        /// Queue.
        queue: String,
        /// What could not be read.
        detail: String,
    },
    /// No Entra token.
    #[error("Service Bus queue '{queue}': {operation}: {detail}")]
    Credential {
        /// Queue.
        queue: String,
        /// What was attempted.
        operation: &'static str,
        /// Why (from the credential).
        detail: String,
    },
    /// Any other HTTP status (429 and 5xx are transient).
    #[error("Service Bus queue '{queue}': {operation} answered HTTP {status}: {detail}")]
    Http {
        /// Queue.
        queue: String,
        /// What was attempted.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The service's detail.
        detail: String,
    },
    /// Connection, timeout or transport refusal.
    #[error("Service Bus queue '{queue}': {operation} failed: {detail}. Check queue.endpoint and the network")]
    Transport {
        /// Queue.
        queue: String,
        /// What was attempted.
        operation: &'static str,
        /// The transport's message.
        detail: String,
    },
}

impl QueueError {
    /// True for failures worth retrying with backoff (throttling, 5xx, network).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Transport { .. } | Self::Credential { .. } => true,
            _ => false,
        }
    }

    /// The error for an unexpected `status` with response `body`.
    pub(super) fn from_status(queue: &str, operation: &'static str, status: u16, body: &str) -> Self {
        let queue = queue.to_string();
        match status {
            401 | 403 => Self::Unauthorized { queue, operation, status, detail: detail_of(body) },
            404 | 410 => Self::NotFound { queue, operation, status },
            _ => Self::Http { queue, operation, status, detail: detail_of(body) },
        }
    }

    /// Maps a crate error from a lock operation (complete/abandon/renew) on `message_id`.
    pub(super) fn from_lock_op(queue: &str, message_id: &str, operation: &'static str, e: azure_core_legacy::Error) -> Self {
        match e.kind() {
            ErrorKind::HttpResponse { status, .. } if u16::from(*status) == 404 => {
                Self::LockLost { queue: queue.to_string(), message_id: message_id.to_string(), operation }
            }
            _ => Self::from_crate(queue, operation, e),
        }
    }

    /// Maps any crate error.
    pub(super) fn from_crate(queue: &str, operation: &'static str, e: azure_core_legacy::Error) -> Self {
        match e.kind() {
            ErrorKind::HttpResponse { status, error_code } => {
                Self::from_status(queue, operation, u16::from(*status), error_code.as_deref().unwrap_or("no detail"))
            }
            ErrorKind::Credential => Self::Credential { queue: queue.to_string(), operation, detail: chain(&e) },
            _ => Self::Transport { queue: queue.to_string(), operation, detail: chain(&e) },
        }
    }
}

/// The error and its sources, joined.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// The `<Detail>` of the service's XML error body (else the body), trimmed to 300 characters.
pub(super) fn detail_of(body: &str) -> String {
    let inner = body.split_once("<Detail>").and_then(|(_, rest)| rest.split_once("</Detail>")).map_or(body, |(d, _)| d);
    let text = inner.trim();
    if text.is_empty() {
        return "no detail".into();
    }
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_actionable_errors() {
        let body = "<Error><Code>401</Code><Detail>ExpiredToken: The token is expired.</Detail></Error>";
        let e = QueueError::from_status("q", "receive", 401, body);
        assert_eq!(
            e,
            QueueError::Unauthorized {
                queue: "q".into(),
                operation: "receive",
                status: 401,
                detail: "ExpiredToken: The token is expired.".into()
            }
        );
        assert!(e.to_string().contains("queue.auth") && !e.is_transient());
        assert!(matches!(QueueError::from_status("q", "send", 410, ""), QueueError::NotFound { status: 410, .. }));
        assert!(QueueError::from_status("q", "send", 503, "busy").is_transient());
        assert!(!QueueError::from_status("q", "send", 400, "bad").is_transient());
        assert_eq!(detail_of(""), "no detail");
        assert_eq!(detail_of(&"x".repeat(400)).len(), 300);
    }

    #[test]
    fn a_404_on_a_lock_is_a_lost_lock() {
        let status = azure_core_legacy::StatusCode::NotFound;
        let e = QueueError::from_lock_op("q", "m1", "complete", ErrorKind::http_response(status, None).into_error());
        assert_eq!(e, QueueError::LockLost { queue: "q".into(), message_id: "m1".into(), operation: "complete" });
    }
}
