//! What a simulated Service Bus namespace contains: queue definitions ([`QueueSpec`]) and shared access
//! rules ([`SasRule`]), with their defaults and validation.
//!
//! Queue definitions will move into the fleet file; until then they are declared at run time with
//! `SimHandle::create_queue`. Every simulator starts with [`default_queues`] and the
//! [`ROOT_RULE`] SAS rule (random key per start).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The queue fleetgate consumes events from.
pub const EVENTS_QUEUE: &str = "fleetgate-events";
/// Where fleetgate parks messages it cannot handle.
pub const POISON_QUEUE: &str = "fleetgate-events-poison";
/// The SAS rule every namespace has (all rights).
pub const ROOT_RULE: &str = "RootManageSharedAccessKey";

/// Shortest lock the simulator accepts. The real minimum is 5 s; shorter locks keep expiry tests fast.
pub const MIN_LOCK_DURATION: Duration = Duration::from_millis(100);
/// Longest lock (the real maximum, PT5M).
pub const MAX_LOCK_DURATION: Duration = Duration::from_secs(300);
/// Shortest duplicate-detection window (the real minimum, 20 s).
pub const MIN_DEDUPE_WINDOW: Duration = Duration::from_secs(20);
/// Longest duplicate-detection window (the real maximum, 7 days).
pub const MAX_DEDUPE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// One queue and its settings (names as in the ARM `Queue` resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSpec {
    /// Queue name (case-insensitive; letters, digits, `.`, `-`, `_`, `/`).
    pub name: String,
    /// `lockDuration`: how long a peek-lock holds a message (default 30 s; real default PT1M).
    #[serde(with = "humantime_serde")]
    pub lock_duration: Duration,
    /// `maxDeliveryCount`: deliveries before the message moves to `$deadletterqueue` (default 10).
    pub max_delivery_count: u32,
    /// `requiresDuplicateDetection`: drop a send whose `MessageId` was seen within the window.
    pub requires_duplicate_detection: bool,
    /// `duplicateDetectionHistoryTimeWindow` (default 10 min, 20 s ..= 7 days).
    #[serde(with = "humantime_serde")]
    pub duplicate_detection_window: Duration,
    /// Sequence number of the first message (default 1). Long-lived and partitioned entities have
    /// numbers above 2^31, which the 0.21 crate cannot parse in `EnqueuedSequenceNumber`.
    pub first_sequence_number: u64,
}

impl Default for QueueSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            lock_duration: Duration::from_secs(30),
            max_delivery_count: 10,
            requires_duplicate_detection: false,
            duplicate_detection_window: Duration::from_secs(600),
            first_sequence_number: 1,
        }
    }
}

impl QueueSpec {
    /// A queue named `name` with the default settings.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// Sets `lock_duration`.
    pub fn lock_duration(mut self, d: Duration) -> Self {
        self.lock_duration = d;
        self
    }

    /// Sets `max_delivery_count`.
    pub fn max_delivery_count(mut self, n: u32) -> Self {
        self.max_delivery_count = n;
        self
    }

    /// Turns duplicate detection on with `window`.
    pub fn duplicate_detection(mut self, window: Duration) -> Self {
        self.requires_duplicate_detection = true;
        self.duplicate_detection_window = window;
        self
    }

    /// Sets `first_sequence_number`.
    pub fn first_sequence_number(mut self, n: u64) -> Self {
        self.first_sequence_number = n;
        self
    }

