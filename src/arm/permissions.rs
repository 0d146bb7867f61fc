//! THE list of Azure RBAC actions fleetgate's ARM calls need, and the role GUIDs and ABAC condition
//! that grant them with least privilege.
//!
//! Everything else derives from [`PERMISSIONS`]: the custom role in `deploy/azure/fleetgate.json`
//! (its `actions` must equal [`custom_role_actions`], asserted by `tests/deploy_azure.rs`), the
//! permissions table in `docs/OPERATIONS.md` (asserted by `tests/deploy_docs.rs`), and the request
//! audit in `tests/deploy_permissions.rs`, which maps every ARM request fleetgate sends to the
//! simulator through [`action_for_request`] and fails on an action missing here.
//!
//! Role-assignment writes and deletes are not in the custom role: they come only from
//! *Role Based Access Control Administrator* with [`delegation_condition`], which lets fleetgate
//! assign or remove **only** AcrPull, and only for service principals. Identity writes
//! ([`IDENTITY_WRITE_ACTIONS`]) move to a second custom role assigned on the identity resource group
//! only, when the template's `identityResourceGroup` is set.

use crate::core::names::ACR_PULL_ROLE_GUID;

/// Built-in *Role Based Access Control Administrator*.
pub const RBAC_ADMINISTRATOR_ROLE_GUID: &str = "f58310d9-a9f6-439a-9e8d-f62e7b41a168";
/// Built-in *Azure Service Bus Data Receiver* (peek-lock, complete, abandon, renew).
pub const SERVICE_BUS_DATA_RECEIVER_ROLE_GUID: &str = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0";
/// Built-in *Azure Service Bus Data Sender* (poison parking, resync and backfill messages).
pub const SERVICE_BUS_DATA_SENDER_ROLE_GUID: &str = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";
/// Built-in *Azure Service Bus Data Owner*: KEDA's scaler reads queue runtime properties, which needs
/// the Manage right; granted to the separate scaler identity on the queue only.
pub const SERVICE_BUS_DATA_OWNER_ROLE_GUID: &str = "090c5cfd-751d-490a-894a-3ce6f1109419";
/// The only principal type fleetgate assigns roles to.
pub const ASSIGNED_PRINCIPAL_TYPE: &str = "ServicePrincipal";

/// How fleetgate's identity holds an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The custom role `fleetgate operator` (exactly [`custom_role_actions`]).
    CustomRole,
    /// Role Based Access Control Administrator constrained by [`delegation_condition`].
    ConditionedRbacAdministrator,
}

/// One action fleetgate needs, where it calls it and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The Azure RBAC action, e.g. `Microsoft.ContainerService/managedClusters/read`.
    pub action: &'static str,
    /// Which role grants it.
    pub grant: Grant,
    /// The requests fleetgate sends that need it.
    pub calls: &'static str,
    /// Why fleetgate sends them.
    pub why: &'static str,
}

const fn custom(action: &'static str, calls: &'static str, why: &'static str) -> Permission {
    Permission { action, grant: Grant::CustomRole, calls, why }
}

const fn delegated(action: &'static str, calls: &'static str, why: &'static str) -> Permission {
    Permission { action, grant: Grant::ConditionedRbacAdministrator, calls, why }
}

