//! Observe: everything the planner needs about one cluster, read from ARM. Nothing outside
//! `scope.subscriptions` is read; an out-of-scope cluster costs zero requests.

use serde_json::Value;

use super::{Engine, ReconcileError};
use crate::config::IdentityStrategy;
use crate::core::model::{ClusterView, FicView, IdentityView, PricingView, RegistryView, RoleAssignmentView};
use crate::core::names::containers_pricing_id;
use crate::core::observation::{gating_entry_references, kubelet_registries, resolve_registry_reference};
use crate::core::{ClusterLookup, Observation, RegistrySource};
use crate::id::ResourceId;

impl Engine {
    /// Reads the cluster and everything around it into an [`Observation`].
    pub async fn observe(&self, cluster_id: &ResourceId) -> Result<Observation, ReconcileError> {
        if !self.policy.allows(cluster_id) {
            return Ok(Observation::new(cluster_id.clone(), ClusterLookup::OutOfScope));
        }
        let versions = &self.settings.azure.api_versions;
        let Some(resp) = self.arm.get(cluster_id.as_str(), &versions.managed_clusters).await? else {
            return Ok(Observation::new(cluster_id.clone(), ClusterLookup::NotFound));
        };
        let view = ClusterView::from_json(&resp.body).map_err(|e| ReconcileError::model(cluster_id, e))?;
        let mut obs = Observation::new(cluster_id.clone(), ClusterLookup::Found { view: Box::new(view.clone()), raw: resp.body });
        if self.policy.is_excluded(&view) {
            return Ok(obs);
        }
        if self.defer && view.is_busy() {
            // Deferring engines re-check later; the rest would be read again then.
            return Err(self.busy(cluster_id, view.provisioning_state.as_deref().unwrap_or_default(), None));
        }
        self.observe_registries(&view, &mut obs).await?;
        let principal = self.observe_identity(&view, &mut obs).await?;
        if let Some(principal) = principal {
            obs.identity_acr_pulls = self.acr_pulls_of(&principal, registry_subscriptions(&obs)).await?;
        }
        self.observe_pricing(cluster_id, &mut obs).await?;
        Ok(obs)
    }

    /// Registries the cluster uses: kubelet AcrPull assignments in every subscription in scope,
    /// `gating.extra_registries`, and registries named by existing gating entries.
    async fn observe_registries(&self, view: &ClusterView, obs: &mut Observation) -> Result<(), ReconcileError> {
        if let Some(kubelet) = &view.kubelet_identity {
            let subs = self.policy.subscriptions.clone();
            let assignments = self.acr_pulls_of(&kubelet.object_id, subs).await?;
            for id in kubelet_registries(&kubelet.object_id, &assignments) {
                obs.add_registry(id, RegistrySource::KubeletAcrPull);
            }
        }
        for id in &self.policy.extra_registries {
            obs.add_registry(id.clone(), RegistrySource::ExtraRegistries);
        }
        let references: Vec<String> = gating_entry_references(view).into_iter().map(str::to_string).collect();
        for reference in &references {
            if let Ok(id) = ResourceId::parse(reference)
                && id.is_type("Microsoft.ContainerRegistry/registries")
            {
                obs.add_registry(id, RegistrySource::GatingEntry);
            }
        }
        let views = self.read_registries(obs).await?;
        for reference in &references {
            if let Some(found) = resolve_registry_reference(reference, &views) {
                obs.add_registry(found.id.clone(), RegistrySource::GatingEntry);
            }
        }
        for v in views {
            obs.set_registry_view(v);
        }
        Ok(())
    }

    /// GETs every in-scope registry found so far.
    async fn read_registries(&self, obs: &Observation) -> Result<Vec<RegistryView>, ReconcileError> {
        let mut views = Vec::new();
        for registry in obs.registries.iter().filter(|r| self.policy.allows(&r.id)) {
            let version = &self.settings.azure.api_versions.container_registries;
            if let Some(resp) = self.arm.get(registry.id.as_str(), version).await? {
                views.push(RegistryView::from_json(&resp.body).map_err(|e| ReconcileError::model(&registry.id, e))?);
            }
        }
        Ok(views)
    }

