use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::sim::arm::test_support::*;
use crate::sim::fleet::Fleet;
use crate::sim::http::SimResponse;
use crate::sim::options::SimOptions;
use crate::sim::state::SimState;

fn get(s: &mut SimState, name: &str, now: Instant) -> Value {
    let r = s.handle_arm(&req("GET", &cluster_path(name), None), now);
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.unwrap()
}

fn put(s: &mut SimState, name: &str, doc: &Value, now: Instant) -> SimResponse {
    s.handle_arm(&req("PUT", &cluster_path(name), Some(doc.clone())), now)
}

fn header<'a>(r: &'a SimResponse, name: &str) -> &'a str {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap()
}

fn slow() -> (SimState, Instant) {
    state_with(SimOptions { lro_duration: Some(Duration::from_secs(10)), lro_retry_after_secs: Some(2), ..SimOptions::default() })
}

#[test]
fn seeded_cluster_has_the_fields_fleetgate_reads() {
    let (mut s, t0) = state();
    let doc = get(&mut s, "aks-1", t0);
    assert_eq!(doc["type"], json!("Microsoft.ContainerService/ManagedClusters"), "as recorded");
    assert_eq!(doc["id"], json!(cluster_path("aks-1").replace("/resourceGroups/", "/resourcegroups/")), "as recorded");
    assert!(doc.get("eTag").is_none(), "no eTag by default, as real GA clusters serve none");
    assert_eq!(doc["properties"]["provisioningState"], json!("Succeeded"));
    assert_eq!(doc["properties"]["identityProfile"]["kubeletidentity"]["objectId"], json!(KUBELET1));
    let issuer = doc["properties"]["oidcIssuerProfile"]["issuerURL"].as_str().unwrap();
    assert!(issuer.starts_with("https://westeurope.oic.prod-aks.azure.com/") && issuer.ends_with('/'), "{issuer}");
    assert_eq!(doc["properties"]["securityProfile"]["workloadIdentity"]["enabled"], json!(true));
    assert_eq!(doc["properties"]["futureProfile"], json!({"knob": 3, "list": ["a", "b"]}));
    let upper = cluster_path("AKS-1").replace("resourceGroups/rg-aks", "RESOURCEGROUPS/RG-AKS");
    assert_eq!(s.handle_arm(&req("GET", &upper, None), t0).body.unwrap(), doc);
    assert_eq!(s.handle_arm(&req("GET", &cluster_path("nope"), None), t0).error_code(), Some("ResourceNotFound"));
    // The kubelet identity is a real identity resource (the `kubelet` gating strategy puts FICs on it).
    let kubelet_id = doc["properties"]["identityProfile"]["kubeletidentity"]["resourceId"].as_str().unwrap();
    let kubelet = s.handle_arm(&req_v("GET", kubelet_id, None, "2024-11-30"), t0).body.unwrap();
    assert_eq!(kubelet["properties"]["principalId"], json!(KUBELET1));
}

#[test]
fn every_route_requires_api_version() {
    let (mut s, t0) = state();
    let mut r = req("GET", &cluster_path("aks-1"), None);
    r.query.clear();
    let resp = s.handle_arm(&r, t0);
    assert_eq!((resp.status, resp.error_code()), (400, Some("MissingApiVersionParameter")));
    let bad = req_v("GET", &cluster_path("aks-1"), None, "yesterday");
    assert_eq!(s.handle_arm(&bad, t0).error_code(), Some("InvalidApiVersionParameter"));
}

#[test]
fn unknown_subscription_and_resource_group() {
    let (mut s, t0) = state();
    let other = cluster_path("aks-1").replace(SUB1, "00000000-0000-0000-0000-0000000000ff");
    assert_eq!(s.handle_arm(&req("GET", &other, None), t0).error_code(), Some("SubscriptionNotFound"));
    let rg = cluster_path("aks-1").replace("rg-aks", "rg-nope");
    assert_eq!(s.handle_arm(&req("GET", &rg, None), t0).error_code(), Some("ResourceGroupNotFound"));
}

