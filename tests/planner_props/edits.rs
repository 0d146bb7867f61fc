//! The rules every cluster edit must keep: only fleetgate's own fields change, existing
//! `securityGating.identities` entries stay (in order, unchanged), `allowSecretAccess` never changes,
//! nothing is ever switched off.

use serde_json::Value;

const GATING: &str = "/properties/securityProfile/defender/securityGating";

/// Fields an edit may change, as (parent pointer, key).
const OWNED: [(&str, &str); 5] = [
    (GATING, "enabled"),
    (GATING, "identities"),
    ("/properties/oidcIssuerProfile", "enabled"),
    ("/properties/oidcIssuerProfile", "issuerURL"),
    ("/properties/securityProfile/workloadIdentity", "enabled"),
];

/// Parents an edit may have created, innermost first (removed again when empty after stripping).
const CREATED: [&str; 5] = [
    GATING,
    "/properties/securityProfile/defender",
    "/properties/securityProfile/workloadIdentity",
    "/properties/securityProfile",
    "/properties/oidcIssuerProfile",
];

/// `doc` without the fields fleetgate owns.
pub fn strip_owned(doc: &Value) -> Value {
    let mut doc = doc.clone();
    for (parent, key) in OWNED {
        if let Some(obj) = doc.pointer_mut(parent).and_then(Value::as_object_mut) {
            obj.remove(key);
        }
    }
    for pointer in CREATED {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or_default();
        let empty = doc.pointer(pointer).and_then(Value::as_object).is_some_and(|o| o.is_empty());
        if let (true, Some(obj)) = (empty, doc.pointer_mut(parent).and_then(Value::as_object_mut)) {
            obj.remove(key);
        }
    }
    doc
}

/// The gating entries, empty when absent.
pub fn entries(doc: &Value) -> Vec<Value> {
    doc.pointer(&format!("{GATING}/identities")).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// `allowSecretAccess` as found (absent = `None`).
pub fn allow_secret_access(doc: &Value) -> Option<Value> {
    doc.pointer(&format!("{GATING}/allowSecretAccess")).cloned()
}

/// Panics when `after` breaks an edit rule relative to `before`.
pub fn check_cluster_edit(before: &Value, after: &Value) {
    assert_eq!(strip_owned(before), strip_owned(after), "an edit changed a field fleetgate does not own");
    let (old, new) = (entries(before), entries(after));
    assert!(
        new.len() >= old.len() && new[..old.len()] == old[..],
        "existing gating entries were dropped or changed:\n{old:#?}\n→ {new:#?}"
    );
    assert_eq!(allow_secret_access(before), allow_secret_access(after), "allowSecretAccess changed");
    for pointer in [
        format!("{GATING}/enabled"),
        "/properties/oidcIssuerProfile/enabled".into(),
        "/properties/securityProfile/workloadIdentity/enabled".into(),
    ] {
        let on = |d: &Value| d.pointer(&pointer) == Some(&Value::Bool(true));
        assert!(!on(before) || on(after), "{pointer} was switched off");
    }
}
