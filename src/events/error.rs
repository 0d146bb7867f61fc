//! [`DecodeError`]: why a message body is not an event fleetgate can read. The message text becomes the
//! poison-queue reason, so each one says what is wrong with the body and what a valid one looks like.

use super::envelope::Schema;

/// Why [`decode`](super::decode) refused a message body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is over [`MAX_BODY_BYTES`](super::limits::MAX_BODY_BYTES); it was not parsed.
    #[error("message body is {size} bytes, more than the {limit}-byte limit for one event; it was not parsed")]
    TooLarge {
        /// Body size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not UTF-8.
    #[error("message body is not UTF-8 text (invalid bytes at offset {offset}); events must be UTF-8 JSON")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The body is not JSON (syntax error, duplicate key, nesting too deep, trailing data).
    #[error("message body is not valid JSON: {detail}")]
    InvalidJson {
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The body is JSON but not an object or a one-element array of objects.
    #[error("message body is {found}; expected one event object, or a JSON array holding exactly one")]
    NotAnObject {
        /// What was found instead, e.g. `a JSON string`.
        found: String,
    },
    /// The body is `[]`.
    #[error("message body is an empty JSON array; expected exactly one event")]
    EmptyArray,
    /// The body is an array of several events.
    #[error(
        "message body is an array of {count} events; fleetgate expects exactly one event per message (Event Grid delivers one event per Service Bus message)"
    )]
    TooManyEvents {
        /// How many elements the array has.
        count: usize,
    },
    /// The object has neither `eventType` nor `specversion`.
    #[error("JSON object is not an event: it has neither 'eventType' (Event Grid schema) nor 'specversion' (CloudEvents 1.0)")]
    UnknownSchema,
    /// The object has both `eventType` and `specversion`.
    #[error("JSON object has both 'eventType' (Event Grid schema) and 'specversion' (CloudEvents 1.0); cannot tell which schema it uses")]
    AmbiguousSchema,
    /// CloudEvents attribute names are lower-case; the body spells `specversion` differently.
    #[error("CloudEvents attribute {found:?} must be spelled 'specversion' (attribute names are lower-case); fix the publisher")]
    SpecVersionSpelling {
        /// The spelling found, e.g. `specVersion`.
        found: String,
    },
    /// A CloudEvents version other than 1.0.
    #[error("CloudEvents specversion {found:?} is not supported; fleetgate reads CloudEvents \"1.0\"")]
    UnsupportedSpecVersion {
        /// The version found.
        found: String,
    },
    /// A required field is absent or `null`.
    #[error("{schema} event is missing required field '{field}'")]
    MissingField {
        /// Which envelope.
        schema: Schema,
        /// Field path, e.g. `eventTime` or `data`.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("{schema} event field '{field}' must be {expected}, but it is {found}")]
    WrongType {
        /// Which envelope.
        schema: Schema,
        /// Field path, e.g. `data.resourceUri`.
        field: String,
        /// The expected JSON type, e.g. `a string`.
        expected: &'static str,
        /// The JSON type found, e.g. `a number`.
        found: &'static str,
    },
    /// A field that must carry a value is the empty string.
    #[error("{schema} event field '{field}' must not be empty")]
    EmptyField {
        /// Which envelope.
        schema: Schema,
        /// Field path.
        field: String,
    },
    /// A string field is over [`MAX_FIELD_CHARS`](super::limits::MAX_FIELD_CHARS).
    #[error("{schema} event field '{field}' is {len} characters long; the limit is {limit}")]
    FieldTooLong {
        /// Which envelope.
        schema: Schema,
        /// Field path.
        field: String,
        /// Its length in characters.
        len: usize,
        /// The limit in characters.
        limit: usize,
    },
    /// A time field is not RFC 3339.
    #[error("{schema} event field '{field}' is not an RFC 3339 timestamp (like 2018-07-19T18:38:04.6117357Z): {value:?}")]
    BadTime {
        /// Which envelope.
        schema: Schema,
        /// Field path.
        field: String,
        /// The value, cut to a few dozen characters.
        value: String,
    },
}

impl DecodeError {
    /// A stable snake_case label for logs and metrics (the message itself carries the details).
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::NotUtf8 { .. } => "not_utf8",
            Self::InvalidJson { .. } => "invalid_json",
            Self::NotAnObject { .. } => "not_an_object",
            Self::EmptyArray => "empty_array",
            Self::TooManyEvents { .. } => "too_many_events",
            Self::UnknownSchema => "unknown_schema",
            Self::AmbiguousSchema => "ambiguous_schema",
            Self::SpecVersionSpelling { .. } | Self::UnsupportedSpecVersion { .. } => "bad_specversion",
            Self::MissingField { .. } => "missing_field",
            Self::WrongType { .. } => "wrong_type",
            Self::EmptyField { .. } => "empty_field",
            Self::FieldTooLong { .. } => "field_too_long",
            Self::BadTime { .. } => "bad_time",
        }
    }
}