#[test]
fn put_is_an_lro_that_completes_after_the_configured_time() {
    let (mut s, t0) = slow();
    let doc = get(&mut s, "aks-1", t0);
    let r = put(&mut s, "aks-1", &doc, t0);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_ref().unwrap()["properties"]["provisioningState"], json!("Updating"));
    assert_eq!(header(&r, "Retry-After"), "2");
    let op_url = header(&r, "Azure-AsyncOperation").to_string();
    let prefix = format!("http://127.0.0.1:1/subscriptions/{SUB1}/providers/Microsoft.ContainerService/locations/westeurope/operations/");
    assert!(op_url.starts_with(&prefix), "{op_url}");
    let query = op_url.split_once('?').unwrap().1;
    assert!(
        query.starts_with("api-version=2025-03-01&t=") && query.contains("&c=") && query.contains("&s=") && query.contains("&h="),
        "{query}"
    );
    assert!(op_url.len() > 2500, "signed like ARM's: {} characters", op_url.len());
    assert!(r.headers.iter().all(|(k, _)| !k.eq_ignore_ascii_case("Location")), "recorded AKS PUTs carry no Location");
    let op_path = op_url.trim_start_matches("http://127.0.0.1:1").split('?').next().unwrap().to_string();
    let poll = |s: &mut SimState, at| {
        let r = s.handle_arm(&req_v("GET", &op_path, None, "2025-03-01"), at);
        assert_eq!(r.headers.iter().any(|(k, _)| k == "Retry-After"), at < t0 + Duration::from_secs(10), "Retry-After only while running");
        r.body.unwrap()
    };
    let mid = poll(&mut s, t0 + Duration::from_secs(5));
    assert_eq!(mid["status"], json!("InProgress"));
    assert_eq!(mid.as_object().unwrap().keys().collect::<Vec<_>>(), ["name", "status", "startTime"], "as recorded");
    let start = mid["startTime"].as_str().unwrap();
    assert!(start.ends_with('Z') && start.split('.').nth(1).is_some_and(|f| f.len() == 8), "seven fractional digits: {start}");
    assert_eq!(get(&mut s, "aks-1", t0 + Duration::from_secs(5))["properties"]["provisioningState"], json!("Updating"));
    let done = poll(&mut s, t0 + Duration::from_secs(10));
    assert_eq!(done["status"], json!("Succeeded"));
    assert!(done["endTime"].is_string());
    assert_eq!(get(&mut s, "aks-1", t0 + Duration::from_secs(10))["properties"]["provisioningState"], json!("Succeeded"));
    let wrong = op_path.replace(SUB1, SUB2);
    assert_eq!(s.handle_arm(&req("GET", &wrong, None), t0).status, 404);
}

#[test]
fn create_answers_201_creating() {
    let (mut s, t0) = slow();
    let body = json!({"location": "westeurope", "properties": {"kubernetesVersion": "1.31.5", "oidcIssuerProfile": {"enabled": true}}});
    let r = put(&mut s, "aks-new", &body, t0);
    assert_eq!(r.status, 201);
    let doc = r.body.unwrap();
    assert_eq!(doc["properties"]["provisioningState"], json!("Creating"));
    assert!(doc["properties"]["oidcIssuerProfile"]["issuerURL"].as_str().unwrap().contains(".oic.prod-aks.azure.com/"));
    assert_eq!(doc["id"], json!(cluster_path("aks-new").replace("/resourceGroups/", "/resourcegroups/")));
    assert_eq!(doc["type"], json!("Microsoft.ContainerService/ManagedClusters"));
    assert_eq!(put(&mut s, "bad..name!", &body, t0).status, 400);
    assert_eq!(put(&mut s, "aks-noloc", &json!({"properties": {}}), t0).error_code(), Some("LocationRequired"));
}

