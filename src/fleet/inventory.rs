//! [`Inventory`]: what the bulk reads returned, indexed, and the pure step that turns it into one
//! [`Observation`] per cluster — the same observation the per-cluster path (`reconcile::observe`) would
//! build from ARM, so the planner's verdict on it is the per-cluster verdict.
//!
//! Two inputs are not in Resource Graph and are filled in separately (see [`super::observe`]): the
//! Containers pricing (one GET per subscription, shared by every cluster) and federated credentials
//! (see [`FicMode`]).

use std::collections::HashMap;

use crate::config::IdentityStrategy;
use crate::core::gating::entry_is_for_identity;
use crate::core::model::{ClusterView, FicView, IdentityView, PricingView, RegistryView, RoleAssignmentView, lookup_ci};
use crate::core::names::{ACR_PULL_ROLE_GUID, CLUSTER_TAG, FIC_AUDIENCE, FIC_SUBJECT, acr_pull_role_definition_id, fic_name};
use crate::core::observation::{gating_entry_references, kubelet_registries, resolve_registry_reference};
use crate::core::{ClusterLookup, Observation, Policy, RegistrySource};
use crate::id::ResourceId;

/// How the bulk observation treats federated identity credentials, which Resource Graph does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FicMode {
    /// Assume the admission controller's credential exists when the gating identity exists **and** the
    /// cluster already has a `securityGating` entry for it: fleetgate writes that entry only after the
    /// credential, so the entry is evidence the recipe completed. Costs zero reads. Blind spot: a
    /// credential deleted afterwards is not seen here — the worker's event path and periodic resync
    /// (full per-cluster observation) repair it.
    #[default]
    Trust,
    /// List the credentials (one read per identity) of every cluster whose plan is otherwise compliant.
    Verify,
}

/// The fleet-wide bulk reads a cluster's observation needs, indexed for per-cluster lookups (the
/// clusters themselves stream past it, see `fleet::planner`).
///
/// Kept small because it lives for the whole planning phase and grows with the fleet: of an identity
/// only what the planner reads (principal, client, the `fleetgate.io/cluster` tag); of an AcrPull
/// assignment only its principal and scope, each distinct scope stored once.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Gating identities by ID key.
    identities: HashMap<Box<str>, KnownIdentity>,
    /// Distinct AcrPull scopes, and their index by ID key.
    scopes: Vec<ResourceId>,
    scope_index: HashMap<Box<str>, u32>,
    /// AcrPull scopes (indexes into `scopes`) by principal (lower case).
    acr_pulls: HashMap<Box<str>, Vec<u32>>,
    registries: HashMap<String, RegistryView>,
    pricing: HashMap<String, Option<PricingView>>,
    fics: HashMap<String, Vec<FicView>>,
}

/// What the planner reads of an existing gating identity (its ID is the index key).
#[derive(Debug)]
struct KnownIdentity {
    principal_id: String,
    client_id: String,
    /// The `fleetgate.io/cluster` tag (which cluster the identity serves).
    cluster_tag: Option<String>,
}

impl Inventory {
    /// Adds an identity (keeping what the planner reads of it).
    pub fn add_identity(&mut self, identity: IdentityView) {
        let known = KnownIdentity {
            cluster_tag: lookup_ci(&identity.tags, CLUSTER_TAG).map(str::to_string),
            principal_id: identity.principal_id,
            client_id: identity.client_id,
        };
        self.identities.insert(identity.id.key().into(), known);
    }

    /// The identity `id` as the planner sees it, when it was found.
    fn identity(&self, id: &ResourceId) -> Option<IdentityView> {
        let known = self.identities.get(id.key())?;
        let tags = known.cluster_tag.iter().map(|t| (CLUSTER_TAG.to_string(), t.clone())).collect();
        let (principal_id, client_id) = (known.principal_id.clone(), known.client_id.clone());
        Some(IdentityView { id: id.clone(), location: None, tags, principal_id, client_id, tenant_id: None })
    }

    /// Adds an AcrPull assignment (indexed by principal; other roles and scopeless ones are ignored).
    pub fn add_acr_pull(&mut self, assignment: RoleAssignmentView) {
        if !assignment.is_role(ACR_PULL_ROLE_GUID) {
            return;
        }
        let Some(scope) = assignment.scope else { return };
        let next = u32::try_from(self.scopes.len()).unwrap_or(u32::MAX);
        let index = *self.scope_index.entry(scope.key().into()).or_insert(next);
        if index == next {
            self.scopes.push(scope);
        }
        let principal = assignment.principal_id.to_ascii_lowercase().into_boxed_str();
        let scopes = self.acr_pulls.entry(principal).or_default();
        if !scopes.contains(&index) {
            scopes.push(index);
        }
    }

    /// `principal`'s AcrPull assignments, rebuilt as views (their IDs are not kept).
    fn acr_pulls_of(&self, principal: &str) -> Vec<RoleAssignmentView> {
        let indexes = self.acr_pulls.get(principal.to_ascii_lowercase().as_str()).map(Vec::as_slice).unwrap_or_default();
        indexes
            .iter()
            .filter_map(|&i| self.scopes.get(i as usize))
            .map(|scope| RoleAssignmentView {
                id: String::new(),
                scope: Some(scope.clone()),
                role_definition_id: acr_pull_role_definition_id(scope.subscription_id()),
                role_guid: Some(ACR_PULL_ROLE_GUID.to_string()),
                principal_id: principal.to_string(),
                principal_type: None,
            })
            .collect()
    }

