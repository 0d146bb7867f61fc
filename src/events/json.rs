//! Strict JSON reading for event bodies: duplicate keys are an error (two parsers could otherwise
//! disagree on which `eventType` or `resourceUri` an event has), and typed field access that turns every
//! surprise into a [`DecodeError`] naming the field.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

use super::envelope::Schema;
use super::error::DecodeError;
use super::limits::{MAX_FIELD_CHARS, quote};

/// Parses `text` as one JSON value, rejecting duplicate object keys at any depth and trailing data.
/// serde_json's nesting limit (128) still applies.
pub(super) fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let Strict(value) = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// "a string", "an object", … for error messages.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {:?}", quote(&key))));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Typed access to one JSON object of an event (the envelope, or `data` with `prefix = "data."`).
pub(super) struct Fields<'a> {
    object: &'a Map<String, Value>,
    schema: Schema,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    pub(super) fn new(object: &'a Map<String, Value>, schema: Schema, prefix: &'static str) -> Self {
        Self { object, schema, prefix }
    }

    /// The envelope these fields belong to.
    pub(super) fn schema(&self) -> Schema {
        self.schema
    }

    fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The value of `key`, treating `null` as absent.
    pub(super) fn value(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    /// A string field that may be absent (or `null`); any other type is an error.
    pub(super) fn optional(&self, key: &str) -> Result<Option<&'a str>, DecodeError> {
        let Some(value) = self.value(key) else { return Ok(None) };
        let Value::String(text) = value else {
            return Err(DecodeError::WrongType { schema: self.schema, field: self.path(key), expected: "a string", found: kind_of(value) });
        };
        let len = text.chars().count();
        if len > MAX_FIELD_CHARS {
            return Err(DecodeError::FieldTooLong { schema: self.schema, field: self.path(key), len, limit: MAX_FIELD_CHARS });
        }
        Ok(Some(text))
    }

    /// A string field that must be present (it may be empty).
    pub(super) fn required(&self, key: &str) -> Result<&'a str, DecodeError> {
        self.optional(key)?.ok_or_else(|| self.missing(key))
    }

    /// A string field that must be present and non-empty.
    pub(super) fn required_non_empty(&self, key: &str) -> Result<&'a str, DecodeError> {
        let text = self.required(key)?;
        if text.is_empty() {
            return Err(DecodeError::EmptyField { schema: self.schema, field: self.path(key) });
        }
        Ok(text)
    }

    /// The error for an absent required field.
    pub(super) fn missing(&self, key: &str) -> DecodeError {
        DecodeError::MissingField { schema: self.schema, field: self.path(key) }
    }

    /// The error for a field of the wrong type.
    pub(super) fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> DecodeError {
        DecodeError::WrongType { schema: self.schema, field: self.path(key), expected, found: kind_of(found) }
    }

    /// The error for a time field that is not RFC 3339.
    pub(super) fn bad_time(&self, key: &str, text: &str) -> DecodeError {
        DecodeError::BadTime { schema: self.schema, field: self.path(key), value: quote(text) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_rejected_at_any_depth() {
        let top = parse_strict(r#"{"eventType":"a","eventType":"b"}"#).unwrap_err().to_string();
        assert!(top.contains("duplicate key \"eventType\""), "{top}");
        let nested = parse_strict(r#"{"data":{"resourceUri":"a","x":[{"k":1,"k":2}]}}"#).unwrap_err().to_string();
        assert!(nested.contains("duplicate key \"k\""), "{nested}");
    }

    #[test]
    fn parses_every_json_type_like_serde_json() {
        let text = r#"{"a":[1,-2,3.5,true,false,null,"s",{"b":{}}],"c":18446744073709551615}"#;
        assert_eq!(parse_strict(text).unwrap(), serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn trailing_data_and_deep_nesting_are_errors() {
        assert!(parse_strict("{} {}").is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_strict(&deep).unwrap_err().to_string().contains("recursion limit"));
    }
}
