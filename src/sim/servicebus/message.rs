//! Messages as the simulated broker stores them, and how they look on the wire: the `BrokerProperties`
//! JSON header (dates in RFC 1123 form, `Wed, 05 Dec 2012 20:43:40 GMT`) and one header per user property
//! (strings double-quoted, numbers and booleans bare, as the real service answers).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

/// `TimeToLive` reported for messages without one: .NET `TimeSpan.MaxValue` in seconds, what the
/// service reports for a queue without a default TTL.
pub const MAX_TIME_TO_LIVE_SECS: f64 = 922_337_203_685.477_6;

/// Broker properties a sender may set (everything else in a sent `BrokerProperties` is ignored, as the
/// read-only ones are by the service).
pub const SETTABLE_BROKER_PROPERTIES: [&str; 10] = [
    "CorrelationId",
    "SessionId",
    "Label",
    "ReplyTo",
    "TimeToLive",
    "To",
    "ScheduledEnqueueTimeUtc",
    "ReplyToSessionId",
    "PartitionKey",
    "ContentType",
];

/// A message to enqueue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    /// Payload bytes.
    pub body: Vec<u8>,
    /// `MessageId`; the broker assigns one when absent.
    pub message_id: Option<String>,
    /// Content type returned to the receiver.
    pub content_type: Option<String>,
    /// Other settable broker properties (`Label`, `CorrelationId`, `TimeToLive`, …).
    pub broker: Map<String, Value>,
    /// User (custom) properties in order.
    pub properties: Vec<(String, Value)>,
}

impl NewMessage {
    /// A message with this body.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Self { body: body.into(), ..Self::default() }
    }

    /// Sets `MessageId`.
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Adds a string user property.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((name.into(), Value::String(value.into())));
        self
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `SequenceNumber`, unique within the queue (kept when dead-lettered).
    pub sequence_number: u64,
    /// `MessageId`.
    pub message_id: String,
    /// Payload bytes.
    pub body: Vec<u8>,
    /// Content type given by the sender.
    pub content_type: Option<String>,
    /// Settable broker properties as sent.
    pub broker: Map<String, Value>,
    /// User properties in order.
    pub properties: Vec<(String, Value)>,
    /// `EnqueuedTimeUtc`.
    pub enqueued_utc: OffsetDateTime,
}

impl Message {
    /// Stores `new` under `sequence_number`, enqueued at `utc`.
    pub fn from_new(new: NewMessage, sequence_number: u64, utc: OffsetDateTime) -> Self {
        let mut broker = new.broker;
        broker.retain(|k, _| SETTABLE_BROKER_PROPERTIES.contains(&k.as_str()));
        Self {
            sequence_number,
            message_id: new.message_id.unwrap_or_else(|| Uuid::new_v4().simple().to_string()),
            body: new.body,
            content_type: new.content_type,
            broker,
            properties: new.properties,
            enqueued_utc: utc,
        }
    }

    /// A user property by case-insensitive name.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Sets a user property (replacing one with the same name).
    pub fn set_property(&mut self, name: &str, value: Value) {
        self.properties.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.properties.push((name.to_string(), value));
    }
}

/// Wall-clock and monotonic "now" together, so lock instants can be shown as UTC dates.
#[derive(Debug, Clone, Copy)]
pub struct SbClock {
    /// Monotonic now.
    pub now: Instant,
    /// Wall-clock now.
    pub utc: OffsetDateTime,
}

impl SbClock {
    /// The current time.
    pub fn current() -> Self {
        Self { now: Instant::now(), utc: OffsetDateTime::now_utc() }
    }

    /// The UTC time of a monotonic instant.
    pub fn utc_at(&self, at: Instant) -> OffsetDateTime {
        if at >= self.now { self.utc + at.duration_since(self.now) } else { self.utc - self.now.duration_since(at) }
    }
}

/// `Wed, 05 Dec 2012 20:43:40 GMT` (RFC 1123; the crate parses it as RFC 2822).
pub fn http_date(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    t.to_offset(time::UtcOffset::UTC).format(format).unwrap_or_default()
}

/// The lock part of a peek-lock delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockInfo {
    /// `LockToken`.
    pub token: Uuid,
    /// `LockedUntilUtc`.
    pub until: Instant,
}

