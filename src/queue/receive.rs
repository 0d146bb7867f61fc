//! [`ServiceBusQueue`]: a queue through the crate's `QueueClient`, with the status handling the crate
//! leaves out.
//!
//! `peek_lock_message2` returns `Ok` whatever the status: a 204 (nothing arrived within the wait) and
//! even a 401 come back as "messages" with an empty body. [`ServiceBusQueue::receive`] branches on the
//! status: 201 → [`Received::Message`], 204 → [`Received::Empty`], anything else → [`QueueError`].
//!
//! **Unreadable `BrokerProperties`.** The crate parses the header strictly and returns `Err` *after* the
//! service has locked the message; the lock URI is lost with the response. The message cannot be
//! settled, so `receive` logs a warning and returns [`QueueError::MalformedMessage`]: the message stays
//! locked until `lockDuration` passes, then Service Bus delivers it again with `DeliveryCount` + 1, and
//! after `MaxDeliveryCount` moves it to the dead-letter queue — it is never silently dropped. (The one
//! known real cause, an `EnqueuedSequenceNumber` above 2^31, is repaired by the transport.)

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core_legacy::HttpClient;
use azure_core_legacy::error::ErrorKind;
use azure_core_legacy::headers::Headers;
use azure_messaging_servicebus::service_bus::{
    BrokerProperties, PeekLockResponse, QueueClient, SendMessageOptions, SettableBrokerProperties,
};
use time::OffsetDateTime;

use super::error::QueueError;
use super::sas::SasKey;

/// Response headers that are protocol headers, not user properties.
const NOT_PROPERTIES: [&str; 11] = [
    "brokerproperties",
    "connection",
    "content-length",
    "content-type",
    "date",
    "keep-alive",
    "location",
    "server",
    "strict-transport-security",
    "transfer-encoding",
    "vary",
];

/// Placeholder SAS rule for `QueueClient::new` when the transport authorizes with Entra (the crate
/// insists on a key; the transport replaces the header it produces).
const ENTRA_PLACEHOLDER_RULE: &str = "entra-bearer";

/// Response headers of a receive: the lock URI and the user properties (quotes removed).
#[derive(Debug, Default)]
struct ReceivedHeaders {
    location: Option<String>,
    properties: BTreeMap<String, String>,
}

impl From<Headers> for ReceivedHeaders {
    fn from(headers: Headers) -> Self {
        let mut out = Self::default();
        for (name, value) in headers.iter() {
            let name = name.as_str().to_ascii_lowercase();
            if name == "location" {
                out.location = Some(value.as_str().to_string()).filter(|l| !l.is_empty());
            } else if !NOT_PROPERTIES.contains(&name.as_str()) && !name.starts_with("x-ms-") {
                out.properties.insert(name, unquote(value.as_str()));
            }
        }
        out
    }
}

/// `"High"` → `High` (JSON string unescaping); anything else unchanged.
fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        serde_json::from_str::<String>(value).unwrap_or_else(|_| value[1..value.len() - 1].to_string())
    } else {
        value.to_string()
    }
}

/// What a receive got.
#[derive(Debug)]
pub enum Received {
    /// A locked message (boxed: it holds the crate's whole response).
    Message(Box<ReceivedMessage>),
    /// Nothing arrived within the wait (HTTP 204).
    Empty,
}

/// A peek-locked message. Settle it with [`complete`](Self::complete) or [`abandon`](Self::abandon).
pub struct ReceivedMessage {
    queue: String,
    response: PeekLockResponse,
    body: String,
    broker: BrokerProperties,
    properties: BTreeMap<String, String>,
}

impl fmt::Debug for ReceivedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedMessage")
            .field("queue", &self.queue)
            .field("message_id", &self.broker.message_id)
            .field("sequence_number", &self.broker.sequence_number)
            .field("delivery_count", &self.broker.delivery_count)
            .finish_non_exhaustive()
    }
}

impl ReceivedMessage {
    /// The body (UTF-8).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// `MessageId`.
    pub fn message_id(&self) -> &str {
        &self.broker.message_id
    }

    /// `SequenceNumber`.
    pub fn sequence_number(&self) -> i64 {
        self.broker.sequence_number
    }

    /// `DeliveryCount` (1 on the first delivery).
    pub fn delivery_count(&self) -> u32 {
        u32::try_from(self.broker.delivery_count).unwrap_or(0)
    }

    /// `LockedUntilUtc`.
    pub fn locked_until(&self) -> OffsetDateTime {
        self.broker.locked_until_utc
    }

    /// `EnqueuedTimeUtc`.
    pub fn enqueued_at(&self) -> Option<OffsetDateTime> {
        self.broker.enqueued_time_utc
    }

