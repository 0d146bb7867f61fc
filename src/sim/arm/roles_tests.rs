use std::time::Duration;

use serde_json::{Value, json};

use super::{ACR_PULL, RoleFilter};
use crate::sim::arm::test_support::*;
use crate::sim::options::SimOptions;

const NAME: &str = "0b5fe924-9a61-425c-96af-cfe6e287ca2d";
const NAME2: &str = "1b5fe924-9a61-425c-96af-cfe6e287ca2d";

fn ra_path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

fn acr_pull_body(principal: &str, typed: bool) -> Value {
    let mut props = json!({
        "roleDefinitionId": format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"),
        "principalId": principal,
    });
    if typed {
        props["principalType"] = json!("ServicePrincipal");
    }
    json!({ "properties": props })
}

fn list(s: &mut crate::sim::state::SimState, scope: &str, filter: Option<&str>) -> Vec<Value> {
    let mut r = req("GET", &format!("{scope}/providers/Microsoft.Authorization/roleAssignments"), None);
    if let Some(f) = filter {
        r = with_query(r, "$filter", f);
    }
    let resp = s.handle_arm(&r, tokio::time::Instant::now());
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    resp.body.unwrap()["value"].as_array().unwrap().clone()
}

#[test]
fn seeded_attach_acr_assignments_have_random_names_and_short_role_ids() {
    let (mut s, _) = state();
    let found = list(&mut s, &format!("/subscriptions/{SUB1}"), Some(&format!("principalId eq '{KUBELET1}'")));
    assert_eq!(found.len(), 1, "acrOne in SUB1 (acrtwo is in SUB2)");
    let ra = &found[0];
    assert!(crate::id::is_guid(ra["name"].as_str().unwrap()));
    assert_eq!(ra["properties"]["roleDefinitionId"], json!(format!("/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}")));
    assert!(ra["properties"].get("principalType").is_none());
    assert!(ra["properties"]["scope"].as_str().unwrap().eq_ignore_ascii_case(&acr_one()));
    let sub2 = list(&mut s, &format!("/subscriptions/{SUB2}"), Some(&format!("principalId eq '{KUBELET1}'")));
    assert_eq!(sub2.len(), 1);
}

#[test]
fn create_get_delete_echoes_role_definition_as_sent() {
    let (mut s, t0) = state();
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(KUBELET1, false))), t0);
    assert_eq!(r.status, 409, "the fleet already attached acrOne: {:?}", r.body);
    let principal = "22222222-2222-2222-2222-222222222222";
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(principal, true))), t0);
    assert_eq!(r.status, 201);
    let doc = r.body.unwrap();
    assert_eq!(
        doc["properties"]["roleDefinitionId"],
        json!(format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}"))
    );
    assert_eq!(doc["type"], json!("Microsoft.Authorization/roleAssignments"));
    let upper = ra_path(&acr_one().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"), NAME);
    assert_eq!(s.handle_arm(&req("GET", &upper, None), t0).body.unwrap(), doc);
    let again = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(principal, true))), t0);
    assert_eq!(again.status, 200, "identical PUT is idempotent");
    assert_eq!(s.handle_arm(&req("DELETE", &ra_path(&acr_one(), NAME), None), t0).status, 200);
    assert_eq!(s.handle_arm(&req("GET", &ra_path(&acr_one(), NAME), None), t0).status, 404);
    assert_eq!(s.handle_arm(&req("DELETE", &ra_path(&acr_one(), NAME), None), t0).status, 204);
}

#[test]
fn exists_under_another_name_is_409() {
    let (mut s, t0) = state();
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(KUBELET1, true))), t0);
    assert_eq!(r.status, 409);
    let existing = s.role_assignments.values().find(|a| a.principal == KUBELET1).unwrap().doc["name"].as_str().unwrap().replace('-', "");
    assert_eq!(existing.len(), 32);
    let message = format!("The role assignment already exists. The ID of the existing role assignment is {existing}.");
    assert_eq!(r.body.unwrap(), json!({"error": {"code": "RoleAssignmentExists", "message": message}}), "as recorded");
}