#[test]
fn put_during_an_operation_is_409() {
    let (mut s, t0) = slow();
    let doc = get(&mut s, "aks-1", t0);
    assert_eq!(put(&mut s, "aks-1", &doc, t0).status, 200);
    let r = put(&mut s, "aks-1", &doc, t0 + Duration::from_secs(3));
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), Some("OperationNotAllowed"));
    let msg = r.body.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("in progress update managed cluster operation") && msg.contains("Please wait for it to finish"), "{msg}");
    assert_eq!(put(&mut s, "aks-1", &doc, t0 + Duration::from_secs(10)).status, 200);
}

#[test]
fn etag_changes_and_if_match_is_enforced() {
    let (mut s, t0) = state_with(SimOptions { cluster_etags: true, ..SimOptions::default() });
    let doc = get(&mut s, "aks-1", t0);
    let etag = doc["eTag"].as_str().unwrap().to_string();
    let stale = with_header(req("PUT", &cluster_path("aks-1"), Some(doc.clone())), "If-Match", "\"not-it\"");
    assert_eq!(s.handle_arm(&stale, t0).error_code(), Some("PreconditionFailed"));
    let fresh = with_header(req("PUT", &cluster_path("aks-1"), Some(doc.clone())), "If-Match", &format!("\"{etag}\""));
    let r = s.handle_arm(&fresh, t0);
    assert_eq!(r.status, 200);
    let new_etag = r.body.unwrap()["eTag"].as_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    assert_eq!(s.handle_arm(&fresh, t0).status, 412, "the old eTag no longer matches");
    let none_match = with_header(req("PUT", &cluster_path("aks-1"), Some(doc)), "If-None-Match", "*");
    assert_eq!(s.handle_arm(&none_match, t0).status, 412);
}

#[test]
fn stored_document_is_exactly_what_was_put() {
    let (mut s, t0) = state();
    let mut doc = get(&mut s, "aks-1", t0);
    doc["properties"].as_object_mut().unwrap().remove("futureProfile");
    doc["tags"] = json!({"added": "yes"});
    doc["properties"]["provisioningState"] = json!("Bogus");
    doc["id"] = json!("/somewhere/else");
    put(&mut s, "aks-1", &doc, t0);
    let after = get(&mut s, "aks-1", t0);
    assert!(after["properties"].get("futureProfile").is_none(), "a dropped field is gone");
    assert_eq!(after["tags"], json!({"added": "yes"}));
    assert_eq!(after["properties"]["provisioningState"], json!("Succeeded"), "read-only");
    assert_eq!(after["id"], json!(cluster_path("aks-1").replace("/resourceGroups/", "/resourcegroups/")), "read-only");
    let r = s.handle_arm(&req("PUT", &cluster_path("AKS-1"), Some(after)), t0);
    assert_eq!((r.status, &r.body.unwrap()["name"]), (200, &json!("aks-1")), "an update keeps the original casing");
}

#[test]
fn unknown_properties_survive_get_put_get() {
    let (mut s, t0) = state();
    let mut before = get(&mut s, "aks-1", t0);
    before["properties"]["unknownFromTheFuture"] = json!({"nested": [1, {"deep": true}], "s": "x"});
    before["someTopLevelThing"] = json!(42);
    put(&mut s, "aks-1", &before, t0);
    let mid = get(&mut s, "aks-1", t0 + Duration::from_secs(1));
    put(&mut s, "aks-1", &mid, t0 + Duration::from_secs(1));
    let mut after = get(&mut s, "aks-1", t0 + Duration::from_secs(2));
    for d in [&mut before, &mut after] {
        d.as_object_mut().unwrap().remove("eTag");
        d["properties"].as_object_mut().unwrap().remove("provisioningState");
    }
    assert_eq!(before, after);
}

