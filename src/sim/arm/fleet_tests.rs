//! Tests of the fleet file (`src/sim/fleet.rs`) and of seeding, including `config/demo-fleet.toml`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::sim::fleet::{Fleet, FleetError};
use crate::sim::latency::LatencyPreset;
use crate::sim::options::SimOptions;
use crate::sim::state::SimState;

use super::pricing::gating_on;
use super::test_support::*;

fn demo() -> Fleet {
    Fleet::from_path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo-fleet.toml")).unwrap()
}

fn demo_cluster(s: &SimState, sub: u8, rg: &str, name: &str) -> Value {
    let id = format!(
        "/subscriptions/00000000-0000-0000-0000-00000000000{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
    );
    s.cluster_document_at(&id, Instant::now()).unwrap_or_else(|| panic!("{id}"))
}

#[test]
fn demo_fleet_parses_and_seeds() {
    let fleet = demo();
    assert_eq!(fleet.sim.latency, LatencyPreset::Realistic);
    assert_eq!(fleet.sim.lro_duration, Some(Duration::from_secs(3)));
    assert_eq!(fleet.sim.lro_retry_after_secs, Some(1));
    assert_eq!(fleet.subscriptions.len(), 3);
    let s = SimState::from_fleet(&fleet, &fleet.sim).unwrap();
    let counts = s.counts();
    assert_eq!(counts.clusters, 12);
    assert_eq!(counts.registries, 3);
    assert_eq!((counts.identities, counts.fics), (13, 1), "12 kubelet identities + the compliant cluster's gating identity");
    let docs: Vec<Value> = s.clusters.values().map(|c| c.doc.clone()).collect();
    let count = |f: &dyn Fn(&Value) -> bool| docs.iter().filter(|d| f(d)).count();
    assert_eq!(count(&|d| d.pointer("/properties/oidcIssuerProfile/enabled") == Some(&json!(false))), 1);
    assert_eq!(count(&|d| d["properties"]["kubernetesVersion"].as_str().unwrap().starts_with("1.29")), 1);
    assert_eq!(count(&|d| d["tags"]["fleetgate.io/exclude"] == json!("true")), 1);
    assert_eq!(count(&|d| d.pointer("/properties/securityProfile/defender/securityGating/enabled") == Some(&json!(true))), 1);
    let neu = demo_cluster(&s, 1, "rg-prod-neu", "aks-prod-neu-01");
    assert_eq!(neu["properties"]["autoUpgradeProfile"]["upgradeChannel"], json!("patch"));
    assert_eq!(neu["properties"]["addonProfiles"]["azureKeyvaultSecretsProvider"]["config"]["rotationPollInterval"], json!("2m"));
}

#[test]
fn demo_compliant_cluster_is_wired_like_fleetgate_would() {
    let fleet = demo();
    let s = SimState::from_fleet(&fleet, &fleet.sim).unwrap();
    let doc = demo_cluster(&s, 3, "rg-platform", "aks-platform-01");
    let gating = &doc["properties"]["securityProfile"]["defender"]["securityGating"];
    let entry = &gating["identities"][0];
    assert_eq!(entry["azureContainerRegistry"], json!("acrshared.azurecr.io"));
    let mi_id = entry["identity"]["resourceId"].as_str().unwrap();
    assert!(mi_id.ends_with(
        "/resourceGroups/rg-platform/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-platform-01-defender-gating"
    ));
    let mi = &s.identities[&mi_id.to_ascii_lowercase()];
    assert_eq!(entry["identity"]["objectId"], json!(mi.principal_id));
    assert_eq!(entry["identity"]["clientId"], mi.doc["properties"]["clientId"]);
    let fic = mi.fics.values().next().unwrap();
    assert_eq!(fic["properties"]["issuer"], doc["properties"]["oidcIssuerProfile"]["issuerURL"]);
    assert_eq!(fic["properties"]["subject"], json!("system:serviceaccount:kube-system:defender-admission-controller-serviceaccount"));
    assert_eq!(fic["properties"]["audiences"], json!(["api://AzureADTokenExchange"]));
    let pulls =
        s.role_assignments.values().filter(|r| r.principal == mi.principal_id.to_ascii_lowercase() && r.role == super::roles::ACR_PULL);
    assert_eq!(pulls.count(), 1);
    let platform = super::pricing::effective(
        &s,
        &crate::id::ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000003").unwrap(),
        "Containers",
    );
    assert!(gating_on(&platform["properties"]));
}

