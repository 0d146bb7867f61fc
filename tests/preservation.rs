//! Preservation: clusters seeded with large real documents (the official AKS examples, adjusted only
//! where gating needs it, plus unknown future properties at several depths) are converged with
//! `Engine::apply` through the simulator; every field outside
//! `properties.securityProfile.defender.securityGating` must be equal in JSON terms afterwards (except
//! the read-only `eTag` and `provisioningState`), and inside it foreign entries and `allowSecretAccess`
//! must be kept. Prints the figures for docs/RELIABILITY.md (`-- --nocapture`).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use fleetgate::config::{IdentityStrategy, Settings};
use fleetgate::core::ApplyStatus;
use fleetgate::id::ResourceId;
use fleetgate::reconcile::Engine;
use fleetgate::sim::{Fleet, SimHandle, Simulator};
use serde_json::{Value, json};

const GATING: &str = "/properties/securityProfile/defender/securityGating";
const FIXTURE_SUB: &str = "00000000-0000-0000-0000-000000000000";

/// The `azure-fixtures/arm` directory; a missing directory fails the test.
fn fixture_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [manifest.join("../shared"), manifest.join("../../shared"), PathBuf::from("/work/shared")];
    candidates
        .iter()
        .map(|c| c.join("azure-fixtures/arm"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("fixture directory azure-fixtures/arm not found under any of {candidates:?}"))
}

/// The 200 response body of an official example.
fn example(file: &str) -> Value {
    let path = fixture_dir().join("Microsoft.ContainerService").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc.pointer("/responses/200/body").cloned().unwrap_or_else(|| panic!("{file} has no 200 body"))
}

/// The adjustments gating needs, nothing else: our subscription, a supported version, OIDC issuer and
/// workload identity on, a kubelet identity, the canonical `type` (ARM reports it so on every GET).
fn adjusted(body: &Value, name: &str, n: u32) -> Value {
    let text = body.to_string().replace(FIXTURE_SUB, SUB1).replace("clustername1", name);
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["type"] = json!("Microsoft.ContainerService/managedClusters");
    let props = &mut doc["properties"];
    for key in ["kubernetesVersion", "currentKubernetesVersion"] {
        props[key] = json!("1.31.5");
    }
    for pool in props["agentPoolProfiles"].as_array_mut().unwrap() {
        pool["orchestratorVersion"] = json!("1.31.5");
        pool["currentOrchestratorVersion"] = json!("1.31.5");
    }
    props["oidcIssuerProfile"] = json!({"enabled": true, "issuerURL": format!("https://eastus.oic.prod-aks.azure.com/tenant/{name}/")});
    props["securityProfile"]["workloadIdentity"] = json!({"enabled": true});
    props["identityProfile"] = json!({"kubeletidentity": {
        "resourceId": format!("/subscriptions/{SUB1}/resourceGroups/MC_rg1_{name}_location1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool"),
        "clientId": "8a3e7b1c-0000-4000-8000-00000000c11e", "objectId": format!("9b4f8c2d-0000-4000-8000-{n:012}")}});
    doc
}

/// Unknown future properties at the top level, in `properties`, in nested profiles, in arrays of
/// objects, and one inside `securityGating` itself; plus five more agent pools for size.
fn with_future_properties(mut doc: Value) -> Value {
    doc["futureTopLevel"] = json!({"rolloutWave": 3, "labels": ["a", "b"], "nested": {"deeper": [1, null, {"x": "y"}]}});
    doc["extendedLocation"] = json!({"name": "edge-zone-1", "type": "EdgeZone"});
    let props = &mut doc["properties"];
    props["futureFeature"] = json!({"enabled": true, "settings": {"depth": {"deeper": [0.25, -7, false, {"k": "v"}]}}});
    props["networkProfile"]["futureNetworkKnob"] = json!("on");
    props["networkProfile"]["loadBalancerProfile"]["futureLbSetting"] = json!({"a": 1, "b": [true]});
    props["networkProfile"]["loadBalancerProfile"]["effectiveOutboundIPs"][0]["futureIpTag"] = json!("tag-1");
    props["linuxProfile"]["ssh"]["publicKeys"][0]["futureKeyComment"] = json!("ops@example");
    props["securityProfile"]["futureSecurityFeature"] = json!({"enabled": false, "mode": "audit"});
    props["securityProfile"]["workloadIdentity"]["futureWorkloadKnob"] = json!(1);
    let pools = props["agentPoolProfiles"].as_array_mut().unwrap();
    pools[0]["futurePoolSetting"] = json!({"gpu": {"driver": "none", "instances": [{"id": 0}]}});
    let template = pools[0].clone();
    for i in 2..7 {
        let mut pool = template.clone();
        pool["name"] = json!(format!("pool{i}"));
        pool["count"] = json!(i);
        pool["nodeLabels"] = json!({"tier": format!("t{i}"), "future.io/label": "x"});
        pools.push(pool);
    }
    if let Some(defender) = doc.pointer_mut("/properties/securityProfile/defender") {
        defender["futureDefenderSetting"] = json!({"mode": "strict"});
    }
    if let Some(gating) = doc.pointer_mut(GATING) {
        gating["futureGatingKnob"] = json!({"keep": "me"});
    }
    doc
}

