//! Decoding one message body into an [`Event`]: the Event Grid schema or CloudEvents 1.0, as a single
//! object or a one-element array (azure-events.md §1.2, §2).
//!
//! Only the envelope and, for `Microsoft.Resources.*` events, the five `data` fields fleetgate reads are
//! kept; claims, authorization evidence and HTTP request details are never read. Unknown fields are fine.

use serde_json::{Map, Value};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::DecodeError;
use super::json::{Fields, kind_of, parse_strict};
use super::limits::{MAX_BODY_BYTES, quote};

/// Which envelope an event came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// The Event Grid schema (`eventType`, `eventTime`, `topic`, `dataVersion`, …).
    EventGrid,
    /// CloudEvents 1.0 (`specversion`, `type`, `time`, `source`, …).
    CloudEvents,
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EventGrid => "Event Grid schema",
            Self::CloudEvents => "CloudEvents 1.0",
        })
    }
}

/// One decoded event. Nothing here is trusted beyond the resource ID it names (see [`classify`](super::classify)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The envelope it came in.
    pub schema: Schema,
    /// `id`.
    pub id: String,
    /// `eventType` / `type`, e.g. `Microsoft.Resources.ResourceWriteSuccess`.
    pub event_type: String,
    /// `topic` (optional in the Event Grid schema) / `source`.
    pub source: Option<String>,
    /// `subject`: the resource ID for resource events. Always present in the Event Grid schema.
    pub subject: Option<String>,
    /// `eventTime` / `time` (optional in CloudEvents).
    pub time: Option<OffsetDateTime>,
    /// The `data` fields fleetgate reads; present for every `Microsoft.Resources.*` event, `None` otherwise.
    pub data: Option<ResourceData>,
}

/// The fields fleetgate reads from a `Microsoft.Resources.*` event's `data` (azure-events.md §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceData {
    /// `operationName`, e.g. `Microsoft.ContainerService/managedClusters/write`.
    pub operation_name: Option<String>,
    /// `resourceUri`: the ARM ID of the target resource.
    pub resource_uri: Option<String>,
    /// `subscriptionId`.
    pub subscription_id: Option<String>,
    /// `status`, e.g. `Succeeded`. Kept for logs only.
    pub status: Option<String>,
    /// `tenantId`. Kept for logs only.
    pub tenant_id: Option<String>,
}

/// Event types whose `data` fleetgate reads.
pub(super) const RESOURCE_EVENT_PREFIX: &str = "Microsoft.Resources.";

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decodes one message body (bytes, whatever the Content-Type said).
pub fn decode(body: &[u8]) -> Result<Event, DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(DecodeError::TooLarge { size: body.len(), limit: MAX_BODY_BYTES });
    }
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|e| DecodeError::NotUtf8 { offset: e.valid_up_to() })?;
    let value = parse_strict(text).map_err(|e| DecodeError::InvalidJson { detail: e.to_string() })?;
    let object = single_object(value)?;
    decode_object(&object)
}

fn single_object(value: Value) -> Result<Map<String, Value>, DecodeError> {
    match value {
        Value::Object(object) => Ok(object),
        Value::Array(mut items) => match items.len() {
            0 => Err(DecodeError::EmptyArray),
            1 => match items.remove(0) {
                Value::Object(object) => Ok(object),
                other => Err(DecodeError::NotAnObject { found: format!("an array holding {}", kind_of(&other)) }),
            },
            count => Err(DecodeError::TooManyEvents { count }),
        },
        other => Err(DecodeError::NotAnObject { found: format!("a JSON value that is {}", kind_of(&other)) }),
    }
}

fn decode_object(object: &Map<String, Value>) -> Result<Event, DecodeError> {
    match (object.contains_key("specversion"), object.contains_key("eventType")) {
        (true, true) => Err(DecodeError::AmbiguousSchema),
        (true, false) => cloud_event(object),
        (false, true) => event_grid_event(object),
        (false, false) => match object.keys().find(|k| k.eq_ignore_ascii_case("specversion")) {
            Some(found) => Err(DecodeError::SpecVersionSpelling { found: quote(found) }),
            None => Err(DecodeError::UnknownSchema),
        },
    }
}

fn event_grid_event(object: &Map<String, Value>) -> Result<Event, DecodeError> {
    let f = Fields::new(object, Schema::EventGrid, "");
    let id = f.required_non_empty("id")?;
    let event_type = f.required_non_empty("eventType")?;
    let subject = f.required("subject")?;
    let time = parse_time(&f, "eventTime", f.required("eventTime")?)?;
    f.required("dataVersion")?;
    f.optional("metadataVersion")?;
    let source = f.optional("topic")?;
    let data = f.value("data").ok_or_else(|| f.missing("data"))?;
    Ok(Event {
        schema: Schema::EventGrid,
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        source: source.map(str::to_owned),
        subject: Some(subject.to_owned()),
        time: Some(time),
        data: resource_data(&f, event_type, Some(data))?,
    })
}

fn cloud_event(object: &Map<String, Value>) -> Result<Event, DecodeError> {
    let f = Fields::new(object, Schema::CloudEvents, "");
    let version = f.required("specversion")?;
    if version != "1.0" {
        return Err(DecodeError::UnsupportedSpecVersion { found: quote(version) });
    }
    let id = f.required_non_empty("id")?;
    let event_type = f.required_non_empty("type")?;
    let source = f.required_non_empty("source")?;
    let subject = f.optional("subject")?;
    let time = f.optional("time")?.map(|t| parse_time(&f, "time", t)).transpose()?;
    Ok(Event {
        schema: Schema::CloudEvents,
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        source: Some(source.to_owned()),
        subject: subject.map(str::to_owned),
        time,
        data: resource_data(&f, event_type, f.value("data"))?,
    })
}

fn parse_time(f: &Fields<'_>, key: &str, text: &str) -> Result<OffsetDateTime, DecodeError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| f.bad_time(key, text))
}

/// Reads the `data` fields of a `Microsoft.Resources.*` event; other types' `data` is not examined.
fn resource_data(envelope: &Fields<'_>, event_type: &str, data: Option<&Value>) -> Result<Option<ResourceData>, DecodeError> {
    if !is_resource_event(event_type) {
        return Ok(None);
    }
    let object = match data {
        None => return Err(envelope.missing("data")),
        Some(Value::Object(object)) => object,
        Some(other) => return Err(envelope.wrong_type("data", "an object", other)),
    };
    let d = Fields::new(object, envelope.schema(), "data.");
    let owned = |key| d.optional(key).map(|v| v.map(str::to_owned));
    Ok(Some(ResourceData {
        operation_name: owned("operationName")?,
        resource_uri: owned("resourceUri")?,
        subscription_id: owned("subscriptionId")?,
        status: owned("status")?,
        tenant_id: owned("tenantId")?,
    }))
}

/// True for `Microsoft.Resources.*` event types (case-insensitive).
pub(super) fn is_resource_event(event_type: &str) -> bool {
    event_type.get(..RESOURCE_EVENT_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(RESOURCE_EVENT_PREFIX))
}
