use std::time::Duration;

use serde_json::{Value, json};

use crate::sim::arm::test_support::*;
use crate::sim::options::SimOptions;

fn identity_path() -> String {
    format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gate")
}

fn fic_path(name: &str) -> String {
    format!("{}/federatedIdentityCredentials/{name}", identity_path())
}

fn fic_body(issuer: &str, subject: &str) -> Value {
    json!({"properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}})
}

fn with_identity(options: SimOptions) -> (crate::sim::state::SimState, tokio::time::Instant) {
    let (mut s, t0) = state_with(options);
    assert_eq!(s.handle_arm(&req("PUT", &identity_path(), Some(json!({"location": "westeurope"}))), t0).status, 201);
    (s, t0)
}

#[test]
fn create_update_get_list_delete() {
    let (mut s, t0) = with_identity(SimOptions::default());
    let r = s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "sub"))), t0);
    assert_eq!(r.status, 201);
    let r = s.handle_arm(&req("PUT", &fic_path("FIC-1"), Some(fic_body("https://b.example/", "sub"))), t0);
    assert_eq!(r.status, 200, "same name (any case) is an update");
    let got = s.handle_arm(&req("GET", &fic_path("fic-1"), None), t0).body.unwrap();
    assert_eq!(got["properties"]["issuer"], json!("https://b.example/"));
    assert_eq!(got["name"], json!("fic-1"));
    let list = s.handle_arm(&req("GET", &format!("{}/federatedIdentityCredentials", identity_path()), None), t0).body.unwrap();
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(s.handle_arm(&req("DELETE", &fic_path("fic-1"), None), t0).status, 200);
    assert_eq!(s.handle_arm(&req("GET", &fic_path("fic-1"), None), t0).status, 404);
}

#[test]
fn name_must_match_the_regex() {
    let (mut s, t0) = with_identity(SimOptions::default());
    for bad in ["ab", "-abc", "a.bc", &"a".repeat(121)] {
        let r = s.handle_arm(&req("PUT", &fic_path(bad), Some(fic_body("https://a.example/", "s"))), t0);
        assert_eq!(r.status, 400, "{bad}");
    }
    let ok = s.handle_arm(&req("PUT", &fic_path(&"a".repeat(120)), Some(fic_body("https://a.example/", "s"))), t0);
    assert_eq!(ok.status, 201);
}

#[test]
fn exactly_one_audience_and_required_properties() {
    let (mut s, t0) = with_identity(SimOptions::default());
    let two = json!({"properties": {"issuer": "https://a.example/", "subject": "s", "audiences": ["x", "y"]}});
    let r = s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(two)), t0);
    assert_eq!(r.status, 400);
    assert!(r.body.unwrap()["error"]["message"].as_str().unwrap().contains("exactly one audience"));
    let none = json!({"properties": {"issuer": "https://a.example/", "subject": "s", "audiences": []}});
    assert_eq!(s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(none)), t0).status, 400);
    let empty = json!({"properties": {}});
    let r = s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(empty)), t0);
    assert!(r.body.unwrap()["error"]["message"].as_str().unwrap().contains("empty properties"));
    let no_subject = json!({"properties": {"issuer": "https://a.example/", "audiences": ["a"]}});
    assert_eq!(s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(no_subject)), t0).status, 400);
}

#[test]
fn at_most_twenty_per_identity() {
    let (mut s, t0) = with_identity(SimOptions::default());
    for i in 0..20 {
        let r = s.handle_arm(&req("PUT", &fic_path(&format!("fic-{i}")), Some(fic_body("https://a.example/", &format!("s{i}")))), t0);
        assert_eq!(r.status, 201, "{i}");
    }
    let r = s.handle_arm(&req("PUT", &fic_path("fic-20"), Some(fic_body("https://a.example/", "s20"))), t0);
    assert_eq!(r.status, 400);
    let update = s.handle_arm(&req("PUT", &fic_path("fic-3"), Some(fic_body("https://a.example/", "s3b"))), t0);
    assert_eq!(update.status, 200, "updates still work at the limit");
}

