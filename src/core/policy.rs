//! The planner's policy: `[gating]` and `[scope]` settings, checked once and ready to apply.

use crate::config::parse_major_minor;
use crate::config::{DefenderPlanMode, GatingSettings, IdentityStrategy, RegistryReference, ScopeSettings};
use crate::core::model::ClusterView;
use crate::core::names;
use crate::id::ResourceId;

/// Settings the planner cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `gating.min_kubernetes_version` is not `major.minor`.
    #[error("configuration error: gating.min_kubernetes_version = {0:?} is not a version such as \"1.31\"")]
    MinVersion(String),
    /// An entry of `gating.extra_registries` is not a container registry ID.
    #[error("configuration error: gating.extra_registries entry {0} is not a Microsoft.ContainerRegistry/registries ID")]
    ExtraRegistry(String),
    /// `gating.identity_name` / `identity_resource_group` cannot form an identity ID.
    #[error(
        "configuration error: gating.identity_name = {name:?} with gating.identity_resource_group = {group:?} does not give a valid identity name (3-128 letters, digits, '-' or '_'; use {{cluster}} for the cluster name)"
    )]
    IdentityName {
        /// The template.
        name: String,
        /// The resource group override.
        group: String,
    },
}

/// What the planner enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Dedicated identity per cluster, or the kubelet identity.
    pub strategy: IdentityStrategy,
    /// Dedicated identity name template (`{cluster}` = the cluster name).
    pub identity_name: String,
    /// Dedicated identity resource group; `None` = the cluster's.
    pub identity_resource_group: Option<String>,
    /// How registries are named in `securityGating.identities`.
    pub registry_reference: RegistryReference,
    /// What may change in the Defender for Containers plan (`gating.manage_defender_plan`).
    pub defender_plan: DefenderPlanMode,
    /// True unless `defender_plan` is `off`: the plan is read and `enable_defender_plan` actions planned.
    pub manage_defender_plan: bool,
    /// Plan `enable_prerequisites` instead of the OIDC / workload identity blockers.
    pub enable_prerequisites: bool,
    /// Registries every cluster must be wired to.
    pub extra_registries: Vec<ResourceId>,
    /// Oldest supported Kubernetes `(major, minor)`.
    pub min_kubernetes_version: (u32, u32),
    /// Subscriptions fleetgate may touch.
    pub subscriptions: Vec<String>,
    /// Opt-out tag (empty = none).
    pub exclude_tag: String,
}

impl Policy {
    /// Builds the policy, rejecting settings that would fail later.
    pub fn new(gating: &GatingSettings, scope: &ScopeSettings) -> Result<Self, PolicyError> {
        let min = parse_major_minor(&gating.min_kubernetes_version)
            .ok_or_else(|| PolicyError::MinVersion(gating.min_kubernetes_version.clone()))?;
        if let Some(bad) = gating.extra_registries.iter().find(|r| !r.is_type("Microsoft.ContainerRegistry/registries")) {
            return Err(PolicyError::ExtraRegistry(bad.to_string()));
        }
        let group = Some(gating.identity_resource_group.trim().to_string()).filter(|g| !g.is_empty());
        let policy = Self {
            strategy: gating.identity_strategy,
            identity_name: gating.identity_name.clone(),
            identity_resource_group: group,
            registry_reference: gating.registry_reference,
            defender_plan: gating.manage_defender_plan,
            manage_defender_plan: gating.manage_defender_plan != DefenderPlanMode::Off,
            enable_prerequisites: gating.enable_prerequisites,
            extra_registries: gating.extra_registries.clone(),
            min_kubernetes_version: min,
            subscriptions: scope.subscriptions.clone(),
            exclude_tag: scope.exclude_tag.clone(),
        };
        if policy.strategy == IdentityStrategy::Dedicated && !policy.identity_template_is_valid() {
            return Err(PolicyError::IdentityName { name: gating.identity_name.clone(), group: gating.identity_resource_group.clone() });
        }
        Ok(policy)
    }

    fn identity_template_is_valid(&self) -> bool {
        let name_ok = names::is_valid_identity_name(&names::identity_name(&self.identity_name, "abc"));
        let group_ok = self.identity_resource_group.as_ref().is_none_or(|g| {
            ResourceId::new_resource(
                "00000000-0000-0000-0000-000000000000",
                g,
                "Microsoft.ManagedIdentity",
                "userAssignedIdentities",
                "abc",
            )
            .is_ok()
        });
        name_ok && group_ok
    }

    /// True when `id`'s subscription is in scope.
    pub fn allows(&self, id: &ResourceId) -> bool {
        self.allows_subscription(id.subscription_id())
    }

