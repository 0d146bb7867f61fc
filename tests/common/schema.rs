//! A small swagger-2.0 schema checker for request bodies, against the definitions extracted from the
//! official specs into `tests/fixtures/spec/` (see its SOURCES.md).
//!
//! What it checks: `type` (object, array, string, integer, number, boolean), `enum` (exact, so
//! `"True"`/`"False"` strings stay strings), `required`, `readOnly` (never sent; or, with a baseline,
//! only as read), `additionalProperties` (`false` forbids unknown properties, a schema checks their
//! values), `allOf`, local and cross-file `$ref`s, `minimum`/`maximum`, `minItems`/`maxItems` and the
//! formats `int32`, `uuid`, `arm-id` and `uri`. In strict mode a property the spec does not declare is
//! an error even where swagger would allow it (fleetgate should only send what the spec documents).
//! What it does not check: `pattern`, `discriminator`, string lengths. A `$ref` to a definition that was
//! not extracted is not an error: the value under it is not checked and the ref is listed in
//! [`Report::unresolved`], so a test can say exactly what went unchecked.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

/// Which fixture an external `$ref` file path points to (by its ending).
const EXTERNAL_FILES: &[(&str, &str)] = &[
    ("common-types/resource-management/v4/types.json", "common-types-v4"),
    ("common-types/resource-management/v6/types.json", "common-types-v6"),
];

/// The extracted definitions, by fixture name (file stem).
#[derive(Debug, Clone)]
pub struct Specs {
    files: BTreeMap<String, Map<String, Value>>,
}

/// How to judge a body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Properties the spec does not declare are errors.
    pub strict: bool,
    /// The document as it was read: a read-only property may be sent only with the value read. `None` =
    /// read-only properties must not be sent at all.
    pub baseline: Option<&'a Value>,
}

/// One problem, at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Issue {
    /// Where.
    pub path: String,
    /// What.
    pub message: String,
}

/// The result of a check.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Problems found.
    pub issues: Vec<Issue>,
    /// `$ref`s that could not be followed (not extracted); the values under them were not checked.
    pub unresolved: BTreeSet<String>,
    /// Values checked against a resolved schema.
    pub checked: usize,
}

impl Report {
    /// Issues under `prefix` (a JSON pointer).
    pub fn issues_under(&self, prefix: &str) -> Vec<&Issue> {
        self.issues.iter().filter(|i| i.path.starts_with(prefix)).collect()
    }
}

/// A schema reached while walking: the fixture it lives in and the schema itself.
type At<'s> = (&'s str, &'s Value);

/// What an object schema declares once its `allOf` parents are merged in.
#[derive(Default)]
struct ObjectShape<'s> {
    properties: BTreeMap<&'s str, At<'s>>,
    required: Vec<&'s str>,
    additional: Option<At<'s>>,
    closed: bool,
}

struct Walk<'a, 's> {
    specs: &'s Specs,
    options: Options<'a>,
    report: Report,
}

impl Specs {
    /// Loads every `tests/fixtures/spec/*.json`; a missing or broken file fails the test.
    pub fn load() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec");
        let mut files = BTreeMap::new();
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries.map(|e| e.expect("dir entry").path()).filter(|p| p.extension().is_some_and(|x| x == "json")) {
            let text = std::fs::read_to_string(&entry).unwrap_or_else(|e| panic!("read {}: {e}", entry.display()));
            let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
            let defs =
                doc.get("definitions").and_then(Value::as_object).cloned().unwrap_or_else(|| panic!("{}: no definitions", entry.display()));
            let stem = entry.file_stem().and_then(|s| s.to_str()).expect("file stem").to_string();
            files.insert(stem, defs);
        }
        Self { files }
    }

    /// Specs from inline definitions (for testing the checker itself).
    pub fn inline(name: &str, definitions: Value) -> Self {
        let defs = definitions.as_object().cloned().expect("definitions object");
        Self { files: BTreeMap::from([(name.to_string(), defs)]) }
    }

    /// Checks `value` against definition `definition` of fixture `file`.
    pub fn check(&self, file: &str, definition: &str, value: &Value, options: Options<'_>) -> Report {
        let at = self.definition(file, definition).unwrap_or_else(|| panic!("no definition {definition} in spec fixture {file}"));
        let mut walk = Walk { specs: self, options, report: Report::default() };
        walk.value(at, value, "");
        walk.report.issues.sort();
        walk.report
    }

    fn definition(&self, file: &str, name: &str) -> Option<At<'_>> {
        let (key, defs) = self.files.get_key_value(file)?;
        defs.get(name).map(|d| (key.as_str(), d))
    }
}

