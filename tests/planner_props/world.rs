//! A pure model of ARM around one cluster: what the engine's observe step would read (same filters:
//! nothing outside scope, role assignments per in-scope subscription, gating references resolved
//! against the registries read) and what each action's PUT would leave behind. Each applied action is
//! checked against the edit rules on the way.

use fleetgate::config::IdentityStrategy;
use fleetgate::core::gating::{GatingIdentityRef, apply_prerequisites, apply_security_gating, desired_entries};
use fleetgate::core::model::{ClusterView, FicView, IdentityView, PricingView, RegistryView, RoleAssignmentView};
use fleetgate::core::names::{acr_pull_assignment_id, acr_pull_role_definition_id};
use fleetgate::core::observation::{gating_entry_references, kubelet_registries, resolve_registry_reference};
use fleetgate::core::pricing::merge_for_gating;
use fleetgate::core::{Action, ActionKind, ClusterLookup, Observation, Policy, RegistrySource};
use fleetgate::id::ResourceId;
use serde_json::{Value, json};

use super::edits::check_cluster_edit;

/// Issuer URL ARM reports once the OIDC issuer is switched on.
pub const GENERATED_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/tenant-1/generated/";

/// Everything ARM holds that matters to one cluster.
pub struct World {
    /// The ID the trigger named.
    pub cluster_id: ResourceId,
    /// The cluster document (`None` = 404).
    pub cluster: Option<Value>,
    pub registries: Vec<Value>,
    pub identities: Vec<Value>,
    /// Federated credentials by owning identity.
    pub fics: Vec<(ResourceId, Value)>,
    pub assignments: Vec<Value>,
    /// Containers pricing by subscription.
    pub pricings: Vec<(String, Value)>,
    /// Every write the model performed: (kind, lower-case resource).
    pub writes: Vec<(ActionKind, String)>,
    fresh: u32,
}

impl World {
    pub fn new(cluster_id: ResourceId) -> Self {
        Self {
            cluster_id,
            cluster: None,
            registries: Vec::new(),
            identities: Vec::new(),
            fics: Vec::new(),
            assignments: Vec::new(),
            pricings: Vec::new(),
            writes: Vec::new(),
            fresh: 0,
        }
    }

    pub fn add_assignment(&mut self, scope: &str, principal: &str, role: &str) {
        self.fresh += 1;
        let id = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-4000-8000-{:012x}", self.fresh);
        self.assignments.push(json!({"id": id, "properties": {"scope": scope, "principalId": principal, "roleDefinitionId": role}}));
    }

