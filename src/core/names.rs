//! Constants and deterministic names: what fleetgate creates is named from its inputs, so a retry or a
//! second run addresses the same resource instead of creating a duplicate.

use uuid::Uuid;

use crate::id::{IdError, ResourceId};

/// Built-in AcrPull role definition GUID.
pub const ACR_PULL_ROLE_GUID: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/// Service account of the Defender admission controller (the FIC subject).
pub const FIC_SUBJECT: &str = "system:serviceaccount:kube-system:defender-admission-controller-serviceaccount";
/// The FIC audience.
pub const FIC_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Entra's limit of federated credentials per identity.
pub const MAX_FICS_PER_IDENTITY: usize = 20;
/// Prefix of the FIC names fleetgate writes.
pub const FIC_NAME_PREFIX: &str = "defender-gating-";
/// Tag on identities fleetgate creates: who manages them.
pub const MANAGED_BY_TAG: &str = "managed-by";
/// Value of [`MANAGED_BY_TAG`].
pub const MANAGED_BY_VALUE: &str = "fleetgate";
/// Tag on identities fleetgate creates: the cluster they serve (its ARM ID).
pub const CLUSTER_TAG: &str = "fleetgate.io/cluster";
/// The Defender for Containers pricing name.
pub const CONTAINERS_PRICING: &str = "Containers";
/// Placeholder for a name or value only known once an earlier action has run.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";
/// Placeholder replaced by the cluster name in `gating.identity_name`.
pub const CLUSTER_PLACEHOLDER: &str = "{cluster}";

/// Namespace of fleetgate's UUIDv5 names. Never change it: existing names are derived from it.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b7e_93a4_5d0f_8e21_4c7a_b9d3_1e55);

/// The FIC name for `issuer`: `defender-gating-<8 hex of uuidv5(issuer)>`. Distinct per issuer, so one
/// identity shared by several clusters (kubelet strategy) gets one credential per cluster; always valid
/// for `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
pub fn fic_name(issuer: &str) -> String {
    let hex = Uuid::new_v5(&NAMESPACE, issuer.as_bytes()).simple().to_string();
    format!("{FIC_NAME_PREFIX}{}", &hex[..8])
}

/// The role assignment name: UUIDv5 over the lower-cased scope, principal and role GUID.
pub fn role_assignment_name(scope: &ResourceId, principal_id: &str, role_guid: &str) -> String {
    let seed = format!("{}|{}|{}", scope.key(), principal_id.to_ascii_lowercase(), role_guid.to_ascii_lowercase());
    Uuid::new_v5(&NAMESPACE, seed.as_bytes()).hyphenated().to_string()
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub fn role_assignment_id(scope: &ResourceId, name: &str) -> Result<ResourceId, IdError> {
    scope.child_provider("Microsoft.Authorization", "roleAssignments", name)
}

/// The AcrPull assignment's ID for `principal_id` on `registry`.
pub fn acr_pull_assignment_id(registry: &ResourceId, principal_id: &str) -> Result<ResourceId, IdError> {
    role_assignment_id(registry, &role_assignment_name(registry, principal_id, ACR_PULL_ROLE_GUID))
}

/// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{AcrPull}` for a PUT body.
pub fn acr_pull_role_definition_id(subscription: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_GUID}")
}

/// The lower-cased trailing GUID of a role definition ID (with or without the subscription prefix).
pub fn trailing_guid(role_definition_id: &str) -> Option<String> {
    let last = role_definition_id.trim_end_matches('/').rsplit('/').next()?;
    crate::id::is_guid(last).then(|| last.to_ascii_lowercase())
}

/// The subscription-level Containers pricing: `/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers`.
pub fn containers_pricing_id(subscription: &str) -> Result<ResourceId, IdError> {
    ResourceId::parse(&format!("/subscriptions/{subscription}/providers/Microsoft.Security/pricings/{CONTAINERS_PRICING}"))
}

/// `gating.identity_name` with `{cluster}` replaced.
pub fn identity_name(template: &str, cluster_name: &str) -> String {
    template.replace(CLUSTER_PLACEHOLDER, cluster_name)
}

/// True for a valid user-assigned identity name: 3–128 characters, letters, digits, `-` and `_`,
/// starting with a letter or digit.
pub fn is_valid_identity_name(name: &str) -> bool {
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok && (3..=128).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn acr(name: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/{name}"))
            .unwrap()
    }

    #[test]
    fn fic_name_is_deterministic_valid_and_distinct_per_issuer() {
        let a = fic_name("https://oidc.prod-aks.azure.com/t/a/");
        assert_eq!(a, fic_name("https://oidc.prod-aks.azure.com/t/a/"));
        assert_ne!(a, fic_name("https://oidc.prod-aks.azure.com/t/b/"));
        assert_eq!(a.len(), FIC_NAME_PREFIX.len() + 8);
        assert!(a.starts_with(FIC_NAME_PREFIX) && a[FIC_NAME_PREFIX.len()..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn role_assignment_name_ignores_case_and_depends_on_each_input() {
        let upper = ResourceId::parse(&acr("acr1").as_str().replace("rg", "RG").replace("acr1", "ACR1")).unwrap();
        let n = role_assignment_name(&acr("acr1"), "AbC", ACR_PULL_ROLE_GUID);
        assert_eq!(n, role_assignment_name(&upper, "abc", &ACR_PULL_ROLE_GUID.to_uppercase()));
        assert_ne!(n, role_assignment_name(&acr("acr2"), "abc", ACR_PULL_ROLE_GUID));
        assert_ne!(n, role_assignment_name(&acr("acr1"), "abd", ACR_PULL_ROLE_GUID));
        assert!(crate::id::is_guid(&n));
        let id = acr_pull_assignment_id(&acr("acr1"), "abc").unwrap();
        assert_eq!(id.as_str(), format!("{}/providers/Microsoft.Authorization/roleAssignments/{n}", acr("acr1")));
    }

    #[test]
    fn trailing_guid_handles_both_forms() {
        let with = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7F951DDA-4ED3-4680-A7CA-43FE172D538D");
        let without = "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d";
        assert_eq!(trailing_guid(&with).as_deref(), Some(ACR_PULL_ROLE_GUID));
        assert_eq!(trailing_guid(without).as_deref(), Some(ACR_PULL_ROLE_GUID));
        assert_eq!(trailing_guid("/providers/x/roleDefinitions/acrpull"), None);
        assert_eq!(
            acr_pull_role_definition_id(SUB),
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d")
        );
    }

    #[test]
    fn pricing_id_and_identity_names() {
        assert_eq!(
            containers_pricing_id(SUB).unwrap().as_str(),
            format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers")
        );
        assert_eq!(identity_name("{cluster}-defender-gating", "c1"), "c1-defender-gating");
        assert!(is_valid_identity_name("c1-defender_gating"));
        assert!(!is_valid_identity_name("-c1") && !is_valid_identity_name("ab") && !is_valid_identity_name("a b c"));
        assert!(!is_valid_identity_name(&"a".repeat(129)));
    }
}
