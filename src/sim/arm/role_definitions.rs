//! `{scope}/providers/Microsoft.Authorization/roleDefinitions`: the built-in role definitions a real client
//! reads (GET by ID; list with `$filter=roleName eq '…'`, as `az role assignment create --role acrpull`
//! and `az aks update --attach-acr` do). Shaped as recorded (tests/fixtures/recorded/sim: the `Reader`
//! answer of an Azure CLI recording): the `id` is subscription-scoped whatever the request scope, role
//! names match case-insensitively, unknown IDs answer `404 RoleDefinitionDoesNotExist`.
//!
//! The table holds the roles fleetgate and its tests touch. `Reader` is copied from the recording;
//! the others' names, descriptions and actions follow Microsoft's built-in roles reference, their
//! `createdOn`/`updatedOn` are not recorded (fixed placeholders).

use serde_json::{Value, json};

use crate::id::ResourceId;
use crate::sim::http::{SimRequest, SimResponse};

use super::common;

/// The ARM type string of role definitions.
pub const ROLE_DEFINITION_TYPE: &str = "Microsoft.Authorization/roleDefinitions";

struct BuiltIn {
    guid: &'static str,
    name: &'static str,
    description: &'static str,
    actions: &'static [&'static str],
    created: &'static str,
    updated: &'static str,
}

const BUILT_IN: [BuiltIn; 4] = [
    BuiltIn {
        guid: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        name: "AcrPull",
        description: "acr pull",
        actions: &["Microsoft.ContainerRegistry/registries/pull/read"],
        created: "2018-03-29T16:32:26.0000000Z",
        updated: "2021-11-11T20:13:52.0000000Z",
    },
    BuiltIn {
        guid: "8311e382-0749-4cb8-b61a-304f252e45ec",
        name: "AcrPush",
        description: "acr push",
        actions: &["Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"],
        created: "2018-03-29T16:32:26.0000000Z",
        updated: "2021-11-11T20:13:52.0000000Z",
    },
    BuiltIn {
        guid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        created: "2015-02-02T21:55:09.8806423Z",
        updated: "2021-11-11T20:13:47.8628684Z",
    },
    BuiltIn {
        guid: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        actions: &["*"],
        created: "2015-02-02T21:55:09.8806423Z",
        updated: "2021-11-11T20:13:47.8628684Z",
    },
];

fn document(role: &BuiltIn, sub: &str) -> Value {
    json!({
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [{"actions": role.actions, "notActions": [], "dataActions": [], "notDataActions": []}],
            "createdOn": role.created,
            "updatedOn": role.updated,
            "createdBy": null,
            "updatedBy": null,
        },
        "id": format!("/subscriptions/{sub}/providers/{ROLE_DEFINITION_TYPE}/{}", role.guid),
        "type": ROLE_DEFINITION_TYPE,
        "name": role.guid,
    })
}

/// `GET` one role definition by GUID.
pub fn get(scope: &ResourceId, id: &str) -> SimResponse {
    match BUILT_IN.iter().find(|r| r.guid.eq_ignore_ascii_case(id)) {
        Some(role) => SimResponse::json(200, document(role, scope.subscription_id())),
        None => {
            SimResponse::error(404, "RoleDefinitionDoesNotExist", &format!("The specified role definition with ID '{id}' does not exist."))
        }
    }
}

/// `GET` the role definitions visible at a scope, optionally `$filter=roleName eq '{name}'`.
pub fn list(req: &SimRequest, scope: &ResourceId) -> SimResponse {
    let wanted = match req.query_param("$filter").map(str::trim).filter(|f| !f.is_empty()) {
        None => None,
        Some(filter) => match role_name_filter(filter) {
            Some(name) => Some(name),
            None => {
                return SimResponse::error(
                    400,
                    "UnsupportedQuery",
                    &format!("The filter '{filter}' is not supported. Supported: roleName eq '{{name}}'."),
                );
            }
        },
    };
    let items = BUILT_IN
        .iter()
        .filter(|r| wanted.as_deref().is_none_or(|w| common::eq_ci(w, r.name)))
        .map(|r| document(r, scope.subscription_id()))
        .collect();
    common::page(req, items, usize::MAX)
}

/// `roleName eq 'x'` → `x`.
fn role_name_filter(filter: &str) -> Option<String> {
    let (field, rest) = filter.split_once(" eq ")?;
    if !field.trim().eq_ignore_ascii_case("roleName") {
        return None;
    }
    let value = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use crate::sim::arm::test_support::*;

    #[test]
    fn built_in_roles_read_by_id_and_by_name_as_recorded() {
        let (mut s, t0) = state();
        let scope = format!("/subscriptions/{SUB1}/resourceGroups/rg-aks");
        let mut list = req_v("GET", &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions"), None, "2022-05-01-preview");
        list.query.push(("$filter".into(), "roleName eq 'acrpull'".into()));
        let body = s.handle_arm(&list, t0).body.unwrap();
        let items = body["value"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["name"], "7f951dda-4ed3-4680-a7ca-43fe172d538d");
        assert_eq!(
            items[0]["id"],
            format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d")
        );
        assert_eq!(items[0]["properties"]["roleName"], "AcrPull");
        assert!(items[0]["properties"]["createdBy"].is_null());
        let by_id = format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7");
        let reader = s.handle_arm(&req_v("GET", &by_id, None, "2022-04-01"), t0).body.unwrap();
        assert_eq!(reader["properties"]["description"], "View all resources, but does not allow you to make any changes.");
        let unknown =
            format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-00000000beef");
        assert_eq!(s.handle_arm(&req("GET", &unknown, None), t0).error_code(), Some("RoleDefinitionDoesNotExist"));
        let mut bad = list.clone();
        bad.query.retain(|(k, _)| k != "$filter");
        bad.query.push(("$filter".into(), "type eq 'CustomRole'".into()));
        assert_eq!(s.handle_arm(&bad, t0).status, 400);
    }
}