/// The examples as seeded: name → document.
fn documents() -> Vec<(&'static str, Value)> {
    let get = example("ManagedClustersGet.json");
    let secured = example("ManagedClustersCreate_SecurityProfile.json");
    let mut foreign = adjusted(&get, "get-with-gating", 3);
    foreign["properties"]["securityProfile"]["defender"] = json!({"securityMonitoring": {"enabled": true}, "securityGating": {
        "enabled": false, "allowSecretAccess": true, "identities": [
            {"azureContainerRegistry": "acrone.azurecr.io", "identity": {"resourceId": format!("/subscriptions/{SUB1}/resourceGroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/theirs"),
                "clientId": "11111111-2222-3333-4444-555555555555", "objectId": "66666666-7777-8888-9999-000000000000"}, "futureEntryField": [1, 2]},
            {"azureContainerRegistry": "elsewhere.azurecr.io", "identity": {"clientId": "someone"}},
            {"unexpected": "shape"}]}});
    vec![
        ("get-plain", with_future_properties(adjusted(&get, "get-plain", 1))),
        ("security-profile", with_future_properties(adjusted(&secured, "security-profile", 2))),
        ("get-with-gating", with_future_properties(foreign)),
        ("get-untouched-shape", adjusted(&get, "get-untouched-shape", 4)),
    ]
}

fn id_of(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg1", name)).unwrap()
}

async fn start_with(docs: &[(&str, Value)], tweak: impl FnOnce(&mut Settings)) -> (SimHandle, Engine) {
    let acr = |sub: &str, name: &str| registry_id(sub, "rg-acr", name);
    let clusters: Vec<Value> =
        docs.iter().map(|(_, d)| json!({"document": d, "attached_registries": [acr(SUB1, "acrone"), acr(SUB2, "acrtwo")]})).collect();
    let fleet: Fleet = serde_json::from_value(json!({
        "subscriptions": [{"id": SUB1, "defender": "full"}, {"id": SUB2, "defender": "partial"}],
        "registries": [{"subscription": SUB1, "resource_group": "rg-acr", "name": "acrone"},
                       {"subscription": SUB2, "resource_group": "rg-acr", "name": "acrtwo"}],
        "clusters": clusters,
    }))
    .expect("fleet");
    let sim = Simulator::start(fast_polls(fleet), "127.0.0.1:0".parse().unwrap()).await.expect("simulator starts");
    let mut settings = settings_for(&sim, &[SUB1, SUB2]);
    tweak(&mut settings);
    let engine = Engine::new(arm_client(&settings), Arc::new(settings)).expect("engine");
    (sim, engine)
}

/// `doc` without the read-only fields and the gating block (and the parents the edit created).
fn outside_gating(doc: &Value, created: &[&str]) -> Value {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove("eTag");
    doc["properties"].as_object_mut().unwrap().remove("provisioningState");
    doc.pointer_mut("/properties/securityProfile/defender").and_then(Value::as_object_mut).map(|d| d.remove("securityGating"));
    for pointer in created {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        if doc.pointer(pointer).and_then(Value::as_object).is_some_and(|o| o.is_empty()) {
            doc.pointer_mut(parent).and_then(Value::as_object_mut).map(|p| p.remove(key));
        }
    }
    doc
}