/// Every action fleetgate's ARM calls need, in the order of the reconcile recipe.
pub const PERMISSIONS: &[Permission] = &[
    custom(
        "Microsoft.ContainerService/managedClusters/read",
        "GET a cluster; list clusters of a subscription (doctor)",
        "observe the cluster (OIDC issuer, kubelet identity, securityGating), wait while an AKS operation runs, confirm a delete (404) before garbage collection, probe the api-version",
    ),
    custom(
        "Microsoft.ContainerService/managedClusters/write",
        "PUT the cluster document with If-Match",
        "write securityProfile.defender.securityGating (and, only with gating.enable_prerequisites, the OIDC issuer and workload identity); nothing else in the document changes",
    ),
    custom(
        "Microsoft.ContainerService/locations/operations/read",
        "GET the Azure-AsyncOperation URL of a cluster PUT",
        "follow the long-running cluster update to its end",
    ),
    custom(
        "Microsoft.ContainerService/locations/operationresults/read",
        "GET the Location URL of a cluster PUT",
        "follow the long-running cluster update when AKS sends Location without Azure-AsyncOperation",
    ),
    custom(
        "Microsoft.ManagedIdentity/userAssignedIdentities/read",
        "GET the gating identity",
        "find the dedicated gating identity and its principal and client IDs; verify its tags before garbage collection",
    ),
    custom(
        "Microsoft.ManagedIdentity/userAssignedIdentities/write",
        "PUT the gating identity",
        "create the dedicated gating identity (gating.identity_strategy = dedicated)",
    ),
    custom(
        "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
        "DELETE the gating identity",
        "garbage-collect the identity fleetgate created for a deleted cluster (only with gating.gc_on_delete)",
    ),
    custom(
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
        "list the identity's federated credentials",
        "see whether the admission controller's service account is already federated (same issuer + subject under any name)",
    ),
    custom(
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
        "PUT a federated credential",
        "federate the Defender admission controller's service account with the gating identity",
    ),
    custom(
        "Microsoft.Authorization/roleAssignments/read",
        "list role assignments by principal; GET the assignment named in an event",
        "find the registries a kubelet identity pulls from and the AcrPull grants the gating identity already has; resolve a registry-attached event",
    ),
    delegated(
        "Microsoft.Authorization/roleAssignments/write",
        "PUT an AcrPull role assignment on a registry",
        "let the gating identity pull security artifacts from every registry the cluster uses",
    ),
    delegated(
        "Microsoft.Authorization/roleAssignments/delete",
        "DELETE an AcrPull role assignment",
        "remove the deleted cluster's gating identity's AcrPull grants (only with gating.gc_on_delete)",
    ),
    custom(
        "Microsoft.ContainerRegistry/registries/read",
        "GET a registry",
        "read the registry's login server and location to write the gating entry",
    ),
    custom(
        "Microsoft.Security/pricings/read",
        "GET the Containers pricing of a subscription",
        "check that Defender for Containers has the sensor with security gating and registry access on",
    ),
    custom(
        "Microsoft.Security/pricings/write",
        "PUT the Containers pricing",
        "turn those plan extensions on, keeping every other extension (only with gating.manage_defender_plan)",
    ),
    custom("Microsoft.Resources/subscriptions/read", "GET a subscription", "doctor checks that every subscription in scope is readable"),
    custom(
        "Microsoft.ResourceGraph/resources/read",
        "POST a Resource Graph query",
        "find the clusters whose kubelet identity got AcrPull (registry-attached events); enumerate and observe the fleet in bulk (backfill, report, resync)",
    ),
];

/// The custom role's `actions`, in list order.
pub fn custom_role_actions() -> Vec<&'static str> {
    PERMISSIONS.iter().filter(|p| p.grant == Grant::CustomRole).map(|p| p.action).collect()
}

/// Custom-role actions that create, change or delete identities and their federated credentials.
/// With `gating.identity_resource_group` set (the template's `identityResourceGroup`), they are
/// granted only on that resource group (role *fleetgate operator (identity writer)*), so a compromised
/// worker cannot federate or replace any other identity in the subscription.
pub const IDENTITY_WRITE_ACTIONS: [&str; 3] = [
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
];

/// The custom role's actions without [`IDENTITY_WRITE_ACTIONS`]: what the subscription-wide role
/// keeps when the identity resource group is set, in list order.
pub fn subscription_role_actions() -> Vec<&'static str> {
    custom_role_actions().into_iter().filter(|a| !IDENTITY_WRITE_ACTIONS.contains(a)).collect()
}

/// The actions granted only through the conditioned RBAC Administrator assignment.
pub fn delegated_actions() -> Vec<&'static str> {
    PERMISSIONS.iter().filter(|p| p.grant == Grant::ConditionedRbacAdministrator).map(|p| p.action).collect()
}

/// The entry for `action` (case-insensitive, as Azure compares actions).
pub fn permission(action: &str) -> Option<&'static Permission> {
    PERMISSIONS.iter().find(|p| p.action.eq_ignore_ascii_case(action))
}

