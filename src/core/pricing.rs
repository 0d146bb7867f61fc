//! The Containers plan edit: GET body → PUT body that keeps every existing extension and property and
//! turns on what gated deployment needs.

use serde_json::{Map, Value, json};

use crate::core::model::PricingView;

/// The Defender sensor extension.
pub const CONTAINER_SENSOR: &str = "ContainerSensor";
/// The sensor property that turns security gating on.
pub const SECURITY_GATING_ENABLED: &str = "SecurityGatingEnabled";
/// "Registry access".
pub const REGISTRY_ASSESSMENTS: &str = "ContainerRegistriesVulnerabilityAssessments";
/// "Security findings".
pub const INTEGRITY_CONTRIBUTION: &str = "ContainerIntegrityContribution";
/// Name used in [`missing_for_gating`] for a tier other than Standard.
pub const STANDARD_TIER: &str = "pricingTier=Standard";

/// Read-only pricing properties a PUT must not send back.
const READ_ONLY_PROPERTIES: &[&str] = &[
    "freeTrialRemainingTime",
    "enablementTime",
    "deprecated",
    "replacedBy",
    "inherited",
    "inheritedFrom",
    "resourcesCoverageStatus",
    "operationStatus",
];

/// What the plan lacks for gating, in a fixed order (empty = ready). `None` = no pricing found.
pub fn missing_for_gating(pricing: Option<&PricingView>) -> Vec<&'static str> {
    let Some(p) = pricing else {
        return vec![STANDARD_TIER, CONTAINER_SENSOR, SECURITY_GATING_ENABLED, REGISTRY_ASSESSMENTS, INTEGRITY_CONTRIBUTION];
    };
    let enabled = |name: &str| p.extension(name).is_some_and(|e| e.is_enabled);
    let gating_on =
        p.extension(CONTAINER_SENSOR).and_then(|e| e.property(SECURITY_GATING_ENABLED)).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut missing = Vec::new();
    if !p.is_standard() {
        missing.push(STANDARD_TIER);
    }
    if !enabled(CONTAINER_SENSOR) {
        missing.push(CONTAINER_SENSOR);
    }
    if !gating_on {
        missing.push(SECURITY_GATING_ENABLED);
    }
    for name in [REGISTRY_ASSESSMENTS, INTEGRITY_CONTRIBUTION] {
        if !enabled(name) {
            missing.push(name);
        }
    }
    missing
}

/// True when the plan is Standard with the sensor, security gating, registry access and security findings on.
pub fn is_gating_ready(pricing: &PricingView) -> bool {
    missing_for_gating(Some(pricing)).is_empty()
}

/// Builds the PUT body from the GET body (`None` or non-object = no pricing yet): `{"properties": …}`
/// with every existing property and extension kept, read-only fields dropped, and the tier, the sensor
/// (with `SecurityGatingEnabled`), registry access and security findings switched on.
pub fn merge_for_gating(current: Option<&Value>) -> Value {
    let mut props = current.and_then(|c| c.get("properties")).and_then(Value::as_object).cloned().unwrap_or_default();
    for key in READ_ONLY_PROPERTIES {
        props.remove(*key);
    }
    if !props.get("pricingTier").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("standard")) {
        props.insert("pricingTier".into(), json!("Standard"));
    }
    let mut extensions = match props.remove("extensions") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    for ext in &mut extensions {
        if let Value::Object(map) = ext {
            map.remove("operationStatus");
        }
    }
    for name in [CONTAINER_SENSOR, REGISTRY_ASSESSMENTS, INTEGRITY_CONTRIBUTION] {
        let ext = extension_mut(&mut extensions, name);
        if !ext.get("isEnabled").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            ext.insert("isEnabled".into(), json!("True"));
        }
        if name == CONTAINER_SENSOR {
            enable_sensor_gating(ext);
        }
    }
    props.insert("extensions".into(), Value::Array(extensions));
    json!({ "properties": props })
}

/// The extension named `name` (case-insensitive), appended when absent.
fn extension_mut<'a>(extensions: &'a mut Vec<Value>, name: &str) -> &'a mut Map<String, Value> {
    let pos = extensions.iter().position(|e| e.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)));
    let index = match pos {
        Some(i) => i,
        None => {
            extensions.push(json!({ "name": name }));
            extensions.len() - 1
        }
    };
    let slot = &mut extensions[index];
    if !slot.is_object() {
        *slot = json!({ "name": name });
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("replaced by an object above"),
    }
}

