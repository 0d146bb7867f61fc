//! The fleet generator for benchmarks: `count` clusters over `subscriptions` subscriptions, with exact
//! (rounded) ratios of each kind of cluster, reproducible from `seed`.
//!
//! Layout: cluster subscriptions `0..subscriptions` each with `registries_per_subscription` registries,
//! plus one "hub" subscription (Defender full) with shared registries for the cross-subscription ratio.
//! Each cluster is exactly one kind — compliant, oidc_disabled, workload_identity_disabled,
//! old_kubernetes (1.29), excluded (tag `fleetgate.io/exclude = "true"`), failed (provisioningState
//! `Failed`) or convergeable (the rest) — and attaches `registries_per_cluster` registries of its own
//! subscription, plus a hub registry for `cross_subscription_registry` of them. Compliant clusters live
//! only in subscriptions whose Defender plan is full.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sim::fleet::{ClusterSpec, DefenderState, Fleet, FleetError, RegistrySpec, SubscriptionSpec};

use super::common::guid;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorSpec {
    /// Number of clusters.
    pub count: usize,
    /// Number of cluster subscriptions (a hub subscription is added for shared registries).
    pub subscriptions: usize,
    /// Registries in each cluster subscription.
    pub registries_per_subscription: usize,
    /// Registries of its own subscription each cluster attaches.
    pub registries_per_cluster: usize,
    /// Location of everything.
    pub location: String,
    /// RNG seed (GUIDs, shuffling).
    pub seed: u64,
    /// Share of clusters already compliant.
    pub compliant: f64,
    /// Share with the OIDC issuer disabled (blocked).
    pub oidc_disabled: f64,
    /// Share with workload identity disabled (blocked).
    pub workload_identity_disabled: f64,
    /// Share on Kubernetes 1.29 (blocked).
    pub old_kubernetes: f64,
    /// Share tagged `fleetgate.io/exclude = "true"`.
    pub excluded: f64,
    /// Share with provisioningState `Failed`.
    pub failed: f64,
    /// Share that also attach a registry in the hub subscription.
    pub cross_subscription_registry: f64,
    /// Share of cluster subscriptions with the Containers plan off.
    pub defender_off: f64,
    /// Share of cluster subscriptions with the plan partially on (no gating).
    pub defender_partial: f64,
    /// Every generated cluster that is neither compliant nor `Failed` starts `Creating` for this long (see
    /// `ClusterSpec::creating_for`): a fleet that was just created, for event-burst benchmarks.
    #[serde(with = "humantime_serde")]
    pub creating_for: Option<std::time::Duration>,
}

impl Default for GeneratorSpec {
    fn default() -> Self {
        Self {
            count: 5000,
            subscriptions: 10,
            registries_per_subscription: 2,
            registries_per_cluster: 1,
            location: "westeurope".into(),
            seed: 42,
            compliant: 0.2,
            oidc_disabled: 0.05,
            workload_identity_disabled: 0.03,
            old_kubernetes: 0.05,
            excluded: 0.02,
            failed: 0.01,
            cross_subscription_registry: 0.1,
            defender_off: 0.3,
            defender_partial: 0.2,
            creating_for: None,
        }
    }
}

/// The kind of a generated cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Compliant,
    OidcDisabled,
    WorkloadIdentityDisabled,
    OldKubernetes,
    Excluded,
    Failed,
    Convergeable,
}

impl GeneratorSpec {
    /// Checks ratios (each in 0..=1, cluster kinds and Defender shares each summing to at most 1).
    pub fn validate(&self) -> Result<(), FleetError> {
        let err = |m: String| FleetError::entry("generator", m);
        let ratios = self.kind_ratios().map(|(_, r)| r);
        let named = [
            ("cross_subscription_registry", self.cross_subscription_registry),
            ("defender_off", self.defender_off),
            ("defender_partial", self.defender_partial),
        ];
        for (name, r) in named {
            if !(0.0..=1.0).contains(&r) {
                return Err(err(format!("{name} = {r} must be between 0 and 1")));
            }
        }
        if ratios.iter().any(|r| !(0.0..=1.0).contains(r)) || ratios.iter().sum::<f64>() > 1.0 + 1e-9 {
            return Err(err("compliant, oidc_disabled, workload_identity_disabled, old_kubernetes, excluded and failed must each be in 0..=1 and sum to at most 1".into()));
        }
        if self.defender_off + self.defender_partial > 1.0 + 1e-9 {
            return Err(err("defender_off + defender_partial must be at most 1".into()));
        }
        if self.subscriptions == 0 || self.registries_per_cluster > self.registries_per_subscription {
            return Err(err("subscriptions must be at least 1 and registries_per_cluster at most registries_per_subscription".into()));
        }
        Ok(())
    }

    fn kind_ratios(&self) -> [(Kind, f64); 6] {
        [
            (Kind::Compliant, self.compliant),
            (Kind::OidcDisabled, self.oidc_disabled),
            (Kind::WorkloadIdentityDisabled, self.workload_identity_disabled),
            (Kind::OldKubernetes, self.old_kubernetes),
            (Kind::Excluded, self.excluded),
            (Kind::Failed, self.failed),
        ]
    }

