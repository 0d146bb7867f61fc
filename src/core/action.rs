//! Planned actions. Each serializes as `{"kind": …, "resource": …, …kind-specific fields}`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::gating::GatingAddition;
use crate::id::ResourceId;

/// The action kinds, in the order a plan lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Turn on the OIDC issuer and/or workload identity (only with `gating.enable_prerequisites`).
    EnablePrerequisites,
    /// Turn on the Containers plan pieces gating needs, in one subscription.
    EnableDefenderPlan,
    /// Create the dedicated gating identity.
    CreateIdentity,
    /// Add the admission controller's federated credential to the gating identity.
    CreateFederatedCredential,
    /// Give the gating identity AcrPull on one registry.
    AssignAcrPull,
    /// Enable gating and add the missing `securityGating.identities` entries.
    UpdateSecurityGating,
}

impl ActionKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnablePrerequisites => "enable_prerequisites",
            Self::EnableDefenderPlan => "enable_defender_plan",
            Self::CreateIdentity => "create_identity",
            Self::CreateFederatedCredential => "create_federated_credential",
            Self::AssignAcrPull => "assign_acr_pull",
            Self::UpdateSecurityGating => "update_security_gating",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One planned write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// PUT the cluster with the prerequisites on. The IO layer must observe and plan again afterwards
    /// (the issuer URL and the eTag change).
    EnablePrerequisites {
        /// The cluster.
        resource: ResourceId,
        /// Enable `oidcIssuerProfile`.
        oidc_issuer: bool,
        /// Enable `securityProfile.workloadIdentity`.
        workload_identity: bool,
    },
    /// GET → `pricing::merge_for_gating` → PUT the subscription's Containers pricing.
    EnableDefenderPlan {
        /// `/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers`.
        resource: ResourceId,
        /// The subscription.
        subscription: String,
        /// What is missing (see `pricing::missing_for_gating`).
        missing: Vec<String>,
    },
    /// PUT the user-assigned identity.
    CreateIdentity {
        /// The identity's ID.
        resource: ResourceId,
        /// Region (the cluster's).
        location: String,
        /// Tags to set.
        tags: BTreeMap<String, String>,
    },
    /// PUT the federated credential.
    CreateFederatedCredential {
        /// `{identity}/federatedIdentityCredentials/{name}`.
        resource: ResourceId,
        /// The identity it goes on.
        identity: ResourceId,
        /// The credential's name.
        name: String,
        /// The cluster's OIDC issuer URL.
        issuer: String,
        /// The admission controller's service account.
        subject: String,
        /// `api://AzureADTokenExchange`.
        audience: String,
    },
    /// PUT the AcrPull role assignment.
    AssignAcrPull {
        /// `{registry}/providers/Microsoft.Authorization/roleAssignments/{uuid}`, with the name
        /// `(known after apply)` while the principal does not exist yet.
        resource: String,
        /// The registry's ARM ID.
        registry: ResourceId,
        /// The principal, when already known.
        principal_id: Option<String>,
    },
    /// GET the raw cluster, `gating::apply_security_gating`, PUT with `If-Match`.
    UpdateSecurityGating {
        /// The cluster.
        resource: ResourceId,
        /// `securityGating.enabled` must be switched on.
        enable: bool,
        /// Entries to add for the gating identity.
        add: Vec<GatingAddition>,
    },
}

impl Action {
    /// The kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::EnablePrerequisites { .. } => ActionKind::EnablePrerequisites,
            Self::EnableDefenderPlan { .. } => ActionKind::EnableDefenderPlan,
            Self::CreateIdentity { .. } => ActionKind::CreateIdentity,
            Self::CreateFederatedCredential { .. } => ActionKind::CreateFederatedCredential,
            Self::AssignAcrPull { .. } => ActionKind::AssignAcrPull,
            Self::UpdateSecurityGating { .. } => ActionKind::UpdateSecurityGating,
        }
    }

    /// The resource written, as displayed.
    pub fn resource(&self) -> String {
        match self {
            Self::EnablePrerequisites { resource, .. }
            | Self::EnableDefenderPlan { resource, .. }
            | Self::CreateIdentity { resource, .. }
            | Self::CreateFederatedCredential { resource, .. }
            | Self::UpdateSecurityGating { resource, .. } => resource.to_string(),
            Self::AssignAcrPull { resource, .. } => resource.clone(),
        }
    }

    /// A short human detail for the text rendering.
    pub fn detail(&self) -> String {
        match self {
            Self::EnablePrerequisites { oidc_issuer, workload_identity, .. } => {
                let parts: Vec<&str> = [(*oidc_issuer, "OIDC issuer"), (*workload_identity, "workload identity")]
                    .into_iter()
                    .filter_map(|(on, what)| on.then_some(what))
                    .collect();
                format!("enable {}", parts.join(" and "))
            }
            Self::EnableDefenderPlan { missing, .. } => format!("turn on {}", missing.join(", ")),
            Self::CreateIdentity { location, .. } => format!("in {location}"),
            Self::CreateFederatedCredential { issuer, .. } => format!("issuer {issuer}"),
            Self::AssignAcrPull { registry, .. } => format!("AcrPull on {}", registry.name()),
            Self::UpdateSecurityGating { enable, add, .. } => {
                let mut parts = Vec::new();
                if *enable {
                    parts.push("enabled = true".to_string());
                }
                if !add.is_empty() {
                    let names: Vec<&str> = add.iter().map(|a| a.azure_container_registry.as_str()).collect();
                    parts.push(format!("add entries for {}", names.join(", ")));
                }
                parts.join("; ")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_ordered_like_a_plan_and_serialize_snake_case() {
        let kinds = [
            ActionKind::EnablePrerequisites,
            ActionKind::EnableDefenderPlan,
            ActionKind::CreateIdentity,
            ActionKind::CreateFederatedCredential,
            ActionKind::AssignAcrPull,
            ActionKind::UpdateSecurityGating,
        ];
        assert!(kinds.windows(2).all(|w| w[0] < w[1]));
        for k in kinds {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
    }

    #[test]
    fn acr_pull_serializes_with_kind_resource_and_registry() {
        let registry = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a",
        )
        .unwrap();
        let a = Action::AssignAcrPull { resource: "x/(known after apply)".into(), registry: registry.clone(), principal_id: None };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            json!({"kind": "assign_acr_pull", "resource": "x/(known after apply)", "registry": registry.as_str(), "principal_id": null})
        );
        assert_eq!(serde_json::from_value::<Action>(v).unwrap(), a);
        assert_eq!(a.detail(), "AcrPull on a");
    }
}
