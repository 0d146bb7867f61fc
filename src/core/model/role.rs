//! `Microsoft.Authorization/roleAssignments`.

use serde_json::Value;

use super::{Fields, ModelError};
use crate::core::names::{ACR_PULL_ROLE_GUID, trailing_guid};
use crate::id::ResourceId;

const ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignmentView {
    /// Its ID, verbatim (assignments above subscription level are not subscription-rooted).
    pub id: String,
    /// The scope as an ARM ID; `None` for management-group or tenant-root scopes.
    pub scope: Option<ResourceId>,
    /// `properties.roleDefinitionId`, with or without the `/subscriptions/{sub}` prefix.
    pub role_definition_id: String,
    /// The role definition's trailing GUID, lower-case.
    pub role_guid: Option<String>,
    /// `properties.principalId`.
    pub principal_id: String,
    /// `properties.principalType`.
    pub principal_type: Option<String>,
}

impl RoleAssignmentView {
    /// Parses a role assignment (GET body or list item). A subscription-rooted `id` or `scope` must be a
    /// valid ARM ID; when `scope` is absent it is derived from the `id`.
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, "role assignment");
        let id = f.req_str("/id")?;
        let parsed_id = if is_subscription_rooted(&id) { Some(f.check_id("/id", &id, ASSIGNMENT_TYPE)?) } else { None };
        let scope = match f.opt_str("/properties/scope") {
            Some(raw) if is_subscription_rooted(&raw) => Some(ResourceId::parse(&raw).map_err(|e| ModelError::Id {
                kind: "role assignment",
                resource: id.clone(),
                field: "/properties/scope".into(),
                expected: "scope",
                reason: e.to_string(),
            })?),
            Some(_) => None,
            None => parsed_id.as_ref().and_then(ResourceId::parent),
        };
        let role_definition_id = f.req_str("/properties/roleDefinitionId")?;
        Ok(Self {
            role_guid: trailing_guid(&role_definition_id),
            role_definition_id,
            id,
            scope,
            principal_id: f.req_str("/properties/principalId")?,
            principal_type: f.opt_str("/properties/principalType"),
        })
    }

    /// True when the role is `role_guid` (compared by the definition ID's trailing GUID).
    pub fn is_role(&self, role_guid: &str) -> bool {
        self.role_guid.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(role_guid))
    }

    /// True when this assigns AcrPull to `principal_id` at exactly `scope`.
    pub fn grants_acr_pull_at(&self, principal_id: &str, scope: &ResourceId) -> bool {
        self.is_role(ACR_PULL_ROLE_GUID) && self.principal_id.eq_ignore_ascii_case(principal_id) && self.scope.as_ref() == Some(scope)
    }
}

fn is_subscription_rooted(s: &str) -> bool {
    s.get(..15).is_some_and(|p| p.eq_ignore_ascii_case("/subscriptions/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::fixture_body;
    use serde_json::json;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn acr() -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1")).unwrap()
    }

    fn assignment(role_definition_id: &str, scope: &str) -> Value {
        json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/11111111-1111-1111-1111-111111111111"),
               "properties": {"roleDefinitionId": role_definition_id, "principalId": "AAAA-p", "scope": scope}})
    }

    #[test]
    fn parses_fixtures() {
        let created =
            RoleAssignmentView::from_json(&fixture_body("Microsoft.Authorization/RoleAssignments_CreateForResource.json", "201")).unwrap();
        assert!(created.scope.as_ref().unwrap().is_type("Microsoft.DocumentDb/databaseAccounts"));
        assert_eq!(created.role_guid.as_deref(), Some("0b5fe924-9a61-425c-96af-cfe6e287ca2d"));
        assert_eq!(created.principal_type.as_deref(), Some("User"));
        let list = fixture_body("Microsoft.Authorization/RoleAssignments_ListForScope.json", "200");
        let item = RoleAssignmentView::from_json(&list["value"][0]).unwrap();
        assert_eq!(item.scope.unwrap().as_str(), "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2");
        assert_eq!(item.principal_id, "ce2ce14e-85d7-4629-bdbc-454d0519d987");
    }

    #[test]
    fn role_compared_by_trailing_guid_with_and_without_subscription_prefix() {
        let scope = acr();
        for def in [
            format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/7F951DDA-4ED3-4680-A7CA-43FE172D538D"),
            "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d".to_string(),
        ] {
            let ra = RoleAssignmentView::from_json(&assignment(&def, scope.as_str())).unwrap();
            assert!(ra.grants_acr_pull_at("aaaa-P", &scope), "{def}");
        }
        let reader = RoleAssignmentView::from_json(&assignment(
            "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
            scope.as_str(),
        ))
        .unwrap();
        assert!(!reader.grants_acr_pull_at("aaaa-p", &scope));
    }

    #[test]
    fn scope_must_match_exactly_not_a_parent() {
        let def = "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d";
        let rg_scope = format!("/subscriptions/{SUB}/resourceGroups/rg");
        let ra = RoleAssignmentView::from_json(&assignment(def, &rg_scope)).unwrap();
        assert!(!ra.grants_acr_pull_at("aaaa-p", &acr()));
        let upper =
            RoleAssignmentView::from_json(&assignment(def, &acr().as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")))
                .unwrap();
        assert!(upper.grants_acr_pull_at("aaaa-p", &acr()), "scope compared case-insensitively");
    }

    #[test]
    fn management_group_scope_is_kept_without_id() {
        let mg = "/providers/Microsoft.Management/managementGroups/mg1";
        let ra = RoleAssignmentView::from_json(&assignment("/x/7f951dda-4ed3-4680-a7ca-43fe172d538d", mg)).unwrap();
        assert_eq!(ra.scope, None);
        assert!(!ra.grants_acr_pull_at("aaaa-p", &acr()));
    }

    #[test]
    fn scope_derived_from_id_and_bad_ids_rejected() {
        let mut doc = assignment("/x/7f951dda-4ed3-4680-a7ca-43fe172d538d", acr().as_str());
        doc["properties"].as_object_mut().unwrap().remove("scope");
        assert_eq!(RoleAssignmentView::from_json(&doc).unwrap().scope, Some(acr()));
        let bad = assignment("/x/7f951dda-4ed3-4680-a7ca-43fe172d538d", &format!("/subscriptions/{SUB}/resourceGroups/rg/../x"));
        let err = RoleAssignmentView::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("'..'"), "{err}");
    }
}
