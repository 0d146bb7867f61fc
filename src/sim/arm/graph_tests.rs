use serde_json::{Value, json};

use crate::sim::arm::test_support::*;
use crate::sim::http::SimResponse;
use crate::sim::state::SimState;

const PATH: &str = "/providers/Microsoft.ResourceGraph/resources";

fn run(s: &mut SimState, body: Value) -> SimResponse {
    s.handle_arm(&req_v("POST", PATH, Some(body), "2024-04-01"), tokio::time::Instant::now())
}

fn data(resp: SimResponse) -> Vec<Value> {
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    resp.body.unwrap()["data"].as_array().unwrap().clone()
}

#[test]
fn clusters_by_subscription() {
    let (mut s, _) = state();
    let q = "resources | where type =~ 'Microsoft.ContainerService/managedClusters' | project id, name, resourceGroup";
    let rows = data(run(&mut s, json!({"subscriptions": [SUB1], "query": q})));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["resourceGroup"], json!("rg-aks"));
    assert!(data(run(&mut s, json!({"subscriptions": [SUB2], "query": q}))).is_empty(), "only the requested subscriptions");
}

#[test]
fn cluster_by_kubelet_object_id() {
    let (mut s, _) = state();
    let q = format!(
        "resources | where type =~ 'microsoft.containerservice/managedclusters' | where properties.identityProfile.kubeletidentity.objectId =~ '{}' | project id",
        KUBELET1.to_uppercase()
    );
    let rows = data(run(&mut s, json!({"subscriptions": [SUB1, SUB2], "query": q})));
    assert_eq!(rows, vec![json!({"id": cluster_path("aks-1")})]);
}

#[test]
fn acr_pull_assignments_by_principal() {
    let (mut s, _) = state();
    let q = format!(
        "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' \
         | extend principalId = tostring(properties.principalId), roleDefinitionId = tolower(tostring(properties.roleDefinitionId)), scope = tolower(tostring(properties.scope)) \
         | where principalId =~ '{KUBELET1}' and roleDefinitionId endswith '7f951dda-4ed3-4680-a7ca-43fe172d538d' | project id, scope | order by scope asc"
    );
    let rows = data(run(&mut s, json!({"subscriptions": [SUB1, SUB2], "query": q})));
    assert_eq!(rows.len(), 2, "both registries, in two subscriptions");
    assert_eq!(rows[0]["scope"], json!(acr_one().to_lowercase()));
}

#[test]
fn identities_by_tag() {
    let (mut s, t0) = state();
    let mi = format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gate");
    s.handle_arm(&req("PUT", &mi, Some(json!({"location": "westeurope", "tags": {"fleetgate.io/managed": "true"}}))), t0);
    let q = "resources | where type =~ 'microsoft.managedidentity/userassignedidentities' and tags['fleetgate.io/managed'] == 'true' | project id, principalId = properties.principalId";
    let rows = data(run(&mut s, json!({"subscriptions": [SUB1], "query": q})));
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["principalId"].is_string());
}

#[test]
fn unsupported_syntax_is_400_naming_it() {
    let (mut s, _) = state();
    let r = run(&mut s, json!({"subscriptions": [SUB1], "query": "resources | summarize count() by type"}));
    assert_eq!(r.status, 400);
    let body = r.body.unwrap();
    assert!(body["error"]["details"][0]["message"].as_str().unwrap().contains("summarize"), "{body}");
    assert_eq!(run(&mut s, json!({"subscriptions": [SUB1]})).status, 400);
    assert_eq!(run(&mut s, json!({"query": "resources", "options": {"$top": 5000}})).status, 400);
}

#[test]
fn pages_with_skip_token() {
    let (mut s, _) = state();
    let q = "resources | project id";
    let mut body = json!({"subscriptions": [SUB1, SUB2], "query": q, "options": {"$top": 3}});
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let resp = run(&mut s, body.clone()).body.unwrap();
        assert_eq!(resp["totalRecords"], json!(6), "2 clusters + 2 kubelet identities + 2 registries: {resp}");
        assert_eq!(resp["resultTruncated"], json!("false"));
        assert_eq!(resp["facets"], json!([]));
        ids.extend(resp["data"].as_array().unwrap().iter().map(|r| r["id"].clone()));
        pages += 1;
        let Some(token) = resp.get("$skipToken") else { break };
        body["options"]["$skipToken"] = token.clone();
    }
    assert_eq!(pages, 2);
    let unique: std::collections::HashSet<String> = ids.iter().map(|v| v.to_string()).collect();
    assert_eq!(unique.len(), 6);
    let mut other = body.clone();
    other["query"] = json!("resources | project id, name");
    other["options"]["$skipToken"] = json!("0000000000000000.2");
    assert_eq!(run(&mut s, other).status, 400, "a token of another query is rejected");
}