/// The `BrokerProperties` header of a delivered message (`lock` is `None` for receive-and-delete).
pub fn broker_properties(message: &Message, delivery_count: u32, lock: Option<LockInfo>, clock: &SbClock) -> String {
    let mut props = Map::new();
    for (k, v) in &message.broker {
        props.insert(k.clone(), v.clone());
    }
    props.insert("DeliveryCount".into(), json!(delivery_count));
    props.insert("EnqueuedSequenceNumber".into(), json!(message.sequence_number));
    props.insert("EnqueuedTimeUtc".into(), json!(http_date(message.enqueued_utc)));
    if let Some(lock) = lock {
        props.insert("LockToken".into(), json!(lock.token.to_string()));
        props.insert("LockedUntilUtc".into(), json!(http_date(clock.utc_at(lock.until))));
    }
    props.insert("MessageId".into(), json!(message.message_id));
    props.insert("SequenceNumber".into(), json!(message.sequence_number));
    props.insert("State".into(), json!("Active"));
    if !props.contains_key("TimeToLive") {
        props.insert("TimeToLive".into(), json!(MAX_TIME_TO_LIVE_SECS));
    }
    Value::Object(props).to_string()
}

/// A user property value as a header: strings JSON-quoted (`"High"`), numbers and booleans bare.
pub fn property_header_value(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// A user property value from a send header: a quoted JSON string, a number or a boolean when it
/// parses as one, otherwise the raw text as a string.
pub fn property_from_header(raw: &str) -> Value {
    match serde_json::from_str::<Value>(raw.trim()) {
        Ok(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(raw.to_string()),
    }
}

/// True when `name` can be an HTTP header name (an RFC 9110 token).
pub fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use time::macros::datetime;

    #[test]
    fn dates_use_the_rfc1123_form_the_crate_parses() {
        let t = datetime!(2012-12-05 20:43:40 UTC);
        assert_eq!(http_date(t), "Wed, 05 Dec 2012 20:43:40 GMT");
        let parsed = OffsetDateTime::parse(&http_date(t), &time::format_description::well_known::Rfc2822).unwrap();
        assert_eq!(parsed, t);
    }

    #[test]
    fn broker_properties_carry_read_only_and_settable_fields() {
        let now = Instant::now();
        let clock = SbClock { now, utc: datetime!(2024-01-02 03:04:05 UTC) };
        let mut new = NewMessage::new("x").message_id("m1");
        new.broker.insert("Label".into(), json!("L"));
        new.broker.insert("SequenceNumber".into(), json!(99));
        let m = Message::from_new(new, 7, clock.utc);
        let lock = LockInfo { token: Uuid::nil(), until: now + Duration::from_secs(30) };
        let v: Value = serde_json::from_str(&broker_properties(&m, 2, Some(lock), &clock)).unwrap();
        assert_eq!(v["DeliveryCount"], 2);
        assert_eq!(v["SequenceNumber"], 7, "a sender cannot set read-only properties");
        assert_eq!(v["EnqueuedSequenceNumber"], 7);
        assert_eq!(v["Label"], "L");
        assert_eq!(v["MessageId"], "m1");
        assert_eq!(v["LockedUntilUtc"], "Tue, 02 Jan 2024 03:04:35 GMT");
        assert_eq!(v["State"], "Active");
        assert!(v["TimeToLive"].as_f64().unwrap() > 1e11);
        let unlocked: Value = serde_json::from_str(&broker_properties(&m, 1, None, &clock)).unwrap();
        assert!(unlocked.get("LockToken").is_none());
    }

    #[test]
    fn user_properties_round_trip_through_headers() {
        assert_eq!(property_header_value(&json!("High")), "\"High\"");
        assert_eq!(property_header_value(&json!(3)), "3");
        assert_eq!(property_from_header("\"High\""), json!("High"));
        assert_eq!(property_from_header("12"), json!(12));
        assert_eq!(property_from_header("true"), json!(true));
        assert_eq!(property_from_header("12345,ABC"), json!("12345,ABC"));
        assert!(is_header_name("aeg-event-type") && !is_header_name("a b") && !is_header_name(""));
    }
}
