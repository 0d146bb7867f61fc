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