#[test]
fn old_api_versions_drop_security_gating() {
    let (mut s, t0) = state();
    let mut doc = get(&mut s, "aks-1", t0);
    let gating = json!({"enabled": true, "identities": [{"azureContainerRegistry": "acrone.azurecr.io", "identity": {"clientId": "c"}}]});
    doc["properties"]["securityProfile"]["defender"]["securityGating"] = gating.clone();
    assert_eq!(put(&mut s, "aks-1", &doc, t0).status, 200);
    let path = cluster_path("aks-1");
    for (version, has) in
        [("2026-06-01", true), ("2025-01-02-preview", true), ("2026-05-01", false), ("2025-10-01", false), ("2024-10-02-preview", false)]
    {
        let got = s.handle_arm(&req_v("GET", &path, None, version), t0).body.unwrap();
        let present = got.pointer("/properties/securityProfile/defender/securityGating").is_some();
        assert_eq!(present, has, "{version}");
        assert!(got.pointer("/properties/securityProfile/defender/securityMonitoring").is_some(), "{version}");
    }
    // A PUT with an old version stores the document without it (full replace).
    let old = s.handle_arm(&req_v("GET", &path, None, "2025-10-01"), t0).body.unwrap();
    let mut with_gating = old.clone();
    with_gating["properties"]["securityProfile"]["defender"]["securityGating"] = gating;
    assert_eq!(s.handle_arm(&req_v("PUT", &path, Some(with_gating), "2025-10-01"), t0).status, 200);
    assert!(get(&mut s, "aks-1", t0).pointer("/properties/securityProfile/defender/securityGating").is_none());
}

#[test]
fn oidc_issuer_cannot_be_disabled_and_keeps_its_url() {
    let (mut s, t0) = state();
    let doc = get(&mut s, "aks-1", t0);
    let url = doc["properties"]["oidcIssuerProfile"]["issuerURL"].clone();
    let mut off = doc.clone();
    off["properties"]["oidcIssuerProfile"] = json!({"enabled": false});
    let r = put(&mut s, "aks-1", &off, t0);
    assert_eq!(r.status, 400);
    assert!(r.body.unwrap()["error"]["message"].as_str().unwrap().contains("cannot be disabled"));
    let mut spoof = doc.clone();
    spoof["properties"]["oidcIssuerProfile"]["issuerURL"] = json!("https://evil.example/");
    put(&mut s, "aks-1", &spoof, t0);
    assert_eq!(get(&mut s, "aks-1", t0)["properties"]["oidcIssuerProfile"]["issuerURL"], url);
    let mut on = get(&mut s, "aks-nooidc", t0);
    assert!(on["properties"]["oidcIssuerProfile"].get("issuerURL").is_none());
    on["properties"]["oidcIssuerProfile"]["enabled"] = json!(true);
    put(&mut s, "aks-nooidc", &on, t0);
    let enabled = get(&mut s, "aks-nooidc", t0);
    assert!(enabled["properties"]["oidcIssuerProfile"]["issuerURL"].as_str().unwrap().ends_with('/'));
}

#[test]
fn list_by_subscription_and_resource_group_pages() {
    let (mut s, t0) = state_with(SimOptions { list_page_size: 1, ..SimOptions::default() });
    let sub_path = format!("/subscriptions/{SUB1}/providers/Microsoft.ContainerService/managedClusters");
    let first = s.handle_arm(&req("GET", &sub_path, None), t0).body.unwrap();
    assert_eq!(first["value"].as_array().unwrap().len(), 1);
    let next = first["nextLink"].as_str().unwrap();
    let url = url::Url::parse(next).unwrap();
    let mut r = req("GET", url.path(), None);
    r.query = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let second = s.handle_arm(&r, t0).body.unwrap();
    assert_eq!(second["value"].as_array().unwrap().len(), 1);
    assert!(second.get("nextLink").is_none());
    assert_ne!(first["value"][0]["id"], second["value"][0]["id"]);
    let rg_path = format!("/subscriptions/{SUB1}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters");
    assert_eq!(s.handle_arm(&with_query(req("GET", &rg_path, None), "$top", "5"), t0).status, 200);
    let empty = format!("/subscriptions/{SUB2}/providers/Microsoft.ContainerService/managedClusters");
    assert_eq!(s.handle_arm(&req("GET", &empty, None), t0).body.unwrap(), json!({"value": []}));
}

