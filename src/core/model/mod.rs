//! Typed, read-only views of the ARM documents the planner needs.
//!
//! Each view is parsed from the raw JSON an ARM GET returned with `from_json`. Parsing is tolerant of
//! missing optional fields (absent means "not set") and strict about IDs: a resource ID that does not
//! pass [`ResourceId::parse`], or names the wrong resource type, is an error that names the field.

mod cluster;
mod identity;
mod pricing;
mod registry;
mod role;

pub use cluster::{ClusterView, GatingEntryView, KubeletIdentity, SecurityGatingView};
pub use identity::{FicView, IdentityView};
pub use pricing::{PricingExtension, PricingView};
pub use registry::RegistryView;
pub use role::RoleAssignmentView;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::id::{IdError, ResourceId};

/// An ARM document that does not have the shape fleetgate relies on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A required field is absent or has the wrong JSON type.
    #[error(
        "{kind} {resource}: field `{field}` is missing or not {expected}; the ARM response does not have the expected shape — check the api-version in azure.api_versions and that the ID names a {kind}"
    )]
    Field {
        /// What the document should be, e.g. `managed cluster`.
        kind: &'static str,
        /// The document's ID as far as it is known.
        resource: String,
        /// JSON pointer of the field.
        field: String,
        /// What was expected, e.g. `a string`.
        expected: &'static str,
    },
    /// A field holds something that is not an acceptable ARM ID of the right type.
    #[error(
        "{kind} {resource}: field `{field}` is not a valid {expected} ID: {reason}; fix or report the resource, fleetgate will not act on it"
    )]
    Id {
        /// What the document should be.
        kind: &'static str,
        /// The document's ID as far as it is known.
        resource: String,
        /// JSON pointer of the field.
        field: String,
        /// The expected resource type.
        expected: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

/// Field access over one document, building errors that name the document and the field.
pub(crate) struct Fields<'a> {
    doc: &'a Value,
    kind: &'static str,
    resource: String,
}

impl<'a> Fields<'a> {
    /// Wraps `doc`; `kind` names the document type in errors.
    pub(crate) fn new(doc: &'a Value, kind: &'static str) -> Self {
        let resource = doc.get("id").and_then(Value::as_str).unwrap_or("(without id)").chars().take(300).collect();
        Self { doc, kind, resource }
    }

    /// The value at a JSON pointer, `None` when absent or null.
    pub(crate) fn get(&self, ptr: &str) -> Option<&'a Value> {
        pointer(self.doc, ptr).filter(|v| !v.is_null())
    }

    /// An optional string (empty strings count as absent).
    pub(crate) fn opt_str(&self, ptr: &str) -> Option<String> {
        self.get(ptr).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
    }

    /// A required non-empty string.
    pub(crate) fn req_str(&self, ptr: &str) -> Result<String, ModelError> {
        self.opt_str(ptr).ok_or_else(|| self.field_error(ptr, "a non-empty string"))
    }

    /// A boolean that defaults to `false`; `"true"`/`"True"` strings are accepted.
    pub(crate) fn flag(&self, ptr: &str) -> bool {
        self.opt_bool(ptr).unwrap_or(false)
    }

    /// An optional boolean; `"true"`/`"false"` strings are accepted case-insensitively.
    pub(crate) fn opt_bool(&self, ptr: &str) -> Option<bool> {
        match self.get(ptr)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// A required ARM ID of type `ty` (e.g. `Microsoft.ContainerService/managedClusters`).
    pub(crate) fn req_id(&self, ptr: &str, ty: &'static str) -> Result<ResourceId, ModelError> {
        let raw = self.get(ptr).and_then(Value::as_str).ok_or_else(|| self.field_error(ptr, "a resource ID string"))?;
        self.check_id(ptr, raw, ty)
    }

    /// Parses `raw` (read from `ptr`) as an ARM ID of type `ty`.
    pub(crate) fn check_id(&self, ptr: &str, raw: &str, ty: &'static str) -> Result<ResourceId, ModelError> {
        let id = ResourceId::parse(raw).map_err(|e: IdError| self.id_error(ptr, ty, e.to_string()))?;
        if id.is_type(ty) { Ok(id) } else { Err(self.id_error(ptr, ty, format!("{raw:?} is not a {ty}"))) }
    }

    /// A string map (ARM `tags`, `additionalExtensionProperties`); non-string values are rendered as JSON.
    pub(crate) fn string_map(&self, ptr: &str) -> BTreeMap<String, String> {
        string_map(self.get(ptr))
    }

    /// The error for a missing or mistyped field.
    pub(crate) fn field_error(&self, ptr: &str, expected: &'static str) -> ModelError {
        ModelError::Field { kind: self.kind, resource: self.resource.clone(), field: ptr.to_string(), expected }
    }

    fn id_error(&self, ptr: &str, expected: &'static str, reason: String) -> ModelError {
        ModelError::Id { kind: self.kind, resource: self.resource.clone(), field: ptr.to_string(), expected, reason }
    }
}

/// Reads a JSON object of strings into a map; anything else is an empty map.
pub(crate) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = value else { return BTreeMap::new() };
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Case-insensitive lookup in a string map (ARM tag names are case-insensitive).
pub fn lookup_ci<'m>(map: &'m BTreeMap<String, String>, key: &str) -> Option<&'m str> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

/// [`Value::pointer`] (RFC 6901) without its allocation per path segment: a segment is unescaped (`~1` →
/// `/`, `~0` → `~`) only when it holds a `~`. Every field a view reads goes through here, on every
/// observation and every memo check.
pub(crate) fn pointer<'a>(doc: &'a Value, ptr: &str) -> Option<&'a Value> {
    if ptr.is_empty() {
        return Some(doc);
    }
    ptr.strip_prefix('/')?.split('/').try_fold(doc, |node, segment| {
        let segment = if segment.contains('~') {
            std::borrow::Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
        } else {
            std::borrow::Cow::Borrowed(segment)
        };
        match node {
            Value::Object(map) => map.get(segment.as_ref()),
            Value::Array(items) => array_index(&segment).and_then(|i| items.get(i)),
            _ => None,
        }
    })
}

/// An array index as RFC 6901 writes it: digits, no sign, no leading zero.
fn array_index(segment: &str) -> Option<usize> {
    let plain = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) && (segment == "0" || !segment.starts_with('0'));
    plain.then(|| segment.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_reads_like_serde_json() {
        let doc = serde_json::json!({"a": {"b/c": [10, {"d~e": true}], "": 1, "x": null}, "0": "zero"});
        let pointers = [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/d~0e",
            "/a/",
            "/a/x",
            "/0",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/a/b~1c/2",
            "/a/b~1c/-",
            "a",
            "/missing/deeper",
            "/a/b~1c/0/x",
            "/a/b~1c/18446744073709551616",
        ];
        for ptr in pointers {
            assert_eq!(pointer(&doc, ptr), doc.pointer(ptr), "{ptr:?}");
        }
        assert_eq!(pointer(&doc, "/a/b~1c/1/d~0e"), Some(&serde_json::json!(true)));
    }
}