    /// Checks the settings against the service's limits; the message names the queue, the field and the range.
    pub fn validate(&self) -> Result<(), QueueSpecError> {
        let bad = |field: &str, problem: String| QueueSpecError { queue: self.name.clone(), field: field.to_string(), problem };
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/');
        if self.name.is_empty() || self.name.len() > 260 || !self.name.chars().all(valid_char) || self.name.starts_with('/') {
            return Err(bad("name", "use 1-260 letters, digits, '.', '-', '_' or '/' (not leading)".into()));
        }
        if self.name.to_ascii_lowercase().split('/').any(|s| s == "$deadletterqueue" || s == "messages" || s.is_empty()) {
            return Err(bad("name", "a segment may not be empty, 'messages' or '$deadletterqueue'".into()));
        }
        if !(MIN_LOCK_DURATION..=MAX_LOCK_DURATION).contains(&self.lock_duration) {
            return Err(bad("lock_duration", format!("{:?} is outside 100ms ..= 5m", self.lock_duration)));
        }
        if self.max_delivery_count == 0 {
            return Err(bad("max_delivery_count", "must be at least 1 (default 10)".into()));
        }
        if !(MIN_DEDUPE_WINDOW..=MAX_DEDUPE_WINDOW).contains(&self.duplicate_detection_window) {
            return Err(bad("duplicate_detection_window", format!("{:?} is outside 20s ..= 7 days", self.duplicate_detection_window)));
        }
        if self.first_sequence_number == 0 || self.first_sequence_number > i64::MAX as u64 / 2 {
            return Err(bad("first_sequence_number", "must be between 1 and 2^62".into()));
        }
        Ok(())
    }
}

/// A queue definition the simulator cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulated Service Bus queue '{queue}': `{field}` {problem}")]
pub struct QueueSpecError {
    /// The queue name as given.
    pub queue: String,
    /// The offending setting.
    pub field: String,
    /// What is wrong and the allowed range.
    pub problem: String,
}

/// The queues every simulator starts with: [`EVENTS_QUEUE`] (duplicate detection on, as the docs
/// recommend for Event Grid delivery) and [`POISON_QUEUE`].
pub fn default_queues() -> Vec<QueueSpec> {
    vec![QueueSpec::new(EVENTS_QUEUE).duplicate_detection(Duration::from_secs(600)), QueueSpec::new(POISON_QUEUE)]
}

/// A shared access authorization rule: a key name and its key. All rules have all rights.
#[derive(Clone, PartialEq, Eq)]
pub struct SasRule {
    /// Key name (`skn`).
    pub name: String,
    /// The key, used as-is (its UTF-8 bytes) as the HMAC key, as Service Bus does.
    pub key: String,
}

/// Never shows the key.
impl fmt::Debug for SasRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasRule").field("name", &self.name).finish_non_exhaustive()
    }
}

impl SasRule {
    /// A rule with a fresh random key shaped like the real ones (base64 of 32 random bytes).
    pub fn random(name: impl Into<String>) -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        Self { name: name.into(), key: base64::engine::general_purpose::STANDARD.encode(bytes) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_are_enforced() {
        for spec in default_queues() {
            spec.validate().unwrap();
        }
        assert!(default_queues()[0].requires_duplicate_detection);
        let err = QueueSpec::new("q").lock_duration(Duration::from_secs(301)).validate().unwrap_err();
        assert_eq!(err.field, "lock_duration");
        assert!(err.to_string().contains("'q'"), "{err}");
        assert_eq!(QueueSpec::new("q").max_delivery_count(0).validate().unwrap_err().field, "max_delivery_count");
        assert_eq!(
            QueueSpec::new("q").duplicate_detection(Duration::from_secs(5)).validate().unwrap_err().field,
            "duplicate_detection_window"
        );
        for name in ["", "a b", "q/$deadletterqueue", "/q", "q//x"] {
            assert_eq!(QueueSpec::new(name).validate().unwrap_err().field, "name", "{name}");
        }
        assert!(QueueSpec::new("orders/eu-1.v2").validate().is_ok());
    }

    #[test]
    fn random_keys_differ_and_never_show() {
        let (a, b) = (SasRule::random("r"), SasRule::random("r"));
        assert_ne!(a.key, b.key);
        assert_eq!(a.key.len(), 44);
        assert!(!format!("{a:?}").contains(&a.key));
    }
}