/// The ABAC condition (version 2.0) on the RBAC Administrator assignment: role-assignment writes and
/// deletes are allowed only for AcrPull and only for service principals. Writes are judged on the
/// request, deletes on the existing assignment.
pub fn delegation_condition() -> String {
    let clause = |action: &str, source: &str| {
        format!(
            "((!(ActionMatches{{'Microsoft.Authorization/roleAssignments/{action}'}})) OR \
             (@{source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{ACR_PULL_ROLE_GUID}}} AND \
             @{source}[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{'{ASSIGNED_PRINCIPAL_TYPE}'}}))"
        )
    };
    format!("{} AND {}", clause("write", "Request"), clause("delete", "Resource"))
}

/// The RBAC action ARM checks for `method` on `path` (a path or absolute URL; the query is ignored),
/// spelled as in [`PERMISSIONS`] when listed. `None` when the path addresses no ARM resource type.
pub fn action_for_request(method: &str, path: &str) -> Option<String> {
    let (resource_type, action_segment) = resource_type_of(path, method)?;
    let verb = match (method.to_ascii_uppercase().as_str(), action_segment) {
        (_, Some(name)) => format!("{name}/action"),
        ("GET" | "HEAD", None) => "read".to_string(),
        ("PUT" | "PATCH", None) => "write".to_string(),
        ("DELETE", None) => "delete".to_string(),
        // Resource Graph queries are POSTs that read.
        ("POST", None) if resource_type.eq_ignore_ascii_case("Microsoft.ResourceGraph/resources") => "read".to_string(),
        _ => return None,
    };
    let action = format!("{resource_type}/{verb}");
    Some(permission(&action).map_or(action, |p| p.action.to_string()))
}

/// `(Namespace/type[/type…], POST action name)` of a request path.
fn resource_type_of(path: &str, method: &str) -> Option<(String, Option<String>)> {
    let path = strip_origin(path.split(['?', '#']).next().unwrap_or_default());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |i: usize, lit: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(lit));
    let Some(at) = segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers")) else {
        return match segs.len() {
            2 if is(0, "subscriptions") => Some(("Microsoft.Resources/subscriptions".into(), None)),
            4 if is(0, "subscriptions") && is(2, "resourceGroups") => {
                Some(("Microsoft.Resources/subscriptions/resourceGroups".into(), None))
            }
            _ => None,
        };
    };
    let rest = &segs[at + 1..];
    let (namespace, tail) = rest.split_first()?;
    if tail.is_empty() || !namespace.contains('.') {
        return None;
    }
    // tail = type, name, type, name, …; a POST's trailing odd segment after a name is an action.
    let post_action = method.eq_ignore_ascii_case("POST") && tail.len() >= 3 && tail.len() % 2 == 1;
    let types_end = if post_action { tail.len() - 1 } else { tail.len() };
    let types: Vec<&str> = tail[..types_end].iter().step_by(2).copied().collect();
    let action = post_action.then(|| tail[tail.len() - 1].to_string());
    Some((format!("{namespace}/{}", types.join("/")), action))
}

