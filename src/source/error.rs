//! [`SourceError`]: what went wrong receiving or settling a message.

use crate::queue::QueueError;

/// A failed source operation. Messages never contain keys or tokens.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source cannot be set up from the configuration.
    #[error("{0}")]
    Setup(String),
    /// A Service Bus operation failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Parking failed; the message was abandoned instead (or even that failed).
    #[error(
        "could not park message {message_id} in Service Bus queue '{poison_queue}' ({source}); the message was {fallback} and will be delivered again. Check that the poison queue exists and that fleetgate may send to it"
    )]
    Park {
        /// The poison queue.
        poison_queue: String,
        /// The message.
        message_id: String,
        /// What happened to the message instead ("abandoned", or why even that failed).
        fallback: String,
        /// The send error.
        source: Box<QueueError>,
    },
    /// Sending a deferral's scheduled re-check failed; the message was abandoned instead (or even that
    /// failed) and is handled again when delivered again.
    #[error(
        "could not schedule the re-check of message {message_id} in Service Bus queue '{queue}' ({source}); the message was {fallback} and will be delivered again. Check that fleetgate may send to its own queue"
    )]
    Schedule {
        /// The queue.
        queue: String,
        /// The message.
        message_id: String,
        /// What happened to the message instead.
        fallback: String,
        /// The send error.
        source: Box<QueueError>,
    },
    /// The source has no queue to schedule re-checks on (a replay file): a bug, the engine must wait there.
    #[error("{0} cannot schedule re-checks; run the worker with --source servicebus, or this is a bug — please report it")]
    CannotSchedule(String),
    /// Reading a replay file failed.
    #[error("cannot read {what}: {source}; check the path and permissions")]
    Io {
        /// The file (or "stdin").
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl SourceError {
    /// True when the source cannot continue (the worker stops): replay-file read errors and setup errors.
    /// Queue errors are retried with backoff.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Setup(_))
    }

    /// True when a received message could not be read (unreadable `BrokerProperties`); it is redelivered
    /// when its lock expires, so the receive loop simply continues.
    pub fn is_malformed_message(&self) -> bool {
        matches!(self, Self::Queue(QueueError::MalformedMessage { .. }))
    }

    /// True when a settle operation failed because the lock is gone.
    pub fn is_lock_lost(&self) -> bool {
        matches!(self, Self::Queue(QueueError::LockLost { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let malformed = SourceError::Queue(QueueError::MalformedMessage { queue: "q".into(), detail: "x".into() });
        assert!(malformed.is_malformed_message() && !malformed.is_fatal());
        let lost = SourceError::Queue(QueueError::LockLost { queue: "q".into(), message_id: "m".into(), operation: "renew lock" });
        assert!(lost.is_lock_lost() && !lost.is_fatal());
        let io = SourceError::Io { what: "file 'x'".into(), source: std::io::Error::other("boom") };
        assert!(io.is_fatal());
        assert!(io.to_string().contains("file 'x'"));
    }
}
