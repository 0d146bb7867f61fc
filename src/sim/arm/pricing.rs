//! `{scope}/providers/Microsoft.Security/pricings/{name}` (Defender plans), GET / PUT / list (azure-arm.md B).
//!
//! A subscription without a stored pricing answers the Free tier; a resource scope without one inherits
//! its subscription's (`inherited: "True"`). PUT is synchronous and stores exactly the sent `properties`
//! plus read-only fields (`freeTrialRemainingTime`, `enablementTime`, `inherited`, coverage); its response
//! also carries the operation status. A PUT
//! that turns on security gating (`ContainerSensor` → `additionalExtensionProperties.SecurityGatingEnabled`
//! "True", case-insensitive) where it is already on fails with `options.gating_exists_*` and changes nothing.
//! `isEnabled` must be the string "True"/"False": a JSON boolean is rejected, as the real enum would be.

use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

use crate::id::ResourceId;
use crate::sim::fleet::DefenderState;
use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common::{self, eq_ci, str_at};

/// The ARM type string of pricings.
pub const PRICING_TYPE: &str = "Microsoft.Security/pricings";

fn key(scope: &ResourceId, name: &str) -> String {
    format!("{}/providers/microsoft.security/pricings/{}", scope.key(), name.to_ascii_lowercase())
}

/// `properties` of the Containers plan for a preset.
pub fn preset(state: DefenderState) -> Value {
    let ext = |name: &str, on: bool| json!({"name": name, "isEnabled": if on { "True" } else { "False" }});
    let sensor = |gating: bool| {
        let mut props = json!({"InstallationMethod": "AKSAddon", "AutoProvisioning": "true", "AntiMalwareEnabled": "True"});
        if gating {
            props["SecurityGatingEnabled"] = json!("True");
        }
        json!({"name": "ContainerSensor", "isEnabled": "True", "additionalExtensionProperties": props})
    };
    match state {
        DefenderState::Off => json!({"pricingTier": "Free", "freeTrialRemainingTime": "P30D"}),
        DefenderState::Partial | DefenderState::Full => {
            let full = state == DefenderState::Full;
            json!({
                "pricingTier": "Standard",
                "freeTrialRemainingTime": "PT0S",
                "enablementTime": "2025-01-13T10:30:45.1234567Z",
                "extensions": [
                    ext("ContainerRegistriesVulnerabilityAssessments", true),
                    ext("AgentlessDiscoveryForKubernetes", true),
                    {"name": "AgentlessVmScanning", "isEnabled": "True", "additionalExtensionProperties": {"ExclusionTags": "[]"}},
                    sensor(full),
                    ext("ContainerIntegrityContribution", full)
                ]
            })
        }
    }
}

/// The full pricing document for `properties` at `scope`.
pub fn document(scope: &ResourceId, name: &str, properties: Value) -> Value {
    json!({"id": format!("{}/providers/{PRICING_TYPE}/{name}", scope.as_str()), "name": name, "type": PRICING_TYPE, "properties": properties})
}

/// Stores a pricing document (fleet seeding).
pub fn insert(state: &mut SimState, scope: &ResourceId, name: &str, properties: Value) {
    state.pricings.insert(key(scope, name), document(scope, name, properties));
}

/// The effective pricing at `scope` (stored, inherited or the Free default).
pub fn effective(state: &SimState, scope: &ResourceId, name: &str) -> Value {
    if let Some(doc) = state.pricings.get(&key(scope, name)) {
        return doc.clone();
    }
    let sub_text = format!("/subscriptions/{}", scope.subscription_id());
    match ResourceId::parse(&sub_text) {
        Ok(sub) if sub != *scope => {
            let mut props = effective(state, &sub, name)["properties"].clone();
            props["inherited"] = json!("True");
            props["inheritedFrom"] = json!(sub.as_str());
            document(scope, name, props)
        }
        _ => document(scope, name, preset(DefenderState::Off)),
    }
}

/// `GET` one pricing.
pub fn get(state: &SimState, scope: &ResourceId, name: &str) -> SimResponse {
    SimResponse::json(200, effective(state, scope, name))
}

/// `GET` the pricings at a scope: the stored ones, plus `Containers` when not stored.
pub fn list(state: &SimState, scope: &ResourceId) -> SimResponse {
    let prefix = format!("{}/providers/microsoft.security/pricings/", scope.key());
    let mut value: Vec<Value> = state.pricings.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, d)| d.clone()).collect();
    if !state.pricings.contains_key(&key(scope, "Containers")) {
        value.push(effective(state, scope, "Containers"));
    }
    SimResponse::json(200, json!({ "value": value }))
}

