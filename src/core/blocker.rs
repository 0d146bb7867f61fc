//! Blockers: reasons fleetgate writes nothing for a cluster. Each message names the resource and says
//! what to do.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::id::ResourceId;

/// Machine-readable blocker code (the `code` of the JSON output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerCode {
    /// The cluster's subscription is not in `scope.subscriptions` (not even read).
    ClusterOutOfScope,
    /// ARM has no such cluster.
    ClusterNotFound,
    /// `oidcIssuerProfile.enabled` is false.
    OidcIssuerDisabled,
    /// The OIDC issuer is on but no `issuerURL` is reported yet.
    OidcIssuerUrlMissing,
    /// `securityProfile.workloadIdentity.enabled` is false.
    WorkloadIdentityDisabled,
    /// The cluster has no kubelet identity (service-principal cluster).
    NoKubeletIdentity,
    /// Kubernetes older than `gating.min_kubernetes_version`.
    KubernetesVersionUnsupported,
    /// A registry the cluster uses is in a subscription outside `scope.subscriptions`.
    RegistryOutOfScope,
    /// A registry the cluster should use does not exist or cannot be read.
    RegistryNotFound,
    /// `gating.identity_name` / `identity_resource_group` give no valid identity ID for this cluster.
    IdentityNameInvalid,
    /// The dedicated identity's name is already used by fleetgate for another cluster.
    IdentityNameConflict,
    /// The identity already has Entra's maximum of federated credentials.
    FederatedCredentialLimit,
    /// The gating identity (the kubelet identity, with `identity_strategy = "kubelet"`) is in a
    /// subscription outside `scope.subscriptions`.
    IdentityOutOfScope,
    /// The cluster document has a shape the `securityGating` edit cannot be applied to without
    /// replacing someone else's data.
    UnsupportedClusterDocument,
    /// A subscription's Defender for Containers plan is off (Free) and `gating.manage_defender_plan`
    /// is `extensions`: switching it on starts billing, which only the user may decide.
    DefenderPlanOff,
}

impl BlockerCode {
    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterOutOfScope => "cluster_out_of_scope",
            Self::ClusterNotFound => "cluster_not_found",
            Self::OidcIssuerDisabled => "oidc_issuer_disabled",
            Self::OidcIssuerUrlMissing => "oidc_issuer_url_missing",
            Self::WorkloadIdentityDisabled => "workload_identity_disabled",
            Self::NoKubeletIdentity => "no_kubelet_identity",
            Self::KubernetesVersionUnsupported => "kubernetes_version_unsupported",
            Self::RegistryOutOfScope => "registry_out_of_scope",
            Self::RegistryNotFound => "registry_not_found",
            Self::IdentityNameInvalid => "identity_name_invalid",
            Self::IdentityNameConflict => "identity_name_conflict",
            Self::FederatedCredentialLimit => "federated_credential_limit",
            Self::IdentityOutOfScope => "identity_out_of_scope",
            Self::UnsupportedClusterDocument => "unsupported_cluster_document",
            Self::DefenderPlanOff => "defender_plan_off",
        }
    }
}

