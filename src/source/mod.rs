//! Where the worker's messages come from: a [`Source`] yields [`Delivery`]s — a body, an id, a
//! delivery count — each with its settle operations (complete, abandon, renew the lock, park).
//!
//! - `servicebus`: [`ServiceBusSource`], peek-lock receive from `[queue]` over
//!   `queue::ServiceBusQueue` (SAS or Microsoft Entra). Park = send the body to the poison queue with the
//!   reason as the `fleetgate-reason` property and the original `MessageId`, then complete; if the send
//!   fails the message is abandoned instead — a message is never completed unless handled or parked.
//!   A deferral sends its scheduled re-check to the same queue first and completes only after that send.
//! - `file`: [`FileSource`], JSON lines from a file or stdin (`-`) for replays and scripting; the id is
//!   the 1-based line number, blank lines are skipped (but counted) and settling does nothing.
//! - `poison`: the parked message (pure).
//! - `error`: [`SourceError`].
//!
//! [`SourceSpec::parse`] reads the `--source` argument (`servicebus` or `file:PATH`).

mod error;
mod file;
mod poison;
mod servicebus;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::defer::Scheduled;

pub use error::SourceError;
pub use file::FileSource;
pub use poison::{BODY_TRUNCATED_PROPERTY, MAX_PARKED_BODY_BYTES, ORIGINAL_MESSAGE_ID_PROPERTY, REASON_PROPERTY, poison_message};
pub use servicebus::{QueueCredential, SAS_KEY_ENV, ServiceBusSource, sas_key_from_env};

/// A message's identity: the line of a replay file, or the broker's `MessageId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MessageId {
    /// 1-based line number in a replay file.
    Line(u64),
    /// Service Bus `MessageId`.
    Broker(String),
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Broker(id) => f.write_str(id),
        }
    }
}

/// What one receive got.
#[derive(Debug)]
pub enum Polled {
    /// A message to handle and settle.
    Message(Delivery),
    /// Nothing arrived within the wait (keep polling).
    Empty,
    /// The source has no more messages (end of a replay file).
    Exhausted,
}

/// A source of messages.
#[async_trait::async_trait]
pub trait Source: Send + Sync + fmt::Debug {
    /// Waits up to `wait` for the next message.
    async fn receive(&self, wait: Duration) -> Result<Polled, SourceError>;

    /// What this source reads, for logs ("Service Bus queue 'x'", "file 'events.jsonl'").
    fn describe(&self) -> String;
}

/// Settle operations of one delivered message.
#[async_trait::async_trait]
pub trait MessageLock: Send + Sync {
    /// Whether the lock expires and must be renewed while the message is worked on.
    fn needs_renewal(&self) -> bool;
    /// Deletes the message (handled).
    async fn complete(&self) -> Result<(), SourceError>;
    /// Releases the message for redelivery.
    async fn abandon(&self) -> Result<(), SourceError>;
    /// Extends the lock.
    async fn renew(&self) -> Result<(), SourceError>;
    /// Parks the message (poison queue) with `reason`, then completes it; abandons it when parking fails.
    async fn park(&self, reason: &str) -> Result<(), SourceError>;
    /// Sends the scheduled re-checks to the source's own queue, then — only after every send
    /// succeeded — completes the message; abandons it when a send fails. Sources without a queue refuse.
    async fn schedule_then_complete(&self, scheduled: &[Scheduled]) -> Result<(), SourceError> {
        let _ = scheduled;
        Err(SourceError::CannotSchedule("this source".into()))
    }
}

/// A received message and its settle operations.
pub struct Delivery {
    /// Its identity.
    pub id: MessageId,
    /// The body (UTF-8 JSON expected; anything else is rejected by the dispatcher).
    pub body: Vec<u8>,
    /// 1 on the first delivery.
    pub delivery_count: u32,
    lock: Box<dyn MessageLock>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("id", &self.id)
            .field("delivery_count", &self.delivery_count)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Delivery {
    /// A delivery settled through `lock`.
    pub fn new(id: MessageId, body: Vec<u8>, delivery_count: u32, lock: Box<dyn MessageLock>) -> Self {
        Self { id, body, delivery_count, lock }
    }

    /// Whether the lock must be renewed while the message is worked on.
    pub fn needs_renewal(&self) -> bool {
        self.lock.needs_renewal()
    }

    /// Completes (deletes) the message.
    pub async fn complete(&self) -> Result<(), SourceError> {
        self.lock.complete().await
    }

    /// Abandons the message (it is delivered again).
    pub async fn abandon(&self) -> Result<(), SourceError> {
        self.lock.abandon().await
    }

    /// Renews the lock.
    pub async fn renew(&self) -> Result<(), SourceError> {
        self.lock.renew().await
    }

    /// Parks the message with `reason` (see [`MessageLock::park`]).
    pub async fn park(&self, reason: &str) -> Result<(), SourceError> {
        self.lock.park(reason).await
    }

    /// Sends the scheduled re-checks, then completes (see [`MessageLock::schedule_then_complete`]).
    pub async fn schedule_then_complete(&self, scheduled: &[Scheduled]) -> Result<(), SourceError> {
        self.lock.schedule_then_complete(scheduled).await
    }
}

/// A lock with nothing to settle (replay files).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLock;

#[async_trait::async_trait]
impl MessageLock for NoLock {
    fn needs_renewal(&self) -> bool {
        false
    }
    async fn complete(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn abandon(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn renew(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn park(&self, _reason: &str) -> Result<(), SourceError> {
        Ok(())
    }
}

/// The `--source` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The `[queue]` Service Bus queue.
    ServiceBus,
    /// JSON lines from a file (`-` = stdin).
    File(String),
}

impl SourceSpec {
    /// `servicebus` or `file:PATH` (`file:-` = stdin).
    pub fn parse(raw: &str) -> Result<Self, SourceError> {
        let usage = || SourceError::Setup(format!("--source {raw:?}: expected `servicebus` or `file:PATH` (`file:-` reads stdin)"));
        if raw.eq_ignore_ascii_case("servicebus") {
            return Ok(Self::ServiceBus);
        }
        match raw.split_once(':') {
            Some(("file", path)) if !path.is_empty() => Ok(Self::File(path.to_string())),
            _ => Err(usage()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_arguments() {
        assert_eq!(SourceSpec::parse("servicebus").unwrap(), SourceSpec::ServiceBus);
        assert_eq!(SourceSpec::parse("file:events.jsonl").unwrap(), SourceSpec::File("events.jsonl".into()));
        assert_eq!(SourceSpec::parse("file:-").unwrap(), SourceSpec::File("-".into()));
        assert_eq!(SourceSpec::parse("file:C:/x:y").unwrap(), SourceSpec::File("C:/x:y".into()));
        for bad in ["file:", "events.jsonl", "http://x", ""] {
            let e = SourceSpec::parse(bad).unwrap_err();
            assert!(e.to_string().contains("file:PATH"), "{e}");
        }
    }

    #[test]
    fn message_ids_serialize_as_number_or_string() {
        assert_eq!(serde_json::to_value(MessageId::Line(3)).unwrap(), serde_json::json!(3));
        assert_eq!(serde_json::to_value(MessageId::Broker("m-1".into())).unwrap(), serde_json::json!("m-1"));
        assert_eq!(MessageId::Line(3).to_string(), "line 3");
    }
}