#[test]
fn changing_an_existing_name_is_not_permitted() {
    let (mut s, t0) = state();
    let a = "22222222-2222-2222-2222-222222222222";
    let b = "33333333-3333-3333-3333-333333333333";
    assert_eq!(s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(a, true))), t0).status, 201);
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(b, true))), t0);
    assert_eq!(r.error_code(), Some("RoleAssignmentUpdateNotPermitted"));
}

#[test]
fn principal_not_found_unless_typed_or_replicated() {
    let options = SimOptions { replication_delay: Duration::from_secs(30), ..SimOptions::default() };
    let (mut s, t0) = state_with(options);
    let unknown = "44444444-4444-4444-4444-444444444444";
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(unknown, false))), t0);
    assert_eq!(r.error_code(), Some("PrincipalNotFound"));
    assert!(r.body.unwrap()["error"]["message"].as_str().unwrap().contains("replication delay"));
    // A fresh identity: unknown until the replication delay has passed.
    let mi = format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gate");
    let doc = s.handle_arm(&req("PUT", &mi, Some(json!({"location": "westeurope"}))), t0).body.unwrap();
    let pid = doc["properties"]["principalId"].as_str().unwrap();
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(pid, false))), t0 + Duration::from_secs(5));
    assert_eq!(r.error_code(), Some("PrincipalNotFound"));
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(pid, true))), t0 + Duration::from_secs(5));
    assert_eq!(r.status, 201, "principalType skips the lookup");
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME2), Some(acr_pull_body(pid, false))), t0 + Duration::from_secs(31));
    assert_eq!(r.error_code(), Some("RoleAssignmentExists"), "visible after the delay");
}

#[test]
fn name_and_role_definition_are_validated() {
    let (mut s, t0) = state();
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), "not-a-guid"), Some(acr_pull_body(KUBELET1, true))), t0);
    assert_eq!(r.error_code(), Some("InvalidRoleAssignmentId"));
    let body = json!({"properties": {"roleDefinitionId": "AcrPull", "principalId": KUBELET1}});
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(body)), t0);
    assert_eq!(r.error_code(), Some("InvalidRoleDefinitionId"));
}

#[test]
fn filters_at_above_and_below() {
    let (mut s, t0) = state();
    let p = "55555555-5555-5555-5555-555555555555";
    let sub = format!("/subscriptions/{SUB1}");
    let rg = format!("/subscriptions/{SUB1}/resourceGroups/rg-acr");
    for (scope, name) in [(&sub, NAME), (&acr_one(), NAME2)] {
        assert_eq!(s.handle_arm(&req("PUT", &ra_path(scope, name), Some(acr_pull_body(p, true))), t0).status, 201);
    }
    assert_eq!(list(&mut s, &rg, Some(&format!("principalId eq '{p}'"))).len(), 2, "above (sub) and below (acr)");
    assert_eq!(list(&mut s, &rg, Some(&format!("assignedTo('{p}')"))).len(), 2);
    assert_eq!(list(&mut s, &rg, Some(&format!("atScope() and assignedTo('{p}')"))).len(), 1, "only the inherited one");
    let at_acr = list(&mut s, &acr_one(), Some("atScope()"));
    assert_eq!(at_acr.len(), 3, "sub-level + acr-level for p + the kubelet attach");
    assert_eq!(list(&mut s, &acr_one(), None).len(), 3);
    let bad = s.handle_arm(
        &with_query(req("GET", &format!("{sub}/providers/Microsoft.Authorization/roleAssignments"), None), "$filter", "roleName eq 'x'"),
        t0,
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.unwrap()["error"]["message"].as_str().unwrap().contains("roleName eq 'x'"));
}

#[test]
fn filter_parser() {
    assert_eq!(RoleFilter::parse("atScope()").unwrap(), RoleFilter { at_scope: true, principal: None });
    assert_eq!(RoleFilter::parse("principalId eq 'AB'").unwrap().principal.as_deref(), Some("ab"));
    assert!(RoleFilter::parse("principalId eq 'a' and assignedTo('b')").is_err());
    assert!(RoleFilter::parse("principalId eq a").is_err());
    assert!(RoleFilter::parse("atScope() or assignedTo('b')").is_err());
}