#[test]
fn configured_failure_outcome() {
    let toml = format!(
        "{}\n[[clusters]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg-aks\"\nname = \"aks-fail\"\nlro_outcome = \"failed\"\n",
        fleet_toml()
    );
    let fleet = Fleet::from_toml_str(&toml).unwrap();
    let mut s = SimState::from_fleet(&fleet, &SimOptions::default()).unwrap();
    let t0 = Instant::now();
    let doc = get(&mut s, "aks-fail", t0);
    let r = put(&mut s, "aks-fail", &doc, t0);
    let op_url = header(&r, "Azure-AsyncOperation");
    let op_path = op_url.trim_start_matches("http://127.0.0.1:1").split('?').next().unwrap().to_string();
    let status = s.handle_arm(&req("GET", &op_path, None), t0).body.unwrap();
    assert_eq!(status["status"], json!("Failed"));
    assert!(status["error"]["code"].is_string());
    assert_eq!(get(&mut s, "aks-fail", t0)["properties"]["provisioningState"], json!("Failed"));
}

#[test]
fn without_etags_only_if_match_star_matches() {
    let (mut s, t0) = state_with(SimOptions { cluster_etags: false, ..SimOptions::default() });
    let doc = get(&mut s, "aks-1", t0);
    assert!(doc.get("eTag").is_none(), "{doc}");
    let pools = doc.pointer("/properties/agentPoolProfiles").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(pools.iter().all(|p| p.get("eTag").is_none()), "{pools:?}");
    let guessed = with_header(req("PUT", &cluster_path("aks-1"), Some(doc.clone())), "If-Match", "\"guess\"");
    assert_eq!(s.handle_arm(&guessed, t0).status, 412);
    let star = with_header(req("PUT", &cluster_path("aks-1"), Some(doc)), "If-Match", "*");
    let r = s.handle_arm(&star, t0);
    assert_eq!(r.status, 200);
    assert!(r.body.unwrap().get("eTag").is_none());
    let gone = with_header(req("PUT", &cluster_path("aks-gone"), Some(json!({"location": "westeurope"}))), "If-Match", "*");
    assert_eq!(s.handle_arm(&gone, t0).status, 412, "If-Match: * never creates");
}

/// An SDK-style PUT (writable fields only, as the official SDKs serialize it) keeps what AKS computes.
#[test]
fn read_only_fields_survive_a_put_that_leaves_them_out() {
    let (mut s, t0) = state();
    let before = get(&mut s, "aks-1", t0);
    let mut writable = before.clone();
    let props = writable["properties"].as_object_mut().unwrap();
    for key in
        ["fqdn", "azurePortalFQDN", "powerState", "currentKubernetesVersion", "maxAgentPools", "provisioningState", "identityProfile"]
    {
        props.remove(key);
    }
    for pool in props["agentPoolProfiles"].as_array_mut().unwrap() {
        let pool = pool.as_object_mut().unwrap();
        for key in ["currentOrchestratorVersion", "provisioningState", "powerState", "nodeImageVersion", "eTag"] {
            pool.remove(key);
        }
    }
    let identity = writable["identity"].as_object_mut().unwrap();
    identity.remove("principalId");
    identity.remove("tenantId");
    writable.as_object_mut().unwrap().remove("eTag");
    assert_eq!(put(&mut s, "aks-1", &writable, t0).status, 200);
    let after = get(&mut s, "aks-1", t0);
    for pointer in [
        "/properties/fqdn",
        "/properties/azurePortalFQDN",
        "/properties/powerState",
        "/properties/currentKubernetesVersion",
        "/properties/identityProfile",
        "/identity/principalId",
        "/identity/tenantId",
        "/properties/agentPoolProfiles/0/currentOrchestratorVersion",
        "/properties/agentPoolProfiles/0/nodeImageVersion",
        "/properties/agentPoolProfiles/0/powerState",
    ] {
        assert_eq!(after.pointer(pointer), before.pointer(pointer), "{pointer}");
    }
    assert_eq!(after["properties"]["agentPoolProfiles"][0]["provisioningState"], json!("Succeeded"));
}