fn pointer_push(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

impl<'s> Walk<'_, 's> {
    fn issue(&mut self, path: &str, message: impl Into<String>) {
        self.report.issues.push(Issue { path: path.to_string(), message: message.into() });
    }

    /// Follows `$ref`s; `None` (and the ref listed as unresolved) when one cannot be followed.
    fn resolve(&mut self, at: At<'s>) -> Option<At<'s>> {
        let (mut file, mut schema) = at;
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { return Some((file, schema)) };
            let (target_file, name) = match reference.split_once("#/definitions/") {
                Some(("", name)) => (Some(file), name),
                Some((path, name)) => (EXTERNAL_FILES.iter().find(|(end, _)| path.ends_with(end)).map(|(_, f)| *f), name),
                None => (None, ""),
            };
            match target_file.and_then(|f| self.specs.definition(f, name)) {
                Some((f, s)) => (file, schema) = (f, s),
                None => {
                    self.report.unresolved.insert(reference.to_string());
                    return None;
                }
            }
        }
        self.report.unresolved.insert("($ref chain too long)".into());
        None
    }

    fn is_read_only(&mut self, at: At<'s>) -> bool {
        if at.1.get("readOnly") == Some(&Value::Bool(true)) {
            return true;
        }
        self.resolve(at).is_some_and(|(_, s)| s.get("readOnly") == Some(&Value::Bool(true)))
    }

    fn value(&mut self, at: At<'s>, value: &Value, path: &str) {
        let Some((file, schema)) = self.resolve(at) else { return };
        self.report.checked += 1;
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            self.issue(path, format!("{value} is not one of {}", Value::Array(allowed.clone())));
        }
        let declared = schema.get("type").and_then(Value::as_str);
        let objectish = schema.get("properties").is_some() || schema.get("allOf").is_some() || schema.get("additionalProperties").is_some();
        match declared {
            Some("object") => self.object((file, schema), value, path),
            None if objectish => self.object((file, schema), value, path),
            Some("array") => self.array((file, schema), value, path),
            Some("string") => self.string(schema, value, path),
            Some("integer") => self.integer(schema, value, path),
            Some("number") => self.number(schema, value, path),
            Some("boolean") if !value.is_boolean() => self.issue(path, format!("{value} is not a boolean")),
            _ => {}
        }
    }

    fn shape(&mut self, at: At<'s>, shape: &mut ObjectShape<'s>, depth: usize) {
        let Some((file, schema)) = self.resolve(at) else { return };
        if depth > 16 {
            return;
        }
        for parent in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.shape((file, parent), shape, depth + 1);
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            shape.properties.extend(props.iter().map(|(k, v)| (k.as_str(), (file, v))));
        }
        shape.required.extend(schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => shape.closed = true,
            Some(Value::Bool(true)) => {}
            Some(extra) => shape.additional = Some((file, extra)),
            None => {}
        }
    }

    fn object(&mut self, at: At<'s>, value: &Value, path: &str) {
        let Some(map) = value.as_object() else { return self.issue(path, format!("{value} is not an object")) };
        let mut shape = ObjectShape::default();
        self.shape(at, &mut shape, 0);
        for name in &shape.required {
            if !map.contains_key(*name) {
                self.issue(&pointer_push(path, name), "required property is missing");
            }
        }
        for (key, item) in map {
            let item_path = pointer_push(path, key);
            match (shape.properties.get(key.as_str()).copied(), shape.additional) {
                (Some(prop), _) => {
                    if self.is_read_only(prop) {
                        self.read_only(item, &item_path);
                    }
                    self.value(prop, item, &item_path);
                }
                (None, Some(extra)) => self.value(extra, item, &item_path),
                (None, None) if shape.closed => self.issue(&item_path, "property not allowed (additionalProperties: false)"),
                (None, None) if self.options.strict => self.issue(&item_path, "property not in the spec"),
                (None, None) => {}
            }
        }
    }

    fn read_only(&mut self, item: &Value, path: &str) {
        match self.options.baseline {
            None => self.issue(path, "read-only property sent"),
            Some(read) if read.pointer(path) != Some(item) => self.issue(path, "read-only property added or changed (not as read)"),
            Some(_) => {}
        }
    }

    fn array(&mut self, at: At<'s>, value: &Value, path: &str) {
        let (file, schema) = at;
        let Some(items) = value.as_array() else { return self.issue(path, format!("{value} is not an array")) };
        let bound = |k: &str| schema.get(k).and_then(Value::as_u64).map(|n| n as usize);
        if bound("minItems").is_some_and(|min| items.len() < min) || bound("maxItems").is_some_and(|max| items.len() > max) {
            self.issue(path, format!("{} items is outside minItems/maxItems", items.len()));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.value((file, item_schema), item, &format!("{path}/{i}"));
            }
        }
    }

    fn string(&mut self, schema: &Value, value: &Value, path: &str) {
        let Some(s) = value.as_str() else { return self.issue(path, format!("{value} is not a string")) };
        let ok = match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => {
                s.len() == 36
                    && s.chars().enumerate().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
            }
            Some("arm-id") => s.starts_with("/subscriptions/") || s.starts_with("/providers/"),
            Some("uri") => url::Url::parse(s).is_ok(),
            _ => true,
        };
        if !ok {
            self.issue(path, format!("{s:?} is not a valid {}", schema["format"]));
        }
    }

    fn integer(&mut self, schema: &Value, value: &Value, path: &str) {
        let Some(n) = value.as_i64() else { return self.issue(path, format!("{value} is not an integer")) };
        if schema.get("format").and_then(Value::as_str) == Some("int32") && i32::try_from(n).is_err() {
            self.issue(path, format!("{n} does not fit int32"));
        }
        self.bounds(schema, n as f64, path);
    }

    fn number(&mut self, schema: &Value, value: &Value, path: &str) {
        match value.as_f64() {
            Some(n) => self.bounds(schema, n, path),
            None => self.issue(path, format!("{value} is not a number")),
        }
    }

    fn bounds(&mut self, schema: &Value, n: f64, path: &str) {
        let limit = |k: &str| schema.get(k).and_then(Value::as_f64);
        if limit("minimum").is_some_and(|m| n < m) || limit("maximum").is_some_and(|m| n > m) {
            self.issue(path, format!("{n} is outside minimum/maximum"));
        }
    }
}
