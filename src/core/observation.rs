//! What the IO layer observed about one cluster, in the shape the planner reads.
//!
//! The IO layer builds it in one pass:
//! 1. `Observation::new(cluster_id, lookup)` — [`ClusterLookup::OutOfScope`] without any request when
//!    `policy.allows(&cluster_id)` is false, else the GET's outcome.
//! 2. For each registry: [`Observation::add_registry`] with where it was found — the kubelet identity's
//!    AcrPull assignments ([`kubelet_registries`]), `gating.extra_registries`, and existing gating entries
//!    resolved to IDs ([`resolve_registry_reference`]); then GET every in-scope registry and
//!    [`Observation::set_registry_view`] (a registry left without a view is reported `registry_not_found`).
//! 3. The gating identity at `policy.gating_identity_id(&cluster)`: `identity` (dedicated strategy; `None`
//!    = 404), its federated credentials, and its AcrPull assignments.
//! 4. [`Observation::set_pricing`] for each of `policy.pricing_subscriptions(…)` (`None` = 404).

use serde_json::Value;

use crate::core::gating::names_registry;
use crate::core::model::{ClusterView, FicView, IdentityView, PricingView, RegistryView, RoleAssignmentView};
use crate::core::names::ACR_PULL_ROLE_GUID;
use crate::id::ResourceId;

/// The outcome of looking the cluster up.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterLookup {
    /// Its subscription is not in scope: it was not read.
    OutOfScope,
    /// ARM answered 404.
    NotFound,
    /// The typed view and the raw document (kept for the gating PUT).
    Found {
        /// Typed view.
        view: Box<ClusterView>,
        /// The document exactly as read.
        raw: Value,
    },
}

/// Where a registry the cluster uses was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrySource {
    /// An AcrPull assignment of the kubelet identity at the registry's scope.
    KubeletAcrPull,
    /// `gating.extra_registries`.
    ExtraRegistries,
    /// An existing `securityGating.identities` entry.
    GatingEntry,
}

impl RegistrySource {
    /// Human-readable origin, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::KubeletAcrPull => "the kubelet identity's AcrPull assignments",
            Self::ExtraRegistries => "gating.extra_registries",
            Self::GatingEntry => "the cluster's securityGating entries",
        }
    }
}

/// One registry the cluster uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRegistry {
    /// Its ARM ID.
    pub id: ResourceId,
    /// Where it was found (at least one).
    pub sources: Vec<RegistrySource>,
    /// The registry as read; `None` when not read (out of scope) or not found.
    pub view: Option<RegistryView>,
}

impl ObservedRegistry {
    /// The login server, when the registry was read.
    pub fn login_server(&self) -> Option<&str> {
        self.view.as_ref().map(|v| v.login_server.as_str())
    }
}

/// The Containers pricing of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPricing {
    /// Subscription ID.
    pub subscription: String,
    /// The pricing, `None` when absent.
    pub pricing: Option<PricingView>,
}

/// Everything observed about one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The cluster asked about.
    pub cluster_id: ResourceId,
    /// The lookup outcome.
    pub cluster: ClusterLookup,
    /// Registries the cluster uses (deduplicated by ID).
    pub registries: Vec<ObservedRegistry>,
    /// The dedicated gating identity, if it exists (unused with the kubelet strategy).
    pub identity: Option<IdentityView>,
    /// Federated credentials of the gating identity.
    pub federated_credentials: Vec<FicView>,
    /// The gating identity's role assignments (filtered to AcrPull at registry scope by the planner).
    pub identity_acr_pulls: Vec<RoleAssignmentView>,
    /// Containers pricing per subscription (only read when `manage_defender_plan`).
    pub pricing: Vec<SubscriptionPricing>,
}

impl Observation {
    /// An observation with only the cluster lookup filled in.
    pub fn new(cluster_id: ResourceId, cluster: ClusterLookup) -> Self {
        Self {
            cluster_id,
            cluster,
            registries: Vec::new(),
            identity: None,
            federated_credentials: Vec::new(),
            identity_acr_pulls: Vec::new(),
            pricing: Vec::new(),
        }
    }

    /// The cluster's typed view, when found.
    pub fn cluster_view(&self) -> Option<&ClusterView> {
        match &self.cluster {
            ClusterLookup::Found { view, .. } => Some(view),
            _ => None,
        }
    }

