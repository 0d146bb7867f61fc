//! Validates real command output against `docs/schemas/<name>.schema.json` with the `jsonschema`
//! crate (JSON Schema 2020-12; the schemas are self-contained, nothing is fetched).

use std::path::PathBuf;

use serde_json::Value;

/// The schema file `docs/schemas/<name>.schema.json`, parsed.
pub fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/schemas").join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every way `instance` breaks the schema `name` (empty = valid).
pub fn errors(name: &str, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema(name)).unwrap_or_else(|e| panic!("{name}.schema.json is not a valid schema: {e}"));
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Panics with every error unless `instance` is valid against the schema `name`.
pub fn assert_valid(name: &str, instance: &Value) {
    let errors = errors(name, instance);
    assert!(errors.is_empty(), "{name} output does not match docs/schemas/{name}.schema.json:\n{}\n{instance:#}", errors.join("\n"));
}