    /// The parsed `BrokerProperties`.
    pub fn broker_properties(&self) -> &BrokerProperties {
        &self.broker
    }

    /// A user property by (case-insensitive) name, without the quotes the service adds to strings.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// All user properties (names lower-case).
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }

    /// Completes (deletes) the message.
    pub async fn complete(&self) -> Result<(), QueueError> {
        self.response.delete_message().await.map(|_| ()).map_err(|e| self.lock_error("complete", e))
    }

    /// Abandons the message: it becomes available again (`DeliveryCount` + 1 on the next delivery).
    pub async fn abandon(&self) -> Result<(), QueueError> {
        self.response.unlock_message().await.map_err(|e| self.lock_error("abandon", e))
    }

    /// Renews the lock for another `lockDuration`.
    pub async fn renew_lock(&self) -> Result<(), QueueError> {
        self.response.renew_message_lock().await.map_err(|e| self.lock_error("renew lock", e))
    }

    fn lock_error(&self, operation: &'static str, e: azure_core_legacy::Error) -> QueueError {
        QueueError::from_lock_op(&self.queue, &self.broker.message_id, operation, e)
    }
}

/// A message to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Body.
    pub body: String,
    /// `MessageId` (duplicate detection compares it).
    pub message_id: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
    /// User properties (sent as headers).
    pub properties: Vec<(String, String)>,
}

/// One queue (or `{queue}/$deadletterqueue`) of a namespace.
#[derive(Debug, Clone)]
pub struct ServiceBusQueue {
    client: QueueClient,
    name: String,
}

impl ServiceBusQueue {
    /// A queue reached through `transport` (normally a `ServiceBusTransport`). `sas` is the key the crate
    /// signs with; with Entra pass `None` (a placeholder is used and the transport replaces the header).
    pub fn new(transport: Arc<dyn HttpClient>, namespace: &str, queue: &str, sas: Option<&SasKey>) -> Result<Self, QueueError> {
        let (rule, key) = sas.map_or((ENTRA_PLACEHOLDER_RULE, "unused"), |k| (k.key_name(), k.key()));
        let client = QueueClient::new(transport, namespace, queue, rule, key.to_string())
            .map_err(|e| QueueError::from_crate(queue, "create the queue client", e))?;
        Ok(Self { client, name: queue.to_string() })
    }

    /// The queue name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The crate's client.
    pub fn client(&self) -> &QueueClient {
        &self.client
    }

    /// Peek-locks the next message, waiting up to `wait` (whole seconds) for one to arrive.
    pub async fn receive(&self, wait: Duration) -> Result<Received, QueueError> {
        let response = self.client.peek_lock_message2(Some(wait)).await.map_err(|e| self.receive_error(e))?;
        let status = u16::from(*response.status());
        match status {
            204 => Ok(Received::Empty),
            201 => self.message(response),
            _ => Err(QueueError::from_status(&self.name, "receive", status, &response.body())),
        }
    }

    fn message(&self, response: PeekLockResponse) -> Result<Received, QueueError> {
        let headers: ReceivedHeaders = response.custom_properties().unwrap_or_default();
        let malformed = |detail: &str| {
            tracing::warn!(queue = %self.name, detail, "Service Bus: a received message cannot be settled; it will be redelivered when its lock expires");
            QueueError::MalformedMessage { queue: self.name.clone(), detail: detail.to_string() }
        };
        let Some(broker) = response.broker_properties() else { return Err(malformed("the BrokerProperties header is missing")) };
        if headers.location.is_none() {
            return Err(malformed("the Location (lock URI) header is missing"));
        }
        let body = response.body();
        Ok(Received::Message(Box::new(ReceivedMessage {
            queue: self.name.clone(),
            response,
            body,
            broker,
            properties: headers.properties,
        })))
    }

    fn receive_error(&self, e: azure_core_legacy::Error) -> QueueError {
        let text = e.to_string();
        if matches!(e.kind(), ErrorKind::DataConversion) && text.to_ascii_lowercase().contains("brokerproperties") {
            let detail: String = text.chars().take(400).collect();
            tracing::warn!(queue = %self.name, detail = %detail, "Service Bus: unreadable BrokerProperties; the message stays locked until its lock expires and is then redelivered");
            return QueueError::MalformedMessage { queue: self.name.clone(), detail };
        }
        QueueError::from_crate(&self.name, "receive", e)
    }

    /// Sends one message.
    pub async fn send(&self, message: &OutgoingMessage) -> Result<(), QueueError> {
        let broker = message.message_id.clone().map(|id| SettableBrokerProperties { message_id: Some(id), ..Default::default() });
        let custom = (!message.properties.is_empty()).then(|| message.properties.iter().cloned().collect());
        let options =
            SendMessageOptions { content_type: message.content_type.clone(), broker_properties: broker, custom_properties: custom };
        self.client.send_message(&message.body, Some(options)).await.map_err(|e| QueueError::from_crate(&self.name, "send", e))
    }