impl fmt::Display for BlockerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One blocker: `{"code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    /// What is wrong.
    pub code: BlockerCode,
    /// What is wrong with which resource, and what to do.
    pub message: String,
}

fn az(cluster: &ResourceId) -> String {
    format!("-g {} -n {}", cluster.resource_group().unwrap_or("<resource-group>"), cluster.name())
}

const ADD_SCOPE: &str = "add it to scope.subscriptions (FLEETGATE__SCOPE__SUBSCRIPTIONS) if fleetgate should manage it";

impl Blocker {
    fn new(code: BlockerCode, message: String) -> Self {
        Self { code, message }
    }

    /// The cluster's subscription is not allowed.
    pub fn cluster_out_of_scope(cluster: &ResourceId) -> Self {
        let sub = cluster.subscription_id();
        Self::new(
            BlockerCode::ClusterOutOfScope,
            format!("cluster {cluster} is in subscription {sub}, which is not in scope.subscriptions, so it was not read; {ADD_SCOPE}"),
        )
    }

    /// ARM answered 404 for the cluster.
    pub fn cluster_not_found(cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::ClusterNotFound,
            format!("cluster {cluster} does not exist; check the subscription, resource group and name (`az aks show {}`)", az(cluster)),
        )
    }

    /// OIDC issuer off.
    pub fn oidc_issuer_disabled(cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::OidcIssuerDisabled,
            format!(
                "cluster {cluster} has the OIDC issuer disabled; enable it with `az aks update {} --enable-oidc-issuer` (this cannot be undone), or set gating.enable_prerequisites = true",
                az(cluster)
            ),
        )
    }

    /// OIDC issuer on, URL not reported.
    pub fn oidc_issuer_url_missing(cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::OidcIssuerUrlMissing,
            format!(
                "cluster {cluster} has the OIDC issuer enabled but reports no issuer URL yet; wait until its update has finished (`az aks show {} --query oidcIssuerProfile.issuerUrl`) and run again",
                az(cluster)
            ),
        )
    }

    /// Workload identity off.
    pub fn workload_identity_disabled(cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::WorkloadIdentityDisabled,
            format!(
                "cluster {cluster} has workload identity disabled; enable it with `az aks update {} --enable-workload-identity`, or set gating.enable_prerequisites = true",
                az(cluster)
            ),
        )
    }

    /// No kubelet identity.
    pub fn no_kubelet_identity(cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::NoKubeletIdentity,
            format!(
                "cluster {cluster} has no kubelet identity (it uses a service principal); gated deployment needs a managed-identity cluster: `az aks update {} --enable-managed-identity`",
                az(cluster)
            ),
        )
    }

    /// Kubernetes too old (or unknown).
    pub fn kubernetes_version_unsupported(cluster: &ResourceId, version: Option<&str>, min: (u32, u32)) -> Self {
        let running = match version {
            Some(v) => format!("runs Kubernetes {v}"),
            None => "reports no Kubernetes version".to_string(),
        };
        Self::new(
            BlockerCode::KubernetesVersionUnsupported,
            format!(
                "cluster {cluster} {running}; gated deployment needs {}.{} or newer: `az aks upgrade {} --kubernetes-version <{}.{} or newer>`",
                min.0,
                min.1,
                az(cluster),
                min.0,
                min.1
            ),
        )
    }

    /// A registry outside the allowed subscriptions.
    pub fn registry_out_of_scope(cluster: &ResourceId, registry: &ResourceId) -> Self {
        Self::new(
            BlockerCode::RegistryOutOfScope,
            format!(
                "registry {registry} used by cluster {} is in subscription {}, which is not in scope.subscriptions, so nothing was written; {ADD_SCOPE}, or detach it (`az aks update {} --detach-acr {registry}`)",
                cluster.name(),
                registry.subscription_id(),
                az(cluster)
            ),
        )
    }

    /// A registry that does not exist or cannot be read.
    pub fn registry_not_found(cluster: &ResourceId, registry: &ResourceId, found_in: &str) -> Self {
        Self::new(
            BlockerCode::RegistryNotFound,
            format!(
                "registry {registry} (from {found_in}) of cluster {} does not exist or cannot be read; remove it there, or grant fleetgate's identity Reader on it",
                cluster.name()
            ),
        )
    }

    /// The configured identity name/group gives no valid ID.
    pub fn identity_name_invalid(cluster: &ResourceId, name: &str, resource_group: &str) -> Self {
        Self::new(
            BlockerCode::IdentityNameInvalid,
            format!(
                "the gating identity for cluster {cluster} would be {name:?} in resource group {resource_group:?}, which is not a valid identity name (3-128 letters, digits, '-' or '_'); fix gating.identity_name or gating.identity_resource_group"
            ),
        )
    }

    /// The dedicated identity already serves another cluster.
    pub fn identity_name_conflict(identity: &ResourceId, cluster: &ResourceId, other: &str) -> Self {
        Self::new(
            BlockerCode::IdentityNameConflict,
            format!(
                "identity {identity} wanted for cluster {cluster} already serves cluster {other} (tag fleetgate.io/cluster); make gating.identity_name unique per cluster or leave gating.identity_resource_group empty"
            ),
        )
    }

    /// The gating identity is outside the allowed subscriptions (nothing is read or written there).
    pub fn identity_out_of_scope(identity: &ResourceId, cluster: &ResourceId) -> Self {
        Self::new(
            BlockerCode::IdentityOutOfScope,
            format!(
                "gating identity {identity} (the kubelet identity of cluster {}) is in subscription {}, which is not in scope.subscriptions, so nothing was read or written there; {ADD_SCOPE}, or use gating.identity_strategy = \"dedicated\" (an identity in the cluster's subscription)",
                cluster.name(),
                identity.subscription_id()
            ),
        )
    }

    /// The cluster document cannot take the edit without losing data.
    pub fn unsupported_cluster_document(cluster: &ResourceId, issue: &str) -> Self {
        Self::new(
            BlockerCode::UnsupportedClusterDocument,
            format!(
                "cluster {cluster}: {issue}, so fleetgate cannot add securityGating without replacing it and wrote nothing; inspect it (`az aks show {}`) and repair the field with `az aks update`, or report this document shape",
                az(cluster)
            ),
        )
    }

    /// Too many FICs on the identity.
    pub fn federated_credential_limit(identity: &ResourceId, count: usize) -> Self {
        Self::new(
            BlockerCode::FederatedCredentialLimit,
            format!(
                "identity {identity} already has {count} federated credentials, Entra's maximum; delete unused ones (`az identity federated-credential list -g {} --identity-name {}`) or use gating.identity_strategy = \"dedicated\"",
                identity.resource_group().unwrap_or("<resource-group>"),
                identity.name()
            ),
        )
    }
}

impl Blocker {
    /// The Containers plan of `subscription` is Free (or absent) and fleetgate may not switch it on.
    pub fn defender_plan_off(cluster: &ResourceId, subscription: &str) -> Self {
        let whose = if cluster.subscription_id().eq_ignore_ascii_case(subscription) {
            "its subscription"
        } else {
            "the subscription of a registry it uses,"
        };
        Self::new(
            BlockerCode::DefenderPlanOff,
            format!(
                "cluster {cluster}: the Defender for Containers plan of {whose} {subscription}, is off (Free), and gating needs it on; switching it to Standard is billed per vCore for the whole subscription, so fleetgate leaves that to you (gating.manage_defender_plan = \"extensions\"). Turn it on in the Azure portal (Microsoft Defender for Cloud > Environment settings > {subscription} > Defender plans > Containers: On; Settings: Defender sensor, Registry access, Security findings: On > Save) or with `az security pricing create -n Containers --tier standard --subscription {subscription} --extensions name=ContainerSensor isEnabled=True --extensions name=ContainerRegistriesVulnerabilityAssessments isEnabled=True --extensions name=ContainerIntegrityContribution isEnabled=True`, then run fleetgate again (it turns on security gating itself); or set gating.manage_defender_plan = \"full\" to let fleetgate switch it on"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> ResourceId {
        ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1").unwrap()
    }

    #[test]
    fn messages_say_what_to_do() {
        let c = cluster();
        assert!(Blocker::oidc_issuer_disabled(&c).message.contains("az aks update -g rg1 -n c1 --enable-oidc-issuer"));
        assert!(Blocker::workload_identity_disabled(&c).message.contains("az aks update -g rg1 -n c1 --enable-workload-identity"));
        let v = Blocker::kubernetes_version_unsupported(&c, Some("1.30.4"), (1, 31)).message;
        assert!(v.contains("1.30.4") && v.contains("1.31 or newer") && v.contains("az aks upgrade -g rg1 -n c1"), "{v}");
        assert!(Blocker::cluster_out_of_scope(&c).message.contains("scope.subscriptions"));
        let foreign = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/MC/providers/Microsoft.ManagedIdentity/userAssignedIdentities/k",
        )
        .unwrap();
        let m = Blocker::identity_out_of_scope(&foreign, &c).message;
        assert!(
            m.contains(foreign.as_str()) && m.contains("00000000-0000-0000-0000-000000000009") && m.contains("identity_strategy"),
            "{m}"
        );
        let m = Blocker::unsupported_cluster_document(&c, "`properties.securityProfile` is a string, not an object").message;
        assert!(m.contains("is a string") && m.contains("az aks show -g rg1 -n c1") && m.contains("wrote nothing"), "{m}");
    }

    #[test]
    fn defender_plan_off_gives_the_portal_path_and_the_cli() {
        let c = cluster();
        let own = Blocker::defender_plan_off(&c, c.subscription_id()).message;
        assert!(own.contains("its subscription 00000000-0000-0000-0000-000000000001"), "{own}");
        assert!(own.contains("Defender plans > Containers: On"), "{own}");
        assert!(
            own.contains("az security pricing create -n Containers --tier standard --subscription 00000000-0000-0000-0000-000000000001"),
            "{own}"
        );
        assert!(own.contains("billed") && own.contains("gating.manage_defender_plan = \"full\""), "{own}");
        let other = Blocker::defender_plan_off(&c, "00000000-0000-0000-0000-000000000002").message;
        assert!(other.contains("a registry it uses"), "{other}");
        assert_eq!(BlockerCode::DefenderPlanOff.as_str(), "defender_plan_off");
    }

    #[test]
    fn codes_serialize_snake_case() {
        let b = Blocker::no_kubelet_identity(&cluster());
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["code"], "no_kubelet_identity");
        assert_eq!(BlockerCode::RegistryOutOfScope.to_string(), "registry_out_of_scope");
        let back: Blocker = serde_json::from_value(json).unwrap();
        assert_eq!(back, b);
        for code in [
            BlockerCode::KubernetesVersionUnsupported,
            BlockerCode::OidcIssuerUrlMissing,
            BlockerCode::FederatedCredentialLimit,
            BlockerCode::IdentityOutOfScope,
            BlockerCode::UnsupportedClusterDocument,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