fn enable_sensor_gating(sensor: &mut Map<String, Value>) {
    let props = sensor.entry("additionalExtensionProperties").or_insert_with(|| json!({}));
    if !props.is_object() {
        *props = json!({});
    }
    let Value::Object(props) = props else { return };
    let key = props
        .keys()
        .find(|k| k.eq_ignore_ascii_case(SECURITY_GATING_ENABLED))
        .cloned()
        .unwrap_or_else(|| SECURITY_GATING_ENABLED.to_string());
    if !props.get(&key).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        props.insert(key, json!("True"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::fixture_body;

    const GET: &str = "Microsoft.Security/GetResourcePricingByNameContainers_example.json";

    fn view(v: &Value) -> PricingView {
        PricingView::from_json(v).unwrap()
    }

    #[test]
    fn fixture_lacks_only_security_gating() {
        let p = view(&fixture_body(GET, "200"));
        assert_eq!(missing_for_gating(Some(&p)), vec![SECURITY_GATING_ENABLED]);
        assert!(!is_gating_ready(&p));
    }

    #[test]
    fn absent_and_free_pricing_miss_everything() {
        let all = vec![STANDARD_TIER, CONTAINER_SENSOR, SECURITY_GATING_ENABLED, REGISTRY_ASSESSMENTS, INTEGRITY_CONTRIBUTION];
        assert_eq!(missing_for_gating(None), all);
        assert_eq!(missing_for_gating(Some(&view(&json!({"properties": {"pricingTier": "Free"}})))), all);
    }

    #[test]
    fn merge_keeps_unknown_extensions_and_properties_and_drops_read_only() {
        let mut get = fixture_body(GET, "200");
        get["properties"]["enforce"] = json!("False");
        get["properties"]["futureProperty"] = json!({"a": 1});
        get["properties"]["extensions"].as_array_mut().unwrap().push(json!({"name": "FutureExtension", "isEnabled": "False",
            "additionalExtensionProperties": {"K": "V"}, "operationStatus": {"code": "Succeeded"}}));
        let put = merge_for_gating(Some(&get));
        let props = put["properties"].as_object().unwrap();
        assert_eq!(put.as_object().unwrap().len(), 1, "only properties are sent");
        assert_eq!(props["enforce"], "False");
        assert_eq!(props["futureProperty"], json!({"a": 1}));
        for ro in ["freeTrialRemainingTime", "enablementTime", "inherited", "inheritedFrom"] {
            assert!(!props.contains_key(ro), "{ro} kept");
        }
        let exts = props["extensions"].as_array().unwrap();
        assert_eq!(exts.len(), 6);
        assert_eq!(exts[5], json!({"name": "FutureExtension", "isEnabled": "False", "additionalExtensionProperties": {"K": "V"}}));
        assert_eq!(exts[2]["additionalExtensionProperties"]["ExclusionTags"], "[]");
        let sensor = exts.iter().find(|e| e["name"] == CONTAINER_SENSOR).unwrap();
        assert_eq!(sensor["additionalExtensionProperties"][SECURITY_GATING_ENABLED], "True");
        assert!(is_gating_ready(&view(&put)));
    }

    #[test]
    fn merge_turns_on_what_is_off_and_keeps_sensor_properties() {
        let get = json!({"properties": {"pricingTier": "Free", "extensions": [
            {"name": "containersensor", "isEnabled": "False", "additionalExtensionProperties": {"AntiMalwareEnabled": "True", "securitygatingenabled": "false"}},
            {"name": "ContainerIntegrityContribution", "isEnabled": "true"}]}});
        let put = merge_for_gating(Some(&get));
        assert_eq!(put["properties"]["pricingTier"], "Standard");
        let exts = put["properties"]["extensions"].as_array().unwrap();
        assert_eq!(exts[0]["isEnabled"], "True");
        assert_eq!(exts[0]["additionalExtensionProperties"], json!({"AntiMalwareEnabled": "True", "securitygatingenabled": "True"}));
        assert_eq!(exts[1]["isEnabled"], "true", "already-on values are left as they were");
        assert_eq!(exts[2], json!({"name": REGISTRY_ASSESSMENTS, "isEnabled": "True"}));
        assert!(is_gating_ready(&view(&put)));
    }

    #[test]
    fn merge_from_nothing_and_idempotent() {
        let fresh = merge_for_gating(None);
        assert!(is_gating_ready(&view(&fresh)));
        assert_eq!(merge_for_gating(Some(&fresh)), fresh);
        assert_eq!(merge_for_gating(Some(&json!("garbage"))), fresh);
    }
}