    /// Sends one message that Service Bus keeps invisible until `at` (`ScheduledEnqueueTimeUtc` in its
    /// `BrokerProperties`, as the REST API takes it), then delivers like any other. Duplicate detection
    /// applies at send: a second schedule with the same `MessageId` within the queue's window is dropped.
    pub async fn send_scheduled(&self, message: &OutgoingMessage, at: OffsetDateTime) -> Result<(), QueueError> {
        let broker =
            SettableBrokerProperties { message_id: message.message_id.clone(), scheduled_enqueue_time_utc: Some(at), ..Default::default() };
        let custom = (!message.properties.is_empty()).then(|| message.properties.iter().cloned().collect());
        let options =
            SendMessageOptions { content_type: message.content_type.clone(), broker_properties: Some(broker), custom_properties: custom };
        self.client.send_message(&message.body, Some(options)).await.map_err(|e| QueueError::from_crate(&self.name, "send scheduled", e))
    }

    /// Sends several messages in one request (`application/vnd.microsoft.servicebus.json`; the service
    /// takes all or none). Keep a batch under the tier's size limit (256 KB on Standard). Empty = no request.
    pub async fn send_batch(&self, messages: &[OutgoingMessage]) -> Result<(), QueueError> {
        if messages.is_empty() {
            return Ok(());
        }
        let options =
            SendMessageOptions { content_type: Some(BATCH_CONTENT_TYPE.into()), broker_properties: None, custom_properties: None };
        let body = batch_body(messages).to_string();
        self.client.send_message(&body, Some(options)).await.map_err(|e| QueueError::from_crate(&self.name, "send batch", e))
    }
}

/// Media type of a batch send.
pub const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.servicebus.json";

/// The batch body: `[{"Body", "BrokerProperties": {"MessageId", "ContentType"}, "UserProperties"}]`.
fn batch_body(messages: &[OutgoingMessage]) -> serde_json::Value {
    let items = messages
        .iter()
        .map(|m| {
            let mut broker = serde_json::Map::new();
            if let Some(id) = &m.message_id {
                broker.insert("MessageId".into(), id.clone().into());
            }
            if let Some(ct) = &m.content_type {
                broker.insert("ContentType".into(), ct.clone().into());
            }
            let props: serde_json::Map<String, serde_json::Value> =
                m.properties.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
            let mut item = serde_json::json!({"Body": m.body, "BrokerProperties": broker});
            if !props.is_empty() {
                item["UserProperties"] = serde_json::Value::Object(props);
            }
            item
        })
        .collect();
    serde_json::Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core_legacy::headers::HeaderValue;

    #[test]
    fn batch_body_carries_ids_content_types_and_properties() {
        let a = OutgoingMessage {
            body: "{}".into(),
            message_id: Some("m1".into()),
            content_type: Some("application/json".into()),
            properties: vec![("origin".into(), "backfill".into())],
        };
        let b = OutgoingMessage { body: "two".into(), ..Default::default() };
        assert_eq!(
            batch_body(&[a, b]),
            serde_json::json!([
                {"Body": "{}", "BrokerProperties": {"MessageId": "m1", "ContentType": "application/json"}, "UserProperties": {"origin": "backfill"}},
                {"Body": "two", "BrokerProperties": {}}
            ])
        );
    }

    #[test]
    fn headers_split_into_lock_uri_and_unquoted_properties() {
        let mut h = Headers::new();
        h.insert("location", HeaderValue::from("http://x/sb/q/messages/1/t".to_string()));
        h.insert("brokerproperties", HeaderValue::from("{}".to_string()));
        h.insert("content-type", HeaderValue::from("application/json".to_string()));
        h.insert("priority", HeaderValue::from("\"High\"".to_string()));
        h.insert("deadletterreason", HeaderValue::from("\"MaxDeliveryCountExceeded\"".to_string()));
        h.insert("count", HeaderValue::from("3".to_string()));
        let r = ReceivedHeaders::from(h);
        assert_eq!(r.location.as_deref(), Some("http://x/sb/q/messages/1/t"));
        let names: Vec<&str> = r.properties.keys().map(String::as_str).collect();
        assert_eq!(names, ["count", "deadletterreason", "priority"]);
        assert_eq!(r.properties["priority"], "High");
        assert_eq!(unquote(r#""a \"b\"""#), "a \"b\"");
        assert_eq!(unquote("\""), "\"");
    }
}
