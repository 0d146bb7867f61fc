//! The planner: `plan(&Observation, &Policy) -> Plan`, a pure function.
//!
//! Order of decisions: cluster out of scope / not found → excluded by tag → blockers (nothing is
//! written) → the ordered actions `enable_prerequisites` → `enable_defender_plan` (per subscription) →
//! `create_identity` → `create_federated_credential` → `assign_acr_pull` (per registry) →
//! `update_security_gating`. A compliant cluster plans zero actions.

mod checks;
mod steps;

use serde::{Deserialize, Serialize};

use crate::config::IdentityStrategy;
use crate::core::action::{Action, ActionKind};
use crate::core::blocker::Blocker;
use crate::core::gating::GatingIdentityRef;
use crate::core::model::{ClusterView, lookup_ci};
use crate::core::names::CLUSTER_TAG;
use crate::core::observation::{ClusterLookup, Observation, ObservedRegistry, RegistrySource};
use crate::core::policy::Policy;
use crate::id::ResourceId;

/// The plan's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Nothing to do.
    Compliant,
    /// Actions are planned.
    ChangesNeeded,
    /// Blockers prevent any write.
    Blocked,
    /// The cluster carries the opt-out tag.
    Excluded,
}

/// The gating identity: `{"strategy", "resource_id", "principal_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanIdentity {
    /// `dedicated` or `kubelet`.
    pub strategy: IdentityStrategy,
    /// The identity's ID, when it can be named.
    pub resource_id: Option<ResourceId>,
    /// Its principal (object) ID; `None` until it exists.
    pub principal_id: Option<String>,
    /// Its client ID, when it exists (not part of the JSON).
    #[serde(skip)]
    pub client_id: Option<String>,
    /// True when it already exists (not part of the JSON).
    #[serde(skip)]
    pub exists: bool,
}

impl PlanIdentity {
    fn unknown(strategy: IdentityStrategy) -> Self {
        Self { strategy, resource_id: None, principal_id: None, client_id: None, exists: false }
    }

    /// The identity as a gating entry, when it exists and all three IDs are known.
    pub fn gating_ref(&self) -> Option<GatingIdentityRef> {
        Some(GatingIdentityRef {
            resource_id: self.resource_id.clone()?,
            client_id: self.client_id.clone()?,
            object_id: self.principal_id.clone()?,
        })
    }
}

/// The plan for one cluster; serializes to the `plan --output json` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The cluster's ARM ID.
    pub cluster: ResourceId,
    /// Verdict.
    pub status: PlanStatus,
    /// The gating identity.
    pub identity: PlanIdentity,
    /// The registries the cluster uses (ARM IDs, sorted).
    pub registries: Vec<ResourceId>,
    /// Why nothing can be written (status `blocked`).
    pub blockers: Vec<Blocker>,
    /// Ordered writes (status `changes_needed`).
    pub actions: Vec<Action>,
}

impl Plan {
    fn new(cluster: ResourceId, identity: PlanIdentity) -> Self {
        Self { cluster, status: PlanStatus::Compliant, identity, registries: Vec::new(), blockers: Vec::new(), actions: Vec::new() }
    }

    fn blocked(mut self, blockers: Vec<Blocker>) -> Self {
        self.status = PlanStatus::Blocked;
        self.blockers = blockers;
        self.actions.clear();
        self
    }

    /// True when no action is needed.
    pub fn is_compliant(&self) -> bool {
        self.status == PlanStatus::Compliant
    }

    /// The actions of one kind.
    pub fn actions_of(&self, kind: ActionKind) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(move |a| a.kind() == kind)
    }
}

/// What the checks and steps read.
struct Ctx<'a> {
    obs: &'a Observation,
    policy: &'a Policy,
    cluster: &'a ClusterView,
    identity: &'a PlanIdentity,
    registries: &'a [ObservedRegistry],
}