    /// The gating identity and its federated credentials; returns its principal ID when known.
    async fn observe_identity(&self, view: &ClusterView, obs: &mut Observation) -> Result<Option<String>, ReconcileError> {
        let version = &self.settings.azure.api_versions.managed_identity;
        let (identity_id, principal) = match self.policy.strategy {
            IdentityStrategy::Kubelet => match &view.kubelet_identity {
                Some(k) => (k.resource_id.clone(), Some(k.object_id.clone())),
                None => return Ok(None),
            },
            IdentityStrategy::Dedicated => {
                let Some(id) = self.policy.gating_identity_id(view) else { return Ok(None) };
                if !self.policy.allows(&id) {
                    return Ok(None);
                }
                let Some(resp) = self.arm.get(id.as_str(), version).await? else { return Ok(None) };
                let identity = IdentityView::from_json(&resp.body).map_err(|e| ReconcileError::model(&id, e))?;
                let principal = Some(identity.principal_id.clone());
                obs.identity = Some(identity);
                (id, principal)
            }
        };
        if self.policy.allows(&identity_id) {
            let path = format!("{identity_id}/federatedIdentityCredentials");
            let items = self.arm.list(&path, version, None).await?;
            obs.federated_credentials = parse_all(&items, &identity_id, FicView::from_json)?;
        }
        Ok(principal)
    }

    /// Containers pricing of the cluster's subscription and every registry's (when managed).
    async fn observe_pricing(&self, cluster_id: &ResourceId, obs: &mut Observation) -> Result<(), ReconcileError> {
        if !self.policy.manage_defender_plan {
            return Ok(());
        }
        let registry_ids: Vec<ResourceId> = obs.registries.iter().map(|r| r.id.clone()).collect();
        for sub in self.policy.pricing_subscriptions(cluster_id, registry_ids.iter()) {
            let id = containers_pricing_id(&sub).map_err(|e| ReconcileError::InvalidId { what: "pricing", source: Box::new(e) })?;
            let pricing = match self.arm.get(id.as_str(), &self.settings.azure.api_versions.pricings).await? {
                Some(resp) => Some(PricingView::from_json(&resp.body).map_err(|e| ReconcileError::model(&id, e))?),
                None => None,
            };
            obs.set_pricing(&sub, pricing);
        }
        Ok(())
    }

    /// Role assignments of `principal` in each in-scope subscription (at, above and below it).
    pub async fn acr_pulls_of(&self, principal: &str, subscriptions: Vec<String>) -> Result<Vec<RoleAssignmentView>, ReconcileError> {
        let version = &self.settings.azure.api_versions.role_assignments;
        let filter = format!("principalId eq '{principal}'");
        let mut out = Vec::new();
        for sub in subscriptions.iter().filter(|s| self.policy.allows_subscription(s)) {
            let path = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments");
            for item in self.arm.list(&path, version, Some(&filter)).await? {
                // An assignment we cannot parse is not ours to judge; skip it rather than fail the cluster.
                if let Ok(ra) = RoleAssignmentView::from_json(&item) {
                    out.push(ra);
                }
            }
        }
        Ok(out)
    }
}

/// Distinct subscriptions of the observed registries.
fn registry_subscriptions(obs: &Observation) -> Vec<String> {
    let mut subs: Vec<String> = Vec::new();
    for r in &obs.registries {
        let s = r.id.subscription_id().to_ascii_lowercase();
        if !subs.contains(&s) {
            subs.push(s);
        }
    }
    subs
}

fn parse_all<T>(
    items: &[Value],
    parent: &ResourceId,
    parse: impl Fn(&Value) -> Result<T, crate::core::model::ModelError>,
) -> Result<Vec<T>, ReconcileError> {
    items.iter().map(|v| parse(v).map_err(|e| ReconcileError::model(parent, e))).collect()
}