/// Leaf values (scalars and empty containers) in `v`.
fn leaves(v: &Value) -> usize {
    match v {
        Value::Object(m) if !m.is_empty() => m.values().map(leaves).sum(),
        Value::Array(a) if !a.is_empty() => a.iter().map(leaves).sum(),
        _ => 1,
    }
}

/// Paths where `a` and `b` differ.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, xv) in x {
                match y.get(k) {
                    Some(yv) => differences(xv, yv, &format!("{path}/{k}"), out),
                    None => out.push(format!("{path}/{k} (dropped)")),
                }
            }
            out.extend(y.keys().filter(|k| !x.contains_key(*k)).map(|k| format!("{path}/{k} (added)")));
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().for_each(|(i, (x, y))| differences(x, y, &format!("{path}/{i}"), out));
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

/// Converges every seeded cluster and compares; returns (clusters, fields compared).
async fn converge_and_compare(tweak: impl FnOnce(&mut Settings)) -> (usize, usize) {
    let docs = documents();
    let (sim, engine) = start_with(&docs, tweak).await;
    let mut fields = 0;
    for (name, _) in &docs {
        let id = id_of(name);
        let before = sim.with_state(|s| s.cluster_document(id.as_str())).expect("seeded");
        let applied = engine.apply(&id).await;
        assert_eq!(applied.report.status, ApplyStatus::Converged, "{name}: {:?}", applied.error);
        let after = sim.with_state(|s| s.cluster_document(id.as_str())).expect("still there");
        let created: Vec<&str> = ["/properties/securityProfile/defender"].into_iter().filter(|p| before.pointer(p).is_none()).collect();
        let (b, a) = (outside_gating(&before, &created), outside_gating(&after, &created));
        let mut diff = Vec::new();
        differences(&b, &a, "", &mut diff);
        assert!(diff.is_empty(), "{name}: fields outside securityGating changed: {diff:#?}");
        assert_eq!(b, a);
        fields += leaves(&b);
        check_gating(name, &before, &after);
        let again = engine.apply(&id).await;
        assert!(again.report.actions.is_empty(), "{name}: second apply wrote {:?}", again.report.actions);
    }
    let cluster_puts = sim.journal().iter().filter(|e| e.is_write() && e.path.contains("managedClusters")).count();
    assert_eq!(cluster_puts, docs.len(), "one cluster PUT per cluster");
    (docs.len(), fields)
}

/// Inside `securityGating`: enabled, foreign entries first and unchanged, `allowSecretAccess` and unknown
/// fields kept, one new entry per registry.
fn check_gating(name: &str, before: &Value, after: &Value) {
    let old = before.pointer(GATING).cloned().unwrap_or(json!({}));
    let new = after.pointer(GATING).expect("gating written");
    assert_eq!(new["enabled"], json!(true), "{name}");
    assert_eq!(old.get("allowSecretAccess"), new.get("allowSecretAccess"), "{name}: allowSecretAccess");
    assert_eq!(old.get("futureGatingKnob"), new.get("futureGatingKnob"), "{name}: unknown gating field");
    let (old_entries, new_entries) = (old["identities"].as_array().cloned().unwrap_or_default(), new["identities"].as_array().unwrap());
    assert_eq!(&new_entries[..old_entries.len()], &old_entries[..], "{name}: foreign entries changed");
    assert_eq!(new_entries.len(), old_entries.len() + 2, "{name}: one entry per attached registry");
}

#[tokio::test]
async fn real_documents_keep_every_field_outside_security_gating_dedicated() {
    let (clusters, fields) = converge_and_compare(|_| {}).await;
    eprintln!("preservation (dedicated identity): {clusters} clusters, {fields} fields compared, 0 differences");
    assert!(clusters == 4 && fields > 400, "{fields}");
}

#[tokio::test]
async fn real_documents_keep_every_field_outside_security_gating_kubelet() {
    let (clusters, fields) = converge_and_compare(|s| s.gating.identity_strategy = IdentityStrategy::Kubelet).await;
    eprintln!("preservation (kubelet identity): {clusters} clusters, {fields} fields compared, 0 differences");
    assert!(clusters == 4 && fields > 400, "{fields}");
}