/// Computes status, blockers and ordered actions for one cluster. Pure.
pub fn plan(obs: &Observation, policy: &Policy) -> Plan {
    let mut out = Plan::new(obs.cluster_id.clone(), PlanIdentity::unknown(policy.strategy));
    let cluster = match &obs.cluster {
        _ if !policy.allows(&obs.cluster_id) => return out.blocked(vec![Blocker::cluster_out_of_scope(&obs.cluster_id)]),
        ClusterLookup::OutOfScope => return out.blocked(vec![Blocker::cluster_out_of_scope(&obs.cluster_id)]),
        ClusterLookup::NotFound => return out.blocked(vec![Blocker::cluster_not_found(&obs.cluster_id)]),
        ClusterLookup::Found { view, .. } => view.as_ref(),
    };
    let registries = registries(obs, policy);
    out.registries = registries.iter().map(|r| r.id.clone()).collect();
    let (identity, identity_blocker) = resolve_identity(obs, policy, cluster);
    out.identity = identity;
    if policy.is_excluded(cluster) {
        out.status = PlanStatus::Excluded;
        return out;
    }
    let ctx = Ctx { obs, policy, cluster, identity: &out.identity, registries: &registries };
    let blockers = checks::blockers(&ctx, identity_blocker);
    if !blockers.is_empty() {
        return out.blocked(blockers);
    }
    let actions = steps::actions(&ctx);
    out.status = if actions.is_empty() { PlanStatus::Compliant } else { PlanStatus::ChangesNeeded };
    out.actions = actions;
    out
}

/// The observed registries plus any `extra_registries` the IO layer did not add, sorted by ID.
fn registries(obs: &Observation, policy: &Policy) -> Vec<ObservedRegistry> {
    let mut all = obs.registries.clone();
    for extra in &policy.extra_registries {
        if !all.iter().any(|r| &r.id == extra) {
            all.push(ObservedRegistry { id: extra.clone(), sources: vec![RegistrySource::ExtraRegistries], view: None });
        }
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// The gating identity per strategy, and a blocker when it cannot be used.
fn resolve_identity(obs: &Observation, policy: &Policy, cluster: &ClusterView) -> (PlanIdentity, Option<Blocker>) {
    let mut identity = PlanIdentity::unknown(policy.strategy);
    match policy.strategy {
        IdentityStrategy::Kubelet => {
            if let Some(k) = &cluster.kubelet_identity {
                identity.resource_id = Some(k.resource_id.clone());
                identity.principal_id = Some(k.object_id.clone());
                identity.client_id = Some(k.client_id.clone());
                identity.exists = true;
            }
            (identity, None)
        }
        IdentityStrategy::Dedicated => match policy.dedicated_identity_id(&cluster.id) {
            Err((name, group)) => (identity, Some(Blocker::identity_name_invalid(&cluster.id, &name, &group))),
            Ok(id) => {
                let existing = obs.identity.as_ref().filter(|i| i.id == id);
                let conflict = existing.and_then(|i| serves_other_cluster(lookup_ci(&i.tags, CLUSTER_TAG), &cluster.id));
                let blocker = conflict.map(|other| Blocker::identity_name_conflict(&id, &cluster.id, &other));
                identity.principal_id = existing.map(|i| i.principal_id.clone());
                identity.client_id = existing.map(|i| i.client_id.clone());
                identity.exists = existing.is_some();
                identity.resource_id = Some(id);
                (identity, blocker)
            }
        },
    }
}

/// The other cluster named by an identity's `fleetgate.io/cluster` tag, if it is not `cluster`.
fn serves_other_cluster(tag: Option<&str>, cluster: &ResourceId) -> Option<String> {
    let tag = tag?.trim();
    let same = ResourceId::parse(tag).is_ok_and(|t| &t == cluster);
    (!tag.is_empty() && !same).then(|| tag.to_string())
}

#[cfg(test)]
mod tests;