#[test]
fn lists_page_with_next_link() {
    let options = SimOptions { list_page_size: 2, ..SimOptions::default() };
    let (mut s, t0) = state_with(options);
    let p = "55555555-5555-5555-5555-555555555555";
    for i in 0..5 {
        let name = format!("0b5fe924-9a61-425c-96af-cfe6e287ca2{i}");
        let body = json!({"properties": {
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/0000000{i}-0000-0000-0000-000000000000"),
            "principalId": p, "principalType": "User"}});
        assert_eq!(s.handle_arm(&req("PUT", &ra_path(&format!("/subscriptions/{SUB1}"), &name), Some(body)), t0).status, 201);
    }
    let base = format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleAssignments");
    let mut r = with_query(req("GET", &base, None), "$filter", &format!("principalId eq '{p}'"));
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let body = s.handle_arm(&r, t0).body.unwrap();
        seen += body["value"].as_array().unwrap().len();
        pages += 1;
        let Some(next) = body.get("nextLink").and_then(Value::as_str) else { break };
        let url = url::Url::parse(next).unwrap();
        assert_eq!(url.path(), base);
        r.query = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert!(r.query_param("$filter").is_some(), "nextLink keeps the filter");
    }
    assert_eq!((seen, pages), (5, 3));
}

#[test]
fn if_none_match_star_creates_only() {
    let (mut s, t0) = state();
    let a = "22222222-2222-2222-2222-222222222222";
    let create = || {
        with_header(
            req("PUT", &ra_path(&acr_one(), "44444444-4444-4444-4444-444444444444"), Some(acr_pull_body(a, true))),
            "If-None-Match",
            "*",
        )
    };
    assert_eq!(s.handle_arm(&create(), t0).status, 201);
    let again = s.handle_arm(&create(), t0);
    assert_eq!((again.status, again.error_code()), (412, Some("PreconditionFailed")));
}

#[test]
fn principal_filtered_lists_follow_creates_and_deletes() {
    let (mut s, t0) = state();
    let principal = "33333333-3333-3333-3333-333333333333";
    let filter = format!("principalId eq '{}'", principal.to_uppercase());
    let sub = format!("/subscriptions/{SUB1}");
    assert!(list(&mut s, &sub, Some(&filter)).is_empty());
    for name in [NAME, NAME2] {
        let scope = if name == NAME { acr_one() } else { sub.clone() };
        let r = s.handle_arm(&req("PUT", &ra_path(&scope, name), Some(acr_pull_body(principal, true))), t0);
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let names = |found: Vec<Value>| {
        let mut names: Vec<String> = found.iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(names(list(&mut s, &sub, Some(&filter))), [NAME, NAME2].map(String::from), "both, the filter case-insensitive");
    let again = s.handle_arm(&req("PUT", &ra_path(&sub, "2b5fe924-9a61-425c-96af-cfe6e287ca2d"), Some(acr_pull_body(principal, true))), t0);
    assert_eq!(again.status, 409, "the same grant under another name is found through the principal index");
    assert_eq!(s.handle_arm(&req("DELETE", &ra_path(&acr_one(), NAME), None), t0).status, 200);
    assert_eq!(names(list(&mut s, &sub, Some(&filter))), [NAME2.to_string()]);
    assert_eq!(s.handle_arm(&req("DELETE", &ra_path(&sub, NAME2), None), t0).status, 200);
    assert!(list(&mut s, &sub, Some(&filter)).is_empty());
    let unfiltered = list(&mut s, &sub, None);
    assert!(unfiltered.iter().all(|v| !v["properties"]["principalId"].as_str().unwrap().eq_ignore_ascii_case(principal)));
}

#[test]
fn created_assignments_carry_the_recorded_properties_in_the_recorded_order() {
    let (mut s, t0) = state();
    let principal = "33333333-3333-3333-3333-333333333333";
    s.principals.insert(principal.into(), None);
    let r = s.handle_arm(&req("PUT", &ra_path(&acr_one(), NAME), Some(acr_pull_body(principal, true))), t0);
    let doc = r.body.unwrap();
    let recorded = recorded("role-assignment-put.json");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&doc["properties"]), keys(&recorded["properties"]));
    assert_eq!(keys(&doc), keys(&recorded));
    assert!(doc["properties"]["createdBy"].is_null() && doc["properties"]["condition"].is_null());
    assert_eq!(doc["properties"]["createdOn"], doc["properties"]["updatedOn"]);
}