/// Drops `scheme://host[:port]` from an absolute URL.
fn strip_origin(path: &str) -> &str {
    match path.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn action(method: &str, path: &str) -> String {
        action_for_request(method, path).unwrap_or_else(|| panic!("{method} {path}: no action"))
    }

    #[test]
    fn requests_map_to_listed_actions() {
        let rg = format!("/subscriptions/{SUB}/resourceGroups/rg/providers");
        let cases = [
            ("GET", format!("{rg}/Microsoft.ContainerService/managedClusters/c1"), "Microsoft.ContainerService/managedClusters/read"),
            ("PUT", format!("{rg}/microsoft.containerservice/managedclusters/c1"), "Microsoft.ContainerService/managedClusters/write"),
            (
                "GET",
                format!("/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters"),
                "Microsoft.ContainerService/managedClusters/read",
            ),
            (
                "GET",
                format!(
                    "https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/abc?api-version=1"
                ),
                "Microsoft.ContainerService/locations/operations/read",
            ),
            (
                "GET",
                format!("{rg}/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials"),
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
            ),
            (
                "PUT",
                format!("{rg}/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f"),
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
            ),
            (
                "DELETE",
                format!("{rg}/Microsoft.ManagedIdentity/userAssignedIdentities/mi"),
                "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
            ),
            (
                "PUT",
                format!("{rg}/Microsoft.ContainerRegistry/registries/acr/providers/Microsoft.Authorization/roleAssignments/{SUB}"),
                "Microsoft.Authorization/roleAssignments/write",
            ),
            (
                "GET",
                format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments"),
                "Microsoft.Authorization/roleAssignments/read",
            ),
            ("PUT", format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers"), "Microsoft.Security/pricings/write"),
            ("GET", format!("/subscriptions/{SUB}"), "Microsoft.Resources/subscriptions/read"),
            ("POST", "/providers/Microsoft.ResourceGraph/resources".to_string(), "Microsoft.ResourceGraph/resources/read"),
        ];
        for (method, path, want) in cases {
            assert_eq!(action(method, &path), want, "{method} {path}");
            assert!(permission(want).is_some(), "{want} is listed");
        }
    }

    #[test]
    fn unlisted_and_non_arm_requests() {
        let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
        assert_eq!(action("GET", &rg), "Microsoft.Resources/subscriptions/resourceGroups/read");
        assert_eq!(
            action("POST", &format!("{rg}/providers/Microsoft.ContainerService/managedClusters/c/listClusterUserCredential")),
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"
        );
        assert!(permission("Microsoft.ContainerService/managedClusters/listClusterUserCredential/action").is_none());
        assert_eq!(action_for_request("GET", "/sb/fleetgate-events/messages/head"), None);
        assert_eq!(action_for_request("POST", &format!("{rg}/providers/Microsoft.Storage/storageAccounts")), None);
        assert_eq!(action_for_request("GET", "/providers/Microsoft.ResourceGraph"), None);
    }

    #[test]
    fn identity_writes_are_custom_role_actions_and_split_off_cleanly() {
        let custom = custom_role_actions();
        assert!(IDENTITY_WRITE_ACTIONS.iter().all(|a| custom.contains(a)), "{IDENTITY_WRITE_ACTIONS:?}");
        let sub = subscription_role_actions();
        assert_eq!(sub.len() + IDENTITY_WRITE_ACTIONS.len(), custom.len());
        assert!(sub.iter().all(|a| !a.starts_with("Microsoft.ManagedIdentity/") || a.ends_with("/read")), "{sub:?}");
    }

    #[test]
    fn list_is_unique_well_formed_and_split_between_roles() {
        for (i, p) in PERMISSIONS.iter().enumerate() {
            assert!(PERMISSIONS[..i].iter().all(|q| !q.action.eq_ignore_ascii_case(p.action)), "duplicate {}", p.action);
            let parts: Vec<&str> = p.action.split('/').collect();
            assert!(parts.len() >= 3 && parts[0].starts_with("Microsoft.") && !p.why.is_empty() && !p.calls.is_empty(), "{p:?}");
            assert!(["read", "write", "delete"].contains(&parts[parts.len() - 1]), "{}", p.action);
        }
        assert_eq!(
            delegated_actions(),
            ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"]
        );
        assert!(custom_role_actions().iter().all(|a| !a.starts_with("Microsoft.Authorization/roleAssignments/") || a.ends_with("/read")));
        assert_eq!(custom_role_actions().len() + delegated_actions().len(), PERMISSIONS.len());
    }

    #[test]
    fn condition_allows_only_acr_pull_for_service_principals() {
        let c = delegation_condition();
        assert_eq!(c.matches(ACR_PULL_ROLE_GUID).count(), 2, "{c}");
        assert_eq!(c.matches("{'ServicePrincipal'}").count(), 2, "{c}");
        assert!(c.contains("@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]"));
        assert!(c.contains("@Resource[Microsoft.Authorization/roleAssignments:PrincipalType]"));
        assert!(c.contains("!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})"));
        assert!(c.contains("!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})"));
        assert_eq!(c.matches('(').count(), c.matches(')').count());
    }
}