    /// True when `subscription` is in scope (case-insensitive).
    pub fn allows_subscription(&self, subscription: &str) -> bool {
        self.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(subscription))
    }

    /// True when the cluster carries the opt-out tag with any value other than `false`.
    pub fn is_excluded(&self, cluster: &ClusterView) -> bool {
        !self.exclude_tag.is_empty() && cluster.tag(&self.exclude_tag).is_some_and(|v| !v.trim().eq_ignore_ascii_case("false"))
    }

    /// True when `version` (`1.31`, `1.31.2`, `v1.32`) is at least the minimum.
    pub fn supports_version(&self, version: &str) -> bool {
        parse_major_minor(version).is_some_and(|v| v >= self.min_kubernetes_version)
    }

    /// The dedicated identity's ID for a cluster: `{identity_name}` in `identity_resource_group` (or the
    /// cluster's), in the cluster's subscription. `Err((name, group))` when that is not a valid ID.
    pub fn dedicated_identity_id(&self, cluster: &ResourceId) -> Result<ResourceId, (String, String)> {
        let name = names::identity_name(&self.identity_name, cluster.name());
        let group = self.identity_resource_group.clone().unwrap_or_else(|| cluster.resource_group().unwrap_or_default().to_string());
        if !names::is_valid_identity_name(&name) {
            return Err((name, group));
        }
        ResourceId::new_resource(cluster.subscription_id(), &group, "Microsoft.ManagedIdentity", "userAssignedIdentities", &name)
            .map_err(|_| (name, group))
    }

    /// The gating identity the IO layer should read (GET, FICs, AcrPull assignments): the dedicated
    /// identity's ID, or the kubelet identity's. `None` when there is none to read.
    pub fn gating_identity_id(&self, cluster: &ClusterView) -> Option<ResourceId> {
        match self.strategy {
            IdentityStrategy::Dedicated => self.dedicated_identity_id(&cluster.id).ok(),
            IdentityStrategy::Kubelet => cluster.kubelet_identity.as_ref().map(|k| k.resource_id.clone()),
        }
    }

    /// Subscriptions whose Containers pricing matters: the cluster's, then each registry's, deduplicated,
    /// and only those in scope (an out-of-scope registry is a blocker, never a read). Empty when
    /// `manage_defender_plan` is off.
    pub fn pricing_subscriptions<'a>(&self, cluster: &ResourceId, registries: impl IntoIterator<Item = &'a ResourceId>) -> Vec<String> {
        if !self.manage_defender_plan {
            return Vec::new();
        }
        let mut subs: Vec<String> = Vec::new();
        for sub in std::iter::once(cluster.subscription_id()).chain(registries.into_iter().map(|r| r.subscription_id())) {
            if self.allows_subscription(sub) && !subs.iter().any(|s| s.eq_ignore_ascii_case(sub)) {
                subs.push(sub.to_string());
            }
        }
        subs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::policy_settings;

    #[test]
    fn builds_from_defaults_and_checks_versions() {
        let (g, s) = policy_settings();
        let p = Policy::new(&g, &s).unwrap();
        assert_eq!(p.min_kubernetes_version, (1, 31));
        assert!(p.supports_version("1.31") && p.supports_version("1.31.2") && p.supports_version("v1.32.0") && p.supports_version("2.0"));
        assert!(!p.supports_version("1.30.9") && !p.supports_version("1.9.6") && !p.supports_version("latest"));
        assert_eq!(p.identity_resource_group, None);
    }

    #[test]
    fn rejects_bad_settings() {
        let (mut g, s) = policy_settings();
        g.min_kubernetes_version = "one".into();
        assert!(matches!(Policy::new(&g, &s), Err(PolicyError::MinVersion(_))));
        let (mut g, s) = policy_settings();
        g.extra_registries = vec![ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg").unwrap()];
        assert!(Policy::new(&g, &s).unwrap_err().to_string().contains("extra_registries"));
        let (mut g, s) = policy_settings();
        g.identity_name = "bad name {cluster}".into();
        assert!(Policy::new(&g, &s).unwrap_err().to_string().contains("identity_name"));
        g.identity_strategy = IdentityStrategy::Kubelet;
        assert!(Policy::new(&g, &s).is_ok(), "the template is unused with the kubelet strategy");
    }

    #[test]
    fn dedicated_identity_id_uses_template_and_group_override() {
        let (mut g, s) = policy_settings();
        let cluster = ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/RG1/providers/Microsoft.ContainerService/managedClusters/c1").unwrap();
        let id = Policy::new(&g, &s).unwrap().dedicated_identity_id(&cluster).unwrap();
        assert_eq!(
            id.as_str(),
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-defender-gating"
        );
        g.identity_resource_group = " identities ".into();
        let id = Policy::new(&g, &s).unwrap().dedicated_identity_id(&cluster).unwrap();
        assert_eq!(id.resource_group(), Some("identities"));
    }

    #[test]
    fn pricing_subscriptions_dedupe_stay_in_scope_and_respect_the_switch() {
        let (mut g, mut s) = policy_settings();
        s.subscriptions = vec!["00000000-0000-0000-0000-00000000000a".into(), "00000000-0000-0000-0000-00000000000B".into()];
        let c = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-00000000000A/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
        )
        .unwrap();
        let r1 = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a",
        )
        .unwrap();
        let r2 = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-00000000000b/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/b",
        )
        .unwrap();
        let outside = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-00000000000c/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/c",
        )
        .unwrap();
        let p = Policy::new(&g, &s).unwrap();
        assert_eq!(
            p.pricing_subscriptions(&c, [&r1, &r2, &outside, &r2]),
            vec!["00000000-0000-0000-0000-00000000000A", "00000000-0000-0000-0000-00000000000b"]
        );
        g.manage_defender_plan = DefenderPlanMode::Off;
        assert!(Policy::new(&g, &s).unwrap().pricing_subscriptions(&c, [&r1]).is_empty());
        g.manage_defender_plan = DefenderPlanMode::Extensions;
        assert_eq!(Policy::new(&g, &s).unwrap().pricing_subscriptions(&c, [&r1]).len(), 1, "extensions reads the plan too");
    }
}