#[test]
fn issuer_subject_unique_under_another_name() {
    let (mut s, t0) = with_identity(SimOptions::default());
    s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "sub"))), t0);
    let r = s.handle_arm(&req("PUT", &fic_path("fic-2"), Some(fic_body("https://a.example/", "sub"))), t0);
    assert_eq!(r.status, 400);
    assert_eq!(r.body.unwrap()["error"]["message"], json!("Issuer and subject combination already exists for this Managed Identity."));
    let same_name = s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "sub"))), t0);
    assert_eq!(same_name.status, 200);
}

#[test]
fn parent_identity_must_exist() {
    let (mut s, t0) = state();
    assert_eq!(s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "s"))), t0).status, 404);
    assert_eq!(s.handle_arm(&req("GET", &format!("{}/federatedIdentityCredentials", identity_path()), None), t0).status, 404);
}

#[test]
fn overlapping_writes_on_one_identity_conflict() {
    let options = SimOptions { fic_write_duration: Duration::from_millis(500), ..SimOptions::default() };
    let (mut s, t0) = with_identity(options);
    assert_eq!(s.handle_arm(&req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "s1"))), t0).status, 201);
    let r = s.handle_arm(&req("PUT", &fic_path("fic-2"), Some(fic_body("https://a.example/", "s2"))), t0 + Duration::from_millis(100));
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), Some("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"));
    let later = s.handle_arm(&req("PUT", &fic_path("fic-2"), Some(fic_body("https://a.example/", "s2"))), t0 + Duration::from_millis(500));
    assert_eq!(later.status, 201);
    assert_eq!(s.counts().fics, 2);
}

#[test]
fn zero_write_duration_never_conflicts() {
    let (mut s, t0) = with_identity(SimOptions::default());
    for i in 0..3 {
        let r = s.handle_arm(&req("PUT", &fic_path(&format!("fic-{i}")), Some(fic_body("https://a.example/", &format!("s{i}")))), t0);
        assert_eq!(r.status, 201);
    }
}

#[test]
fn if_none_match_star_creates_only() {
    let (mut s, t0) = with_identity(SimOptions::default());
    let create = || with_header(req("PUT", &fic_path("fic-1"), Some(fic_body("https://a.example/", "sub"))), "If-None-Match", "*");
    assert_eq!(s.handle_arm(&create(), t0).status, 201);
    let again = s.handle_arm(&create(), t0);
    assert_eq!((again.status, again.error_code()), (412, Some("PreconditionFailed")));
    let identity_again = with_header(req("PUT", &identity_path(), Some(json!({"location": "westeurope"}))), "If-None-Match", "*");
    assert_eq!(s.handle_arm(&identity_again, t0).status, 412, "identities honor it too");
    assert_eq!(
        s.handle_arm(&req("PUT", &identity_path(), Some(json!({"location": "westeurope"}))), t0).status,
        200,
        "without it: an update"
    );
}

#[test]
fn identity_and_fic_answers_are_shaped_as_recorded() {
    let (mut s, t0) = crate::sim::arm::test_support::state();
    let recorded_identity = crate::sim::arm::test_support::recorded("identity-put-201.json");
    let recorded_fic = crate::sim::arm::test_support::recorded("fic-put-201.json");
    let mi = format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gate");
    let old = s.handle_arm(&req_v("PUT", &mi, Some(json!({"location": "westeurope"})), "2023-01-31"), t0).body.unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&old), keys(&recorded_identity), "no systemData");
    assert_eq!(keys(&old["properties"]), keys(&recorded_identity["properties"]), "no isolationScope before 2024-11-30");
    assert!(old["id"].as_str().unwrap().contains("/resourcegroups/rg-a/"), "{}", old["id"]);
    let new = s.handle_arm(&req_v("GET", &mi, None, "2024-11-30"), t0).body.unwrap();
    assert_eq!(new["properties"]["isolationScope"], json!("None"));
    let fic = json!({"properties": {"issuer": "https://issuer.example/", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}});
    let created =
        s.handle_arm(&req_v("PUT", &format!("{mi}/federatedIdentityCredentials/fic1"), Some(fic), "2023-01-31"), t0).body.unwrap();
    assert_eq!(keys(&created), keys(&recorded_fic), "no systemData");
    assert_eq!(created["id"], json!(format!("{}/federatedIdentityCredentials/fic1", old["id"].as_str().unwrap())));
}