    /// Adds a registry.
    pub fn add_registry(&mut self, registry: RegistryView) {
        self.registries.insert(registry.id.key().to_string(), registry);
    }

    /// Records a subscription's Containers pricing (`None` = absent).
    pub fn set_pricing(&mut self, subscription: &str, pricing: Option<PricingView>) {
        self.pricing.insert(subscription.to_ascii_lowercase(), pricing);
    }

    /// True when a subscription's pricing has been recorded.
    pub fn has_pricing(&self, subscription: &str) -> bool {
        self.pricing.contains_key(&subscription.to_ascii_lowercase())
    }

    /// Records the listed federated credentials of an identity (makes them authoritative for it).
    pub fn set_fics(&mut self, identity: &ResourceId, fics: Vec<FicView>) {
        self.fics.insert(identity.key().to_string(), fics);
    }

    /// The observation of one cluster, mirroring `reconcile::observe`: registries from the kubelet's
    /// AcrPull, `extra_registries` and existing gating entries; the gating identity, its AcrPull and
    /// (per `mode`, unless listed with [`Inventory::set_fics`]) its credentials; pricing when recorded.
    /// The observation's raw document is `null`: a bulk plan is never applied (the per-cluster path
    /// re-reads the cluster), and keeping thousands of documents would only cost memory.
    pub fn observe(&self, cluster: &ClusterView, policy: &Policy, mode: FicMode) -> Observation {
        let found = ClusterLookup::Found { view: Box::new(cluster.clone()), raw: serde_json::Value::Null };
        let mut obs = Observation::new(cluster.id.clone(), found);
        if !policy.allows(&cluster.id) || policy.is_excluded(cluster) {
            return obs;
        }
        self.observe_registries(cluster, policy, &mut obs);
        let identity = self.observe_identity(cluster, policy, &mut obs);
        if let Some((id, principal)) = identity {
            obs.identity_acr_pulls = self.acr_pulls_of(&principal);
            obs.federated_credentials = match self.fics.get(id.key()) {
                Some(listed) => listed.clone(),
                None if mode == FicMode::Trust => assumed_fic(cluster, &id, &obs).into_iter().collect(),
                None => Vec::new(),
            };
        }
        let registry_ids: Vec<ResourceId> = obs.registries.iter().map(|r| r.id.clone()).collect();
        for sub in policy.pricing_subscriptions(&cluster.id, registry_ids.iter()) {
            if let Some(p) = self.pricing.get(&sub.to_ascii_lowercase()) {
                obs.set_pricing(&sub, p.clone());
            }
        }
        obs
    }

    fn observe_registries(&self, cluster: &ClusterView, policy: &Policy, obs: &mut Observation) {
        if let Some(k) = &cluster.kubelet_identity {
            let mut in_scope = self.acr_pulls_of(&k.object_id);
            in_scope.retain(|a| a.scope.as_ref().is_some_and(|s| policy.allows(s)));
            for id in kubelet_registries(&k.object_id, &in_scope) {
                obs.add_registry(id, RegistrySource::KubeletAcrPull);
            }
        }
        for id in &policy.extra_registries {
            obs.add_registry(id.clone(), RegistrySource::ExtraRegistries);
        }
        let references = gating_entry_references(cluster);
        for reference in &references {
            if let Ok(id) = ResourceId::parse(reference)
                && id.is_type("Microsoft.ContainerRegistry/registries")
            {
                obs.add_registry(id, RegistrySource::GatingEntry);
            }
        }
        let views: Vec<RegistryView> =
            obs.registries.iter().filter(|r| policy.allows(&r.id)).filter_map(|r| self.registries.get(r.id.key()).cloned()).collect();
        for reference in &references {
            if let Some(found) = resolve_registry_reference(reference, &views) {
                obs.add_registry(found.id.clone(), RegistrySource::GatingEntry);
            }
        }
        for v in views {
            obs.set_registry_view(v);
        }
    }

    /// Fills `obs.identity` (dedicated) and returns the gating identity's ID and principal, when known.
    fn observe_identity(&self, cluster: &ClusterView, policy: &Policy, obs: &mut Observation) -> Option<(ResourceId, String)> {
        match policy.strategy {
            IdentityStrategy::Kubelet => cluster.kubelet_identity.as_ref().map(|k| (k.resource_id.clone(), k.object_id.clone())),
            IdentityStrategy::Dedicated => {
                let id = policy.gating_identity_id(cluster).filter(|id| policy.allows(id))?;
                let identity = self.identity(&id)?;
                let principal = identity.principal_id.clone();
                obs.identity = Some(identity);
                Some((id, principal))
            }
        }
    }
}

/// The credential [`FicMode::Trust`] assumes, when the cluster's gating entries name the identity.
fn assumed_fic(cluster: &ClusterView, identity: &ResourceId, obs: &Observation) -> Option<FicView> {
    let issuer = cluster.oidc_issuer_url.as_deref().filter(|_| cluster.oidc_issuer_enabled)?;
    let (client, object) = match &obs.identity {
        Some(i) => (Some(i.client_id.as_str()), Some(i.principal_id.as_str())),
        None => {
            let k = cluster.kubelet_identity.as_ref()?;
            (Some(k.client_id.as_str()), Some(k.object_id.as_str()))
        }
    };
    let evidence = cluster.gating_entries().iter().any(|e| entry_is_for_identity(e, identity, client, object));
    evidence.then(|| FicView {
        name: fic_name(issuer),
        issuer: Some(issuer.to_string()),
        subject: Some(FIC_SUBJECT.to_string()),
        audiences: vec![FIC_AUDIENCE.to_string()],
    })
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