/// True when `properties` has the Standard tier with the sensor's security gating on.
pub fn gating_on(properties: &Value) -> bool {
    let standard = str_at(properties, "/pricingTier").is_some_and(|t| eq_ci(t, "Standard"));
    let sensor = properties
        .get("extensions")
        .and_then(Value::as_array)
        .and_then(|exts| exts.iter().find(|e| str_at(e, "/name").is_some_and(|n| eq_ci(n, "ContainerSensor"))));
    standard
        && sensor.is_some_and(|s| {
            str_at(s, "/isEnabled").is_some_and(|v| eq_ci(v, "true"))
                && str_at(s, "/additionalExtensionProperties/SecurityGatingEnabled").is_some_and(|v| eq_ci(v, "true"))
        })
}

/// `PUT` one pricing.
pub fn put(state: &mut SimState, req: &SimRequest, now: Instant, scope: &ResourceId, name: &str) -> SimResponse {
    match put_inner(state, req, now, scope, name) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn put_inner(state: &mut SimState, req: &SimRequest, now: Instant, scope: &ResourceId, name: &str) -> Result<SimResponse, SimResponse> {
    let body = common::object_body(req)?;
    let Some(Value::Object(props)) = body.get("properties") else {
        return Err(bad("The pricing body must have a 'properties' object."));
    };
    validate(props)?;
    let mut props = props.clone();
    let current = effective(state, scope, name);
    if gating_on(&Value::Object(props.clone())) && gating_on(&current["properties"]) {
        let o = &state.options;
        return Err(SimResponse::error(o.gating_exists_status, &o.gating_exists_code, &o.gating_exists_message));
    }
    let subscription_scope = scope.resource_group().is_none() && scope.resource_type().is_none();
    add_read_only(&mut props, &current["properties"], subscription_scope, state.wall(now));
    let doc = document(scope, name, Value::Object(props));
    state.pricings.insert(key(scope, name), doc.clone());
    Ok(SimResponse::json(200, with_operation_status(doc, subscription_scope)))
}

fn bad(message: &str) -> SimResponse {
    SimResponse::error(400, "BadRequest", message)
}

fn validate(props: &Map<String, Value>) -> Result<(), SimResponse> {
    match props.get("pricingTier").and_then(Value::as_str) {
        Some(t) if eq_ci(t, "Free") || eq_ci(t, "Standard") => {}
        _ => return Err(bad("properties.pricingTier is required and must be 'Free' or 'Standard'.")),
    }
    let Some(exts) = props.get("extensions") else { return Ok(()) };
    let Some(exts) = exts.as_array() else { return Err(bad("properties.extensions must be an array.")) };
    for (i, ext) in exts.iter().enumerate() {
        if str_at(ext, "/name").is_none_or(str::is_empty) {
            return Err(bad(&format!("properties.extensions[{i}].name is required.")));
        }
        match ext.get("isEnabled") {
            Some(Value::String(v)) if eq_ci(v, "True") || eq_ci(v, "False") => {}
            other => {
                return Err(bad(&format!(
                    "properties.extensions[{i}].isEnabled must be the string \"True\" or \"False\", not {}.",
                    other.map_or("missing", common::json_kind)
                )));
            }
        }
        if ext.get("additionalExtensionProperties").is_some_and(|a| !a.is_object() && !a.is_null()) {
            return Err(bad(&format!("properties.extensions[{i}].additionalExtensionProperties must be an object of strings.")));
        }
    }
    Ok(())
}

fn add_read_only(props: &mut Map<String, Value>, current: &Value, subscription_scope: bool, wall: time::OffsetDateTime) {
    let standard = props.get("pricingTier").and_then(Value::as_str).is_some_and(|t| eq_ci(t, "Standard"));
    let was_standard = str_at(current, "/pricingTier").is_some_and(|t| eq_ci(t, "Standard"));
    props.insert("freeTrialRemainingTime".into(), json!(if standard { "PT0S" } else { "P30D" }));
    if standard {
        let since = str_at(current, "/enablementTime").filter(|_| was_standard).map(str::to_string);
        props.insert("enablementTime".into(), json!(since.unwrap_or_else(|| wall.format(&Rfc3339).unwrap_or_default())));
    } else {
        props.remove("enablementTime");
    }
    if !subscription_scope {
        props.insert("inherited".into(), json!("False"));
        props.insert("inheritedFrom".into(), Value::Null);
        return;
    }
    props.entry("enforce").or_insert(json!("False"));
    if standard {
        props.insert("resourcesCoverageStatus".into(), json!("FullyCovered"));
    }
}

/// The PUT response carries the operation status (per extension at subscription scope, for the whole
/// pricing at resource scope, as in the official examples); GET does not.
fn with_operation_status(mut doc: Value, subscription_scope: bool) -> Value {
    if !subscription_scope {
        doc["properties"]["operationStatus"] = json!({"code": "Succeeded", "message": "OK"});
        return doc;
    }
    if let Some(exts) = doc.pointer_mut("/properties/extensions").and_then(Value::as_array_mut) {
        for ext in exts.iter_mut().filter(|e| str_at(e, "/isEnabled").is_some_and(|v| eq_ci(v, "true"))) {
            ext["operationStatus"] = json!({"code": "Succeeded", "message": "Successfully enabled extension"});
        }
    }
    doc
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;