    fn fresh_guid(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}-0000-4000-8000-{:012x}", self.fresh)
    }

    /// Role assignments of `principal` in the in-scope subscriptions among `subs`.
    fn assignments_of(&self, policy: &Policy, principal: &str, subs: &[String]) -> Vec<RoleAssignmentView> {
        let views = self.assignments.iter().map(|a| RoleAssignmentView::from_json(a).unwrap());
        views
            .filter(|a| a.principal_id.eq_ignore_ascii_case(principal))
            .filter(|a| a.scope.as_ref().is_some_and(|s| subs.iter().any(|x| x.eq_ignore_ascii_case(s.subscription_id()))))
            .filter(|a| a.scope.as_ref().is_some_and(|s| policy.allows(s)))
            .collect()
    }

    /// What the engine's observe step reads.
    pub fn observe(&self, policy: &Policy) -> Observation {
        if !policy.allows(&self.cluster_id) {
            return Observation::new(self.cluster_id.clone(), ClusterLookup::OutOfScope);
        }
        let Some(raw) = self.cluster.clone() else { return Observation::new(self.cluster_id.clone(), ClusterLookup::NotFound) };
        let view = ClusterView::from_json(&raw).expect("generated clusters parse");
        let mut obs = Observation::new(self.cluster_id.clone(), ClusterLookup::Found { view: Box::new(view.clone()), raw });
        if policy.is_excluded(&view) {
            return obs;
        }
        self.observe_registries(policy, &view, &mut obs);
        let principal = self.observe_identity(policy, &view, &mut obs);
        if let Some(principal) = principal {
            let mut subs: Vec<String> = obs.registries.iter().map(|r| r.id.subscription_id().to_ascii_lowercase()).collect();
            subs.dedup();
            obs.identity_acr_pulls = self.assignments_of(policy, &principal, &subs);
        }
        if policy.manage_defender_plan {
            let ids: Vec<ResourceId> = obs.registries.iter().map(|r| r.id.clone()).collect();
            for sub in policy.pricing_subscriptions(&self.cluster_id, ids.iter()) {
                let found = self.pricings.iter().find(|(s, _)| s.eq_ignore_ascii_case(&sub));
                obs.set_pricing(&sub, found.map(|(_, doc)| PricingView::from_json(doc).unwrap()));
            }
        }
        obs
    }

    fn observe_registries(&self, policy: &Policy, view: &ClusterView, obs: &mut Observation) {
        if let Some(k) = &view.kubelet_identity {
            for id in kubelet_registries(&k.object_id, &self.assignments_of(policy, &k.object_id, &policy.subscriptions)) {
                obs.add_registry(id, RegistrySource::KubeletAcrPull);
            }
        }
        for id in &policy.extra_registries {
            obs.add_registry(id.clone(), RegistrySource::ExtraRegistries);
        }
        let references: Vec<String> = gating_entry_references(view).into_iter().map(str::to_string).collect();
        for r in &references {
            if let Ok(id) = ResourceId::parse(r)
                && id.is_type("Microsoft.ContainerRegistry/registries")
            {
                obs.add_registry(id, RegistrySource::GatingEntry);
            }
        }
        let views: Vec<RegistryView> = obs
            .registries
            .iter()
            .filter(|r| policy.allows(&r.id))
            .filter_map(|r| self.registries.iter().map(|d| RegistryView::from_json(d).unwrap()).find(|v| v.id == r.id))
            .collect();
        for r in &references {
            if let Some(found) = resolve_registry_reference(r, &views) {
                obs.add_registry(found.id.clone(), RegistrySource::GatingEntry);
            }
        }
        views.into_iter().for_each(|v| obs.set_registry_view(v));
    }

    /// The gating identity and its FICs; returns its principal when known.
    fn observe_identity(&self, policy: &Policy, view: &ClusterView, obs: &mut Observation) -> Option<String> {
        let (id, principal) = match policy.strategy {
            IdentityStrategy::Kubelet => view.kubelet_identity.as_ref().map(|k| (k.resource_id.clone(), k.object_id.clone()))?,
            IdentityStrategy::Dedicated => {
                let id = policy.gating_identity_id(view).filter(|id| policy.allows(id))?;
                let doc = self.identities.iter().find(|d| ResourceId::parse(d["id"].as_str().unwrap()).unwrap() == id)?;
                let identity = IdentityView::from_json(doc).unwrap();
                let principal = identity.principal_id.clone();
                obs.identity = Some(identity);
                (id, principal)
            }
        };
        obs.federated_credentials =
            self.fics.iter().filter(|(owner, _)| owner == &id).map(|(_, f)| FicView::from_json(f).unwrap()).collect();
        Some(principal)
    }

    /// Applies one action as ARM would. Returns true when the engine must observe again first.
    pub fn apply(&mut self, action: &Action, identity: &mut Option<GatingIdentityRef>) -> bool {
        self.writes.push((action.kind(), action.resource().to_ascii_lowercase()));
        match action {
            Action::EnablePrerequisites { oidc_issuer, workload_identity, .. } => {
                self.edit_cluster(|doc| {
                    apply_prerequisites(doc, *oidc_issuer, *workload_identity);
                    let oidc = &mut doc["properties"]["oidcIssuerProfile"];
                    if oidc["enabled"] == json!(true) && oidc.get("issuerURL").is_none() {
                        oidc["issuerURL"] = json!(GENERATED_ISSUER);
                    }
                });
                return true;
            }
            Action::EnableDefenderPlan { subscription, .. } => {
                let current = self.pricings.iter().position(|(s, _)| s.eq_ignore_ascii_case(subscription));
                let merged = merge_for_gating(current.map(|i| &self.pricings[i].1));
                current.map(|i| self.pricings.remove(i));
                self.pricings.push((subscription.clone(), merged));
            }
            Action::CreateIdentity { resource, location, tags } => {
                let (principal, client) = (self.fresh_guid("0b1ec710"), self.fresh_guid("c11e4710"));
                let doc = json!({"id": resource.as_str(), "location": location, "tags": tags,
                    "properties": {"principalId": principal, "clientId": client, "tenantId": "tenant-1"}});
                *identity = Some(GatingIdentityRef::from_identity(&IdentityView::from_json(&doc).unwrap()));
                self.identities.push(doc);
            }
            Action::CreateFederatedCredential { identity: owner, name, issuer, subject, audience, .. } => {
                let fic = json!({"name": name, "properties": {"issuer": issuer, "subject": subject, "audiences": [audience]}});
                self.fics.push((owner.clone(), fic));
            }
            Action::AssignAcrPull { registry, principal_id, .. } => {
                let principal = principal_id.clone().or_else(|| identity.as_ref().map(|i| i.object_id.clone())).expect("a principal");
                let id = acr_pull_assignment_id(registry, &principal).unwrap();
                let role = acr_pull_role_definition_id(registry.subscription_id());
                self.assignments
                    .push(json!({"id": id.as_str(), "properties": {"scope": registry.as_str(), "principalId": principal, "roleDefinitionId": role}}));
            }
            Action::UpdateSecurityGating { add, .. } => {
                let desired = desired_entries(add, identity.as_ref().expect("the gating identity exists by now"));
                self.edit_cluster(|doc| {
                    apply_security_gating(doc, &desired);
                    assert!(!apply_security_gating(&mut doc.clone(), &desired), "the gating edit is not idempotent");
                });
            }
        }
        false
    }

    /// GET → edit → PUT of the cluster document, checked by [`check_cluster_edit`].
    fn edit_cluster(&mut self, edit: impl FnOnce(&mut Value)) {
        let before = self.cluster.clone().expect("the cluster exists");
        let mut after = before.clone();
        edit(&mut after);
        check_cluster_edit(&before, &after);
        self.cluster = Some(after);
    }
}