    /// Exact number of clusters for a ratio.
    pub fn share(&self, ratio: f64) -> usize {
        ((self.count as f64) * ratio.clamp(0.0, 1.0)).round() as usize
    }
}

/// Builds the fleet described by `spec`.
pub fn generate(spec: &GeneratorSpec) -> Fleet {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let n_subs = spec.subscriptions.max(1);
    let per_sub = spec.registries_per_subscription.max(1);
    let states = defender_states(spec, n_subs);
    let mut fleet = Fleet::default();
    let sub_ids: Vec<String> = (0..n_subs).map(|_| guid(&mut rng)).collect();
    let hub = guid(&mut rng);
    for (id, defender) in sub_ids.iter().zip(&states) {
        fleet.subscriptions.push(SubscriptionSpec { id: id.clone(), defender: *defender, ..SubscriptionSpec::default() });
    }
    fleet.subscriptions.push(SubscriptionSpec { id: hub.clone(), defender: DefenderState::Full, ..SubscriptionSpec::default() });
    let registry = |sub: &str, s: usize, r: usize| RegistrySpec {
        subscription: sub.to_string(),
        resource_group: "rg-registries".into(),
        name: format!("acrs{s:03}r{r}"),
        location: spec.location.clone(),
        ..RegistrySpec::default()
    };
    for (s, id) in sub_ids.iter().enumerate() {
        fleet.registries.extend((0..per_sub).map(|r| registry(id, s, r)));
    }
    fleet.registries.extend((0..per_sub).map(|r| RegistrySpec { name: format!("acrhubr{r}"), ..registry(&hub, 0, r) }));
    let kinds = shuffled_kinds(spec, &mut rng);
    let mut cross = vec![false; spec.count];
    cross.iter_mut().take(spec.share(spec.cross_subscription_registry)).for_each(|c| *c = true);
    rng.shuffle(&mut cross);
    let full_subs: Vec<usize> = (0..n_subs).filter(|&s| states[s] == DefenderState::Full).collect();
    let (mut next_any, mut next_full) = (0usize, 0usize);
    for (i, kind) in kinds.into_iter().enumerate() {
        let s = if kind == Kind::Compliant && !full_subs.is_empty() {
            next_full += 1;
            full_subs[(next_full - 1) % full_subs.len()]
        } else {
            next_any += 1;
            (next_any - 1) % n_subs
        };
        let mut attached: Vec<String> = (0..spec.registries_per_cluster).map(|k| format!("acrs{s:03}r{}", (i + k) % per_sub)).collect();
        if cross[i] {
            attached.push(format!("acrhubr{}", i % per_sub));
        }
        fleet.clusters.push(cluster(spec, i, kind, &sub_ids[s], attached));
    }
    fleet
}

fn defender_states(spec: &GeneratorSpec, n: usize) -> Vec<DefenderState> {
    let off = ((n as f64) * spec.defender_off.clamp(0.0, 1.0)).floor() as usize;
    let partial = (((n as f64) * spec.defender_partial.clamp(0.0, 1.0)).floor() as usize).min(n - off.min(n));
    let mut states: Vec<DefenderState> = (0..n)
        .map(|s| {
            if s < off {
                DefenderState::Off
            } else if s < off + partial {
                DefenderState::Partial
            } else {
                DefenderState::Full
            }
        })
        .collect();
    if spec.compliant > 0.0 && !states.contains(&DefenderState::Full) {
        states[n - 1] = DefenderState::Full;
    }
    states
}

fn shuffled_kinds(spec: &GeneratorSpec, rng: &mut fastrand::Rng) -> Vec<Kind> {
    let mut kinds = Vec::with_capacity(spec.count);
    for (kind, ratio) in spec.kind_ratios() {
        let n = spec.share(ratio).min(spec.count - kinds.len());
        kinds.extend(std::iter::repeat_n(kind, n));
    }
    kinds.resize(spec.count, Kind::Convergeable);
    rng.shuffle(&mut kinds);
    kinds
}

fn cluster(spec: &GeneratorSpec, i: usize, kind: Kind, sub: &str, attached: Vec<String>) -> ClusterSpec {
    let versions = ["1.31.5", "1.32.3", "1.33.1"];
    let mut tags = BTreeMap::from([("env".to_string(), if i.is_multiple_of(3) { "prod" } else { "dev" }.to_string())]);
    if kind == Kind::Excluded {
        tags.insert("fleetgate.io/exclude".into(), "true".into());
    }
    ClusterSpec {
        subscription: Some(sub.to_string()),
        resource_group: Some(format!("rg-aks-{i:05}")),
        name: Some(format!("aks-{i:05}")),
        location: spec.location.clone(),
        kubernetes_version: if kind == Kind::OldKubernetes { "1.29.9".into() } else { versions[i % versions.len()].into() },
        oidc_issuer: kind != Kind::OidcDisabled,
        workload_identity: kind != Kind::WorkloadIdentityDisabled,
        tags,
        provisioning_state: if kind == Kind::Failed { "Failed".into() } else { "Succeeded".into() },
        attached_registries: attached,
        compliant: kind == Kind::Compliant,
        creating_for: if matches!(kind, Kind::Compliant | Kind::Failed) { None } else { spec.creating_for },
        ..ClusterSpec::default()
    }
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