#[test]
fn json_fleet_files_work_and_unknown_keys_fail_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("fleet.json");
    let fleet_json = json!({"subscriptions": [{"id": SUB1, "defender": "full"}], "sim": {"lro_duration": "2s"}});
    std::fs::write(&json_path, fleet_json.to_string()).unwrap();
    let fleet = Fleet::from_path(&json_path).unwrap();
    assert_eq!(fleet.sim.lro_duration, Some(Duration::from_secs(2)));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[clusters]]\nnmae = \"x\"\n").unwrap();
    let err = Fleet::from_path(&bad).unwrap_err().to_string();
    assert!(err.contains("nmae") && err.contains("bad.toml"), "{err}");
    let missing = Fleet::from_path(&dir.path().join("nope.toml")).unwrap_err().to_string();
    assert!(missing.contains("nope.toml") && missing.contains("cannot read"), "{missing}");
}

fn seed_err(toml: &str) -> String {
    let fleet = Fleet::from_toml_str(toml).unwrap();
    match SimState::from_fleet(&fleet, &SimOptions::default()) {
        Err(e @ FleetError::Entry { .. }) => e.to_string(),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

#[test]
fn seeding_errors_name_the_entry_and_the_fix() {
    let err = seed_err(&format!("[[registries]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg\"\nname = \"acr\"\n"));
    assert!(err.contains("registries[0]") && err.contains("[[subscriptions]]"), "{err}");
    let base = format!("[[subscriptions]]\nid = \"{SUB1}\"\n");
    let err = seed_err(&format!(
        "{base}[[clusters]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg\"\nname = \"c\"\nattached_registries = [\"ghost\"]\n"
    ));
    assert!(err.contains("clusters[0] (c)") && err.contains("ghost"), "{err}");
    let err = seed_err(&format!(
        "{base}[[clusters]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg\"\nname = \"c\"\noidc_issuer = false\ncompliant = true\n"
    ));
    assert!(err.contains("oidc_issuer = true"), "{err}");
    let err = seed_err("[[subscriptions]]\nid = \"prod\"\n");
    assert!(err.contains("GUID"), "{err}");
}

#[test]
fn raw_document_and_given_values_are_used() {
    let toml = format!(
        r#"[[subscriptions]]
id = "{SUB1}"
pricing = {{ pricingTier = "Standard", extensions = [{{ name = "ContainerSensor", isEnabled = "True" }}] }}

[[clusters]]
[clusters.document]
id = "/subscriptions/{SUB1}/resourceGroups/rg-raw/providers/Microsoft.ContainerService/managedClusters/raw"
location = "eastus"
properties = {{ kubernetesVersion = "1.30.0", identityProfile = {{ kubeletidentity = {{ objectId = "{KUBELET1}" }} }}, weird = [1, 2] }}

[[identities]]
subscription = "{SUB1}"
resource_group = "rg-raw"
name = "given"
principal_id = "22222222-2222-2222-2222-222222222222"
[[identities.federated_credentials]]
name = "fic-1"
issuer = "https://issuer.example/"
subject = "system:serviceaccount:a:b"
"#
    );
    let fleet = Fleet::from_toml_str(&toml).unwrap();
    let s = SimState::from_fleet(&fleet, &SimOptions { cluster_etags: true, ..SimOptions::default() }).unwrap();
    let raw = s
        .cluster_document(&format!("/subscriptions/{SUB1}/resourceGroups/rg-raw/providers/Microsoft.ContainerService/managedClusters/raw"))
        .unwrap();
    assert_eq!(raw["properties"]["weird"], json!([1, 2]));
    assert_eq!(raw["name"], json!("raw"));
    assert!(raw["eTag"].is_string());
    assert_eq!(s.principal_created_at(KUBELET1), Some(None));
    assert_eq!(s.principal_created_at("22222222-2222-2222-2222-222222222222"), Some(None));
    assert_eq!(s.counts().fics, 1);
    let price = super::pricing::effective(&s, &crate::id::ResourceId::parse(&format!("/subscriptions/{SUB1}")).unwrap(), "Containers");
    assert_eq!(price["properties"]["extensions"][0]["name"], json!("ContainerSensor"));
}

#[test]
fn seeding_is_reproducible_from_the_seed() {
    let a = SimState::from_fleet(&demo(), &SimOptions::default()).unwrap();
    let b = SimState::from_fleet(&demo(), &SimOptions::default()).unwrap();
    let c = SimState::from_fleet(&demo(), &SimOptions { seed: 99, ..SimOptions::default() }).unwrap();
    let kubelet = |s: &SimState| {
        let doc = demo_cluster(s, 2, "rg-dev-aks", "aks-dev-01");
        doc["properties"]["identityProfile"]["kubeletidentity"]["objectId"].clone()
    };
    assert_eq!(kubelet(&a), kubelet(&b));
    assert_ne!(kubelet(&a), kubelet(&c));
}

#[test]
fn debug_output_hides_options() {
    let options = SimOptions { client_secret: Some("s3cr3t-value".into()), ..SimOptions::default() };
    let (s, _) = state_with(options);
    let text = format!("{s:?}");
    assert!(!text.contains("s3cr3t-value") && text.contains("clusters: 2"), "{text}");
}