#[test]
fn a_create_computes_what_aks_computes_and_pools_follow_the_operation() {
    let (mut s, t0) = slow();
    let body = json!({
        "location": "westeurope",
        "identity": {"type": "SystemAssigned"},
        "properties": {"dnsPrefix": "newdns", "agentPoolProfiles": [{"name": "np1", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System"}]}
    });
    let created = put(&mut s, "aks-new", &body, t0).body.unwrap();
    assert_eq!(created["properties"]["agentPoolProfiles"][0]["provisioningState"], json!("Creating"));
    assert!(created["properties"].get("identityProfile").is_none(), "no kubelet identity while Creating, as recorded");
    let fqdn = created["properties"]["fqdn"].as_str().unwrap();
    assert!(fqdn.starts_with("newdns-") && fqdn.ends_with(".hcp.westeurope.azmk8s.io"), "{fqdn}");
    assert_eq!(created["properties"]["azurePortalFQDN"], json!(fqdn.replace(".hcp.", ".portal.hcp.")));
    assert_eq!(created["properties"]["currentKubernetesVersion"], created["properties"]["kubernetesVersion"]);
    assert!(crate::id::is_guid(created["identity"]["principalId"].as_str().unwrap()));
    assert_eq!(created["identity"]["tenantId"], json!(s.options.tenant_id));
    let done = get(&mut s, "aks-new", t0 + Duration::from_secs(10));
    assert_eq!(done["properties"]["agentPoolProfiles"][0]["provisioningState"], json!("Succeeded"));
    assert!(done["properties"]["identityProfile"]["kubeletidentity"]["objectId"].is_string(), "the kubelet identity after the create");
}

#[test]
fn create_and_update_run_their_own_durations_and_retry_after_is_off_by_default() {
    let opts = SimOptions {
        create_duration: Some(Duration::from_secs(300)),
        update_duration: Some(Duration::from_secs(120)),
        time_scale: 0.1,
        ..SimOptions::default()
    };
    let (mut s, t0) = state_with(opts);
    let created = put(&mut s, "aks-new", &json!({"location": "westeurope", "properties": {}}), t0);
    assert!(created.headers.iter().all(|(k, _)| k != "Retry-After"), "no Retry-After unless asked, as recorded");
    let state_at =
        |s: &mut SimState, name: &str, secs| get(s, name, t0 + Duration::from_secs(secs))["properties"]["provisioningState"].clone();
    assert_eq!(state_at(&mut s, "aks-new", 29), json!("Creating"));
    assert_eq!(state_at(&mut s, "aks-new", 30), json!("Succeeded"));
    let doc = get(&mut s, "aks-1", t0);
    put(&mut s, "aks-1", &doc, t0);
    assert_eq!(state_at(&mut s, "aks-1", 11), json!("Updating"));
    assert_eq!(state_at(&mut s, "aks-1", 12), json!("Succeeded"));
}

#[test]
fn the_location_knob_adds_operationresults_which_answers_202_then_204() {
    let (mut s, t0) =
        state_with(SimOptions { lro_duration: Some(Duration::from_secs(10)), lro_location_header: true, ..SimOptions::default() });
    let doc = get(&mut s, "aks-1", t0);
    let r = put(&mut s, "aks-1", &doc, t0);
    let location = header(&r, "Location").to_string();
    let async_op = header(&r, "Azure-AsyncOperation").to_string();
    assert_eq!(location.replace("/operationresults/", "/operations/"), async_op, "same operation, same signature");
    let (path, query) = location.trim_start_matches("http://127.0.0.1:1").split_once('?').unwrap();
    let mut poll = req("GET", path, None);
    poll.query = query.split('&').map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).unwrap()).collect();
    let running = s.handle_arm(&poll, t0 + Duration::from_secs(1));
    assert_eq!(running.status, 202);
    assert_eq!(header(&running, "Location"), location);
    assert_eq!(s.handle_arm(&poll, t0 + Duration::from_secs(10)).status, 204);
}

#[test]
fn a_cluster_seeded_creating_stays_creating_then_succeeds() {
    let toml = format!(
        "[sim]\ntime_scale = 0.5\n\n[[subscriptions]]\nid = \"{SUB1}\"\n\n[[clusters]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg-aks\"\nname = \"aks-burst\"\ncreating_for = \"120s\"\n"
    );
    let fleet = Fleet::from_toml_str(&toml).unwrap();
    let mut s = SimState::from_fleet(&fleet, &fleet.sim).unwrap();
    let t0 = s.epoch;
    let doc = get(&mut s, "aks-burst", t0 + Duration::from_secs(59));
    assert_eq!(doc["properties"]["provisioningState"], json!("Creating"));
    assert!(doc["properties"].get("identityProfile").is_none());
    let busy = put(&mut s, "aks-burst", &doc, t0 + Duration::from_secs(59));
    assert_eq!((busy.status, busy.error_code()), (409, Some("OperationNotAllowed")));
    assert!(busy.body.unwrap()["error"]["message"].as_str().unwrap().contains("in progress create managed cluster operation"));
    let ready = get(&mut s, "aks-burst", t0 + Duration::from_secs(60));
    assert_eq!(ready["properties"]["provisioningState"], json!("Succeeded"));
    assert!(ready["properties"]["identityProfile"]["kubeletidentity"].is_object());
}

#[test]
fn star_412_knob_refuses_if_match_star_only_without_etags() {
    let (mut s, t0) = state_with(SimOptions { cluster_etags: false, cluster_if_match_star_412: true, ..SimOptions::default() });
    let doc = get(&mut s, "aks-1", t0);
    let star = with_header(req("PUT", &cluster_path("aks-1"), Some(doc.clone())), "If-Match", "*");
    let r = s.handle_arm(&star, t0);
    assert_eq!((r.status, r.error_code()), (412, Some("PreconditionFailed")));
    assert_eq!(s.handle_arm(&req("PUT", &cluster_path("aks-1"), Some(doc)), t0).status, 200, "a PUT without If-Match still works");
    let (mut s, t0) = state_with(SimOptions { cluster_etags: true, cluster_if_match_star_412: true, ..SimOptions::default() });
    let doc = get(&mut s, "aks-1", t0);
    let star = with_header(req("PUT", &cluster_path("aks-1"), Some(doc)), "If-Match", "*");
    assert_eq!(s.handle_arm(&star, t0).status, 200, "with eTags served, * matches as usual");
}

#[test]
fn a_lower_case_etag_keeps_its_spelling_and_guards_writes() {
    let (mut s, t0) = state_with(SimOptions { cluster_etags: true, ..SimOptions::default() });
    let key = s.clusters.keys().find(|k| k.ends_with("/aks-1")).unwrap().clone();
    let rec = s.clusters.get_mut(&key).unwrap();
    let tag = rec.doc.as_object_mut().unwrap().remove("eTag").unwrap();
    rec.doc["etag"] = tag.clone();
    let doc = get(&mut s, "aks-1", t0);
    assert_eq!((doc.get("etag"), doc.get("eTag")), (Some(&tag), None), "served as stored");
    let stale = with_header(req("PUT", &cluster_path("aks-1"), Some(doc.clone())), "If-Match", "\"other\"");
    assert_eq!(s.handle_arm(&stale, t0).status, 412);
    let fresh = with_header(req("PUT", &cluster_path("aks-1"), Some(doc)), "If-Match", &format!("\"{}\"", tag.as_str().unwrap()));
    let after = s.handle_arm(&fresh, t0).body.unwrap();
    assert!(after.get("eTag").is_none() && after["etag"].is_string() && after["etag"] != tag, "{after}");
}
