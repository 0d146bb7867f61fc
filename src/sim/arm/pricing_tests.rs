use serde_json::{Value, json};

use super::gating_on;
use crate::sim::arm::test_support::*;
use crate::sim::options::SimOptions;

const V: &str = "2024-01-01";

fn path(sub: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers")
}

fn gating_body(gating: &str) -> Value {
    json!({"properties": {"pricingTier": "Standard", "extensions": [
        {"name": "ContainerSensor", "isEnabled": "True", "additionalExtensionProperties": {"SecurityGatingEnabled": gating}},
        {"name": "ContainerIntegrityContribution", "isEnabled": "True"},
        {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": "True"}
    ]}})
}

#[test]
fn presets_by_subscription() {
    let (mut s, t0) = state();
    let full = s.handle_arm(&req_v("GET", &path(SUB1), None, V), t0).body.unwrap();
    assert_eq!(full["properties"]["pricingTier"], json!("Standard"));
    assert!(gating_on(&full["properties"]));
    assert_eq!(full["id"], json!(path(SUB1)));
    let off = s.handle_arm(&req_v("GET", &path(SUB2), None, V), t0).body.unwrap();
    assert_eq!(off["properties"]["pricingTier"], json!("Free"));
    assert!(!gating_on(&off["properties"]));
}

#[test]
fn put_stores_what_was_sent_plus_read_only() {
    let (mut s, t0) = state();
    let r = s.handle_arm(&req_v("PUT", &path(SUB2), Some(gating_body("True")), V), t0);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body.unwrap()["properties"]["extensions"][0]["operationStatus"]["code"], json!("Succeeded"));
    let got = s.handle_arm(&req_v("GET", &path(SUB2), None, V), t0).body.unwrap();
    let exts = got["properties"]["extensions"].as_array().unwrap();
    assert_eq!(exts.len(), 3, "nothing added, nothing kept from before");
    assert_eq!(exts[0]["additionalExtensionProperties"], json!({"SecurityGatingEnabled": "True"}));
    assert!(exts[0].get("operationStatus").is_none(), "operation status is not stored");
    assert!(got["properties"]["enablementTime"].is_string());
    assert_eq!(s.counts().pricings, 2, "the PUT replaced the seeded document of SUB2");
}

#[test]
fn reinstalling_gating_fails_and_changes_nothing() {
    let options = SimOptions { gating_exists_status: 400, gating_exists_code: "GatingExists".into(), ..SimOptions::default() };
    let (mut s, t0) = state_with(options);
    let before = s.handle_arm(&req_v("GET", &path(SUB1), None, V), t0).body.unwrap();
    let r = s.handle_arm(&req_v("PUT", &path(SUB1), Some(gating_body("true")), V), t0);
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("GatingExists"));
    assert_eq!(s.handle_arm(&req_v("GET", &path(SUB1), None, V), t0).body.unwrap(), before);
    let default = state().0.options.gating_exists_message;
    assert!(default.contains("already exists"));
    // Turning it on once where it is off works; the second time it is "already there".
    assert_eq!(s.handle_arm(&req_v("PUT", &path(SUB2), Some(gating_body("True")), V), t0).status, 200);
    assert_eq!(s.handle_arm(&req_v("PUT", &path(SUB2), Some(gating_body("True")), V), t0).status, 400);
    // A PUT that does not turn gating on is allowed.
    assert_eq!(s.handle_arm(&req_v("PUT", &path(SUB1), Some(gating_body("False")), V), t0).status, 200);
}

#[test]
fn boolean_is_enabled_is_rejected() {
    let (mut s, t0) = state();
    let body = json!({"properties": {"pricingTier": "Standard", "extensions": [{"name": "ContainerSensor", "isEnabled": true}]}});
    let r = s.handle_arm(&req_v("PUT", &path(SUB2), Some(body), V), t0);
    assert_eq!(r.status, 400);
    assert!(r.body.unwrap()["error"]["message"].as_str().unwrap().contains("a boolean"));
    let r = s.handle_arm(&req_v("PUT", &path(SUB2), Some(json!({"properties": {"pricingTier": "Gold"}})), V), t0);
    assert_eq!(r.status, 400);
}

#[test]
fn resource_scope_inherits_from_subscription() {
    let (mut s, t0) = state();
    let p = format!("{}/providers/Microsoft.Security/pricings/Containers", cluster_path("aks-1"));
    let got = s.handle_arm(&req_v("GET", &p, None, V), t0).body.unwrap();
    assert_eq!(got["properties"]["inherited"], json!("True"));
    assert_eq!(got["properties"]["pricingTier"], json!("Standard"));
}
