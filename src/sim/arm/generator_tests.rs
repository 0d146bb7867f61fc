use std::collections::HashMap;

use super::{GeneratorSpec, generate};
use crate::sim::fleet::{DefenderState, Fleet};
use crate::sim::options::SimOptions;
use crate::sim::state::SimState;

#[test]
fn count_5000_has_the_exact_ratios() {
    let spec = GeneratorSpec::default();
    let fleet = generate(&spec);
    let c = &fleet.clusters;
    assert_eq!(c.len(), 5000);
    let count = |f: &dyn Fn(&crate::sim::fleet::ClusterSpec) -> bool| c.iter().filter(|x| f(x)).count();
    assert_eq!(count(&|x| x.compliant), 1000);
    assert_eq!(count(&|x| !x.oidc_issuer), 250);
    assert_eq!(count(&|x| !x.workload_identity), 150);
    assert_eq!(count(&|x| x.kubernetes_version.starts_with("1.29")), 250);
    assert_eq!(count(&|x| x.tags.get("fleetgate.io/exclude").is_some_and(|v| v == "true")), 100);
    assert_eq!(count(&|x| x.provisioning_state == "Failed"), 50);
    assert_eq!(count(&|x| x.attached_registries.iter().any(|r| r.starts_with("acrhub"))), 500);
    assert_eq!(fleet.subscriptions.len(), 11, "10 cluster subscriptions + the hub");
    let states: HashMap<&str, DefenderState> = fleet.subscriptions.iter().map(|s| (s.id.as_str(), s.defender)).collect();
    assert_eq!(states.values().filter(|s| **s == DefenderState::Off).count(), 3);
    for cl in c.iter().filter(|x| x.compliant) {
        assert_eq!(states[cl.subscription.as_deref().unwrap()], DefenderState::Full, "compliant clusters need the full plan");
    }
}

#[test]
fn generated_fleet_seeds_and_is_reproducible() {
    let spec = GeneratorSpec { count: 5000, ..GeneratorSpec::default() };
    let state = SimState::from_fleet(&Fleet { generator: Some(spec.clone()), ..Fleet::default() }, &SimOptions::default()).unwrap();
    let counts = state.counts();
    assert_eq!(counts.clusters, 5000);
    assert_eq!(counts.identities, 6000, "a kubelet identity per cluster + a gating identity per compliant cluster");
    assert_eq!(counts.fics, 1000);
    // Each cluster: 1 kubelet AcrPull (+1 cross); each compliant cluster: the same again for its gating identity.
    let attach: usize = generate(&spec).clusters.iter().map(|c| c.attached_registries.len() * if c.compliant { 2 } else { 1 }).sum();
    assert_eq!(counts.role_assignments, attach);
    assert_eq!(generate(&spec).clusters[17].name, generate(&spec).clusters[17].name);
    let other = generate(&GeneratorSpec { seed: 7, ..spec.clone() });
    assert_ne!(other.subscriptions[0].id, generate(&spec).subscriptions[0].id);
}

#[test]
fn invalid_ratios_are_rejected_with_the_key() {
    let err = Fleet::from_toml_str("[generator]\ncompliant = 0.9\noidc_disabled = 0.5\n").unwrap_err().to_string();
    assert!(err.contains("sum to at most 1"), "{err}");
    let err = Fleet::from_toml_str("[generator]\ncross_subscription_registry = 2.0\n").unwrap_err().to_string();
    assert!(err.contains("cross_subscription_registry"), "{err}");
    assert!(Fleet::from_toml_str("[generator]\ncoutn = 3\n").is_err(), "unknown keys are errors");
}

#[test]
fn creating_for_puts_every_non_compliant_generated_cluster_in_creating() {
    let spec = GeneratorSpec { count: 40, creating_for: Some(std::time::Duration::from_secs(120)), ..GeneratorSpec::default() };
    let fleet: Fleet = toml::from_str("[generator]\ncount = 40\ncreating_for = \"2m\"\n").unwrap();
    assert_eq!(fleet.generator.as_ref(), Some(&spec), "the fleet file spells it as a duration");
    let state = SimState::from_fleet(&fleet, &SimOptions::default()).unwrap();
    let generated = generate(&spec);
    let t0 = state.epoch;
    let at = |secs: u64| t0 + std::time::Duration::from_secs(secs);
    let provisioning = |id: &str, secs| state.cluster_document_at(id, at(secs)).unwrap()["properties"]["provisioningState"].clone();
    let mut creating = 0;
    for c in &generated.clusters {
        let (sub, rg, name) = (c.subscription.as_deref().unwrap(), c.resource_group.as_deref().unwrap(), c.name.as_deref().unwrap());
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}");
        if c.compliant || c.provisioning_state == "Failed" {
            assert_ne!(provisioning(&id, 0), "Creating", "{id}");
        } else {
            assert_eq!((provisioning(&id, 119), provisioning(&id, 120)), ("Creating".into(), "Succeeded".into()), "{id}");
            creating += 1;
        }
    }
    assert!(creating > 20, "{creating} of 40 generated clusters start Creating");
}