    /// The raw cluster document, when found.
    pub fn raw_cluster(&self) -> Option<&Value> {
        match &self.cluster {
            ClusterLookup::Found { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// Records a registry and where it was found (merging duplicates, case-insensitively).
    pub fn add_registry(&mut self, id: ResourceId, source: RegistrySource) {
        match self.registries.iter_mut().find(|r| r.id == id) {
            Some(r) if !r.sources.contains(&source) => r.sources.push(source),
            Some(_) => {}
            None => self.registries.push(ObservedRegistry { id, sources: vec![source], view: None }),
        }
    }

    /// Attaches a registry's GET result to the registry with the same ID (ignored for unknown IDs).
    pub fn set_registry_view(&mut self, view: RegistryView) {
        if let Some(r) = self.registries.iter_mut().find(|r| r.id == view.id) {
            r.view = Some(view);
        }
    }

    /// A registry by ID.
    pub fn registry(&self, id: &ResourceId) -> Option<&ObservedRegistry> {
        self.registries.iter().find(|r| &r.id == id)
    }

    /// Records (or replaces) a subscription's Containers pricing.
    pub fn set_pricing(&mut self, subscription: &str, pricing: Option<PricingView>) {
        self.pricing.retain(|p| !p.subscription.eq_ignore_ascii_case(subscription));
        self.pricing.push(SubscriptionPricing { subscription: subscription.to_string(), pricing });
    }

    /// A subscription's pricing entry, if it was observed.
    pub fn pricing_for(&self, subscription: &str) -> Option<&SubscriptionPricing> {
        self.pricing.iter().find(|p| p.subscription.eq_ignore_ascii_case(subscription))
    }
}

/// Registries (by scope) on which `principal_id` holds AcrPull: how "registries the cluster uses" are
/// found from the kubelet identity's assignments. Deduplicated, in input order.
pub fn kubelet_registries(principal_id: &str, assignments: &[RoleAssignmentView]) -> Vec<ResourceId> {
    let mut found: Vec<ResourceId> = Vec::new();
    for a in assignments {
        let Some(scope) = &a.scope else { continue };
        let relevant = a.is_role(ACR_PULL_ROLE_GUID) && a.principal_id.eq_ignore_ascii_case(principal_id);
        if relevant && scope.is_type("Microsoft.ContainerRegistry/registries") && !found.contains(scope) {
            found.push(scope.clone());
        }
    }
    found
}

/// The `azureContainerRegistry` values of the cluster's gating entries, for the IO layer to resolve.
pub fn gating_entry_references(cluster: &ClusterView) -> Vec<&str> {
    cluster.gating_entries().iter().filter_map(|e| e.azure_container_registry.as_deref()).collect()
}

/// The registry an `azureContainerRegistry` value names among `candidates` (by name, login server or ID).
pub fn resolve_registry_reference<'a>(value: &str, candidates: &'a [RegistryView]) -> Option<&'a RegistryView> {
    candidates.iter().find(|r| names_registry(value, &r.id, Some(&r.login_server)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::{SUB1, SUB2};
    use serde_json::json;

    fn acr(sub: &str, name: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{name}"))
            .unwrap()
    }

    fn ra(scope: &str, role: &str, principal: &str) -> RoleAssignmentView {
        RoleAssignmentView::from_json(&json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/r"),
            "properties": {"scope": scope, "principalId": principal,
                "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role}")}}))
        .unwrap()
    }

    #[test]
    fn kubelet_registries_filters_role_principal_and_scope_type() {
        let reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
        let a1 = acr(SUB1, "a1");
        let a2 = acr(SUB2, "a2");
        let rg = format!("/subscriptions/{SUB1}/resourceGroups/rg");
        let list = vec![
            ra(a1.as_str(), ACR_PULL_ROLE_GUID, "KUBELET"),
            ra(&a1.as_str().to_lowercase(), ACR_PULL_ROLE_GUID, "kubelet"),
            ra(a2.as_str(), ACR_PULL_ROLE_GUID, "kubelet"),
            ra(acr(SUB1, "other").as_str(), reader, "kubelet"),
            ra(acr(SUB1, "someone-else").as_str(), ACR_PULL_ROLE_GUID, "other"),
            ra(&rg, ACR_PULL_ROLE_GUID, "kubelet"),
        ];
        assert_eq!(kubelet_registries("kubelet", &list), vec![a1, a2]);
    }

    #[test]
    fn registries_merge_sources_and_views() {
        let id = ResourceId::parse(&format!("/subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a1"))
            .unwrap();
        let mut obs = Observation::new(id.clone(), ClusterLookup::NotFound);
        obs.add_registry(acr(SUB1, "a1"), RegistrySource::KubeletAcrPull);
        obs.add_registry(
            ResourceId::parse(&acr(SUB1, "A1").as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")).unwrap(),
            RegistrySource::ExtraRegistries,
        );
        obs.add_registry(acr(SUB1, "a1"), RegistrySource::ExtraRegistries);
        assert_eq!(obs.registries.len(), 1);
        assert_eq!(obs.registries[0].sources, vec![RegistrySource::KubeletAcrPull, RegistrySource::ExtraRegistries]);
        obs.set_registry_view(RegistryView { id: acr(SUB1, "A1"), login_server: "a1.azurecr.io".into(), location: None });
        obs.set_registry_view(RegistryView { id: acr(SUB1, "unknown"), login_server: "x".into(), location: None });
        assert_eq!(obs.registry(&acr(SUB1, "a1")).unwrap().login_server(), Some("a1.azurecr.io"));
        assert_eq!(obs.registries.len(), 1);
        assert!(obs.cluster_view().is_none() && obs.raw_cluster().is_none());
    }

    #[test]
    fn pricing_is_keyed_case_insensitively() {
        let mut obs = Observation::new(acr(SUB1, "x"), ClusterLookup::OutOfScope);
        obs.set_pricing("AB", None);
        obs.set_pricing("ab", Some(PricingView { name: None, pricing_tier: Some("Standard".into()), extensions: vec![] }));
        assert_eq!(obs.pricing.len(), 1);
        assert!(obs.pricing_for("Ab").unwrap().pricing.is_some());
        assert!(obs.pricing_for("cd").is_none());
    }

    #[test]
    fn resolves_gating_references() {
        let views = vec![
            RegistryView { id: acr(SUB1, "a1"), login_server: "a1.azurecr.io".into(), location: None },
            RegistryView { id: acr(SUB2, "a2"), login_server: "a2.azurecr.io".into(), location: None },
        ];
        assert_eq!(resolve_registry_reference("A2.azurecr.io", &views).unwrap().id, acr(SUB2, "a2"));
        assert_eq!(resolve_registry_reference("a1", &views).unwrap().id, acr(SUB1, "a1"));
        assert_eq!(resolve_registry_reference(acr(SUB2, "a2").as_str(), &views).unwrap().id, acr(SUB2, "a2"));
        assert!(resolve_registry_reference("a3", &views).is_none());
    }
}
