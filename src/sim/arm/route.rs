//! Parsing a request path into a [`Route`]. Literal segments match case-insensitively; names keep the
//! casing of the request.

use crate::id::{ResourceId, is_guid};
use crate::sim::http::SimResponse;

/// A resource inside a resource group: `/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{ty}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResPath {
    /// Subscription ID as written.
    pub sub: String,
    /// Resource group as written.
    pub rg: String,
    /// Provider namespace (canonical casing).
    pub namespace: &'static str,
    /// Resource type (canonical casing).
    pub ty: &'static str,
    /// Resource name as written.
    pub name: String,
}

impl ResPath {
    /// The canonical resource ID.
    pub fn id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}/providers/{}/{}/{}", self.sub, self.rg, self.namespace, self.ty, self.name)
    }

    /// The ID as AKS and Managed Identity spell it in their answers: `resourcegroups` in lower case
    /// (recorded in managed-cluster, identity and federated-credential bodies).
    pub fn answer_id(&self) -> String {
        format!("/subscriptions/{}/resourcegroups/{}/providers/{}/{}/{}", self.sub, self.rg, self.namespace, self.ty, self.name)
    }

    /// `Namespace/type`.
    pub fn full_type(&self) -> String {
        format!("{}/{}", self.namespace, self.ty)
    }
}

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /providers/Microsoft.ResourceGraph/resources`.
    Graph,
    /// `GET /subscriptions/{sub}`.
    Subscription { sub: String },
    /// Managed clusters of a subscription or resource group.
    ClusterList { sub: String, rg: Option<String> },
    /// One managed cluster.
    Cluster(ResPath),
    /// An AKS async operation.
    ClusterOperation { sub: String, location: String, id: String },
    /// An AKS operation result (`operationresults`, the `Location` of an LRO).
    ClusterOperationResult { sub: String, location: String, id: String },
    /// `GET /subscriptions/{sub}/resourcegroups/{rg}` (Microsoft.Resources).
    ResourceGroup { sub: String, rg: String },
    /// Role definitions at a scope (`$filter=roleName eq '…'`).
    RoleDefinitionList { scope: ResourceId },
    /// One role definition.
    RoleDefinition { scope: ResourceId, id: String },
    /// User-assigned identities of a subscription or resource group.
    IdentityList { sub: String, rg: Option<String> },
    /// One user-assigned identity.
    Identity(ResPath),
    /// The FICs of an identity.
    FicList(ResPath),
    /// One FIC of an identity.
    Fic(ResPath, String),
    /// Registries of a subscription or resource group.
    RegistryList { sub: String, rg: Option<String> },
    /// One container registry.
    Registry(ResPath),
    /// Role assignments visible at a scope.
    RoleAssignmentList { scope: ResourceId },
    /// One role assignment.
    RoleAssignment { scope: ResourceId, name: String },
    /// Pricings at a scope.
    PricingList { scope: ResourceId },
    /// One pricing (Defender plan) at a scope.
    Pricing { scope: ResourceId, name: String },
}

const CS: &str = "Microsoft.ContainerService";
const MI: &str = "Microsoft.ManagedIdentity";
const CR: &str = "Microsoft.ContainerRegistry";

impl Route {
    /// Parses the path (without query) of an ARM request.
    pub fn parse(path: &str) -> Result<Route, SimResponse> {
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let segs: Vec<&str> = trimmed.strip_prefix('/').unwrap_or(trimmed).split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(SimResponse::error(400, "InvalidRequestUri", &format!("The request path '{path}' has an empty segment.")));
        }
        if segs.len() == 3 && lit(segs[0], "providers") && lit(segs[1], "Microsoft.ResourceGraph") && lit(segs[2], "resources") {
            return Ok(Route::Graph);
        }
        if segs.len() < 2 || !lit(segs[0], "subscriptions") {
            return Err(no_route(path));
        }
        if !is_guid(segs[1]) {
            return Err(SimResponse::error(
                400,
                "InvalidSubscriptionId",
                &format!("The provided subscription identifier '{}' is malformed or invalid.", segs[1]),
            ));
        }
        if segs.len() == 2 {
            return Ok(Route::Subscription { sub: segs[1].to_string() });
        }
        if segs.len() == 4 && lit(segs[2], "resourceGroups") {
            return Ok(Route::ResourceGroup { sub: segs[1].to_string(), rg: segs[3].to_string() });
        }
        if let Some(route) = extension_route(path, &segs)? {
            return Ok(route);
        }
        resource_route(path, &segs)
    }

    /// The subscription and resource group this route must find, if any.
    pub fn scope_parts(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Route::Graph => (None, None),
            Route::Subscription { sub } => (Some(sub), None),
            Route::ClusterList { sub, rg } | Route::IdentityList { sub, rg } | Route::RegistryList { sub, rg } => {
                (Some(sub), rg.as_deref())
            }
            Route::ClusterOperation { sub, .. } | Route::ClusterOperationResult { sub, .. } => (Some(sub), None),
            Route::ResourceGroup { sub, rg } => (Some(sub), Some(rg)),
            Route::RoleDefinitionList { scope } | Route::RoleDefinition { scope, .. } => {
                (Some(scope.subscription_id()), scope.resource_group())
            }
            Route::Cluster(p) | Route::Identity(p) | Route::FicList(p) | Route::Fic(p, _) | Route::Registry(p) => {
                (Some(&p.sub), Some(&p.rg))
            }
            Route::RoleAssignmentList { scope }
            | Route::RoleAssignment { scope, .. }
            | Route::PricingList { scope }
            | Route::Pricing { scope, .. } => (Some(scope.subscription_id()), scope.resource_group()),
        }
    }

    /// A short description for error messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Route::Graph => "Resource Graph",
            Route::Subscription { .. } => "a subscription",
            Route::ClusterList { .. } => "the managedClusters list",
            Route::Cluster(_) => "a managed cluster",
            Route::ClusterOperation { .. } => "an AKS operation status",
            Route::ClusterOperationResult { .. } => "an AKS operation result",
            Route::ResourceGroup { .. } => "a resource group",
            Route::RoleDefinitionList { .. } => "the roleDefinitions list",
            Route::RoleDefinition { .. } => "a role definition",
            Route::IdentityList { .. } => "the userAssignedIdentities list",
            Route::Identity(_) => "a user-assigned identity",
            Route::FicList(_) => "the federatedIdentityCredentials list",
            Route::Fic(..) => "a federated identity credential",
            Route::RegistryList { .. } => "the registries list",
            Route::Registry(_) => "a container registry",
            Route::RoleAssignmentList { .. } => "the roleAssignments list",
            Route::RoleAssignment { .. } => "a role assignment",
            Route::PricingList { .. } => "the pricings list",
            Route::Pricing { .. } => "a pricing",
        }
    }
}

fn lit(seg: &str, word: &str) -> bool {
    seg.eq_ignore_ascii_case(word)
}

fn no_route(path: &str) -> SimResponse {
    SimResponse::error(
        404,
        "NotFound",
        &format!("The simulator has no ARM route for '{path}'. Supported routes are listed in src/sim/arm/mod.rs."),
    )
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]` and `{scope}/providers/Microsoft.Security/pricings[/{name}]`.
fn extension_route(path: &str, segs: &[&str]) -> Result<Option<Route>, SimResponse> {
    let kinds = [
        ("Microsoft.Authorization", "roleAssignments"),
        ("Microsoft.Security", "pricings"),
        ("Microsoft.Authorization", "roleDefinitions"),
    ];
    let Some((i, kind)) = (2..segs.len().saturating_sub(2)).rev().find_map(|i| {
        kinds.iter().position(|(ns, ty)| lit(segs[i], "providers") && lit(segs[i + 1], ns) && lit(segs[i + 2], ty)).map(|k| (i, k))
    }) else {
        return Ok(None);
    };
    let scope_text = format!("/{}", segs[..i].join("/"));
    let scope = ResourceId::parse(&scope_text).map_err(|e| SimResponse::error(400, "InvalidScope", &e.to_string()))?;
    let rest = &segs[i + 3..];
    let route = match (kind, rest) {
        (0, []) => Route::RoleAssignmentList { scope },
        (0, [name]) => Route::RoleAssignment { scope, name: (*name).to_string() },
        (1, []) => Route::PricingList { scope },
        (1, [name]) => Route::Pricing { scope, name: (*name).to_string() },
        (2, []) => Route::RoleDefinitionList { scope },
        (2, [id]) => Route::RoleDefinition { scope, id: (*id).to_string() },
        _ => return Err(no_route(path)),
    };
    Ok(Some(route))
}

fn resource_route(path: &str, segs: &[&str]) -> Result<Route, SimResponse> {
    let sub = segs[1].to_string();
    let (rg, rest) = if segs.len() >= 4 && lit(segs[2], "resourceGroups") { (Some(segs[3]), &segs[4..]) } else { (None, &segs[2..]) };
    if rest.len() < 3 || !lit(rest[0], "providers") {
        return Err(no_route(path));
    }
    let (ns, ty) = (rest[1], rest[2]);
    let res =
        |namespace, ty, name: &str| rg.map(|rg| ResPath { sub: sub.clone(), rg: rg.to_string(), namespace, ty, name: name.to_string() });
    let rg_owned = rg.map(str::to_string);
    let route = if lit(ns, CS) && lit(ty, "managedClusters") {
        match &rest[3..] {
            [] => Some(Route::ClusterList { sub: sub.clone(), rg: rg_owned }),
            [name] => res(CS, "managedClusters", name).map(Route::Cluster),
            _ => None,
        }
    } else if lit(ns, CS) && lit(ty, "locations") && rg.is_none() {
        match &rest[3..] {
            [loc, ops, id] if lit(ops, "operations") => {
                Some(Route::ClusterOperation { sub: sub.clone(), location: (*loc).to_string(), id: (*id).to_string() })
            }
            [loc, ops, id] if lit(ops, "operationresults") => {
                Some(Route::ClusterOperationResult { sub: sub.clone(), location: (*loc).to_string(), id: (*id).to_string() })
            }
            _ => None,
        }
    } else if lit(ns, MI) && lit(ty, "userAssignedIdentities") {
        match &rest[3..] {
            [] => Some(Route::IdentityList { sub: sub.clone(), rg: rg_owned }),
            [name] => res(MI, "userAssignedIdentities", name).map(Route::Identity),
            [name, f] if lit(f, "federatedIdentityCredentials") => res(MI, "userAssignedIdentities", name).map(Route::FicList),
            [name, f, fic] if lit(f, "federatedIdentityCredentials") => {
                res(MI, "userAssignedIdentities", name).map(|p| Route::Fic(p, (*fic).to_string()))
            }
            _ => None,
        }
    } else if lit(ns, CR) && lit(ty, "registries") {
        match &rest[3..] {
            [] => Some(Route::RegistryList { sub: sub.clone(), rg: rg_owned }),
            [name] => res(CR, "registries", name).map(Route::Registry),
            _ => None,
        }
    } else {
        return Err(SimResponse::error(
            404,
            "InvalidResourceType",
            &format!(
                "The resource type '{ty}' could not be found in the namespace '{ns}'. The simulator serves the routes listed in src/sim/arm/mod.rs."
            ),
        ));
    };
    route.ok_or_else(|| no_route(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "00000000-0000-0000-0000-000000000001";

    #[test]
    fn parses_resources_case_insensitively() {
        let r =
            Route::parse(&format!("/SUBSCRIPTIONS/{S}/resourcegroups/RG/providers/microsoft.containerservice/MANAGEDCLUSTERS/c1")).unwrap();
        let Route::Cluster(p) = r else { panic!("{r:?}") };
        assert_eq!(p.id(), format!("/subscriptions/{S}/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/c1"));
        let r = Route::parse(&format!("/subscriptions/{S}/providers/Microsoft.ContainerService/managedClusters")).unwrap();
        assert_eq!(r, Route::ClusterList { sub: S.into(), rg: None });
        let r = Route::parse(&format!(
            "/subscriptions/{S}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f1"
        ))
        .unwrap();
        assert!(matches!(r, Route::Fic(_, ref n) if n == "f1"));
    }

    #[test]
    fn parses_extension_routes_at_any_scope() {
        let acr = format!("/subscriptions/{S}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr");
        let r = Route::parse(&format!("{acr}/providers/Microsoft.Authorization/roleAssignments/abc")).unwrap();
        let Route::RoleAssignment { scope, name } = r else { panic!() };
        assert!(scope.is_type("Microsoft.ContainerRegistry/registries"));
        assert_eq!(name, "abc");
        let r = Route::parse(&format!("/subscriptions/{S}/providers/Microsoft.Authorization/roleAssignments")).unwrap();
        assert!(matches!(r, Route::RoleAssignmentList { .. }));
        let r = Route::parse(&format!("/subscriptions/{S}/providers/Microsoft.Security/pricings/Containers")).unwrap();
        assert!(matches!(r, Route::Pricing { ref name, .. } if name == "Containers"));
        let r = Route::parse(&format!(
            "/subscriptions/{S}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
        ))
        .unwrap();
        assert!(matches!(r, Route::RoleDefinition { ref id, .. } if id.starts_with("7f951dda")));
        let r = Route::parse(&format!("{acr}/providers/Microsoft.Authorization/roleDefinitions")).unwrap();
        assert!(matches!(r, Route::RoleDefinitionList { .. }));
        let r = Route::parse(&format!("/subscriptions/{S}/resourcegroups/rg-1")).unwrap();
        assert_eq!(r, Route::ResourceGroup { sub: S.into(), rg: "rg-1".into() });
        let r =
            Route::parse(&format!("/subscriptions/{S}/providers/Microsoft.ContainerService/locations/westus2/operationresults/x")).unwrap();
        assert!(matches!(r, Route::ClusterOperationResult { .. }));
    }

    #[test]
    fn rejects_unknown_and_malformed() {
        assert_eq!(Route::parse("/subscriptions/nope/providers/x").unwrap_err().error_code(), Some("InvalidSubscriptionId"));
        assert_eq!(Route::parse(&format!("/subscriptions/{S}/providers/Microsoft.Web/sites")).unwrap_err().status, 404);
        assert_eq!(Route::parse(&format!("/subscriptions/{S}//x")).unwrap_err().status, 400);
        assert_eq!(Route::parse("/foo").unwrap_err().status, 404);
        assert_eq!(Route::parse("/providers/Microsoft.ResourceGraph/resources").unwrap(), Route::Graph);
    }
}

#[cfg(test)]
mod subscription_tests {
    use crate::sim::arm::test_support::{SUB1, req, state};

    #[test]
    fn known_subscription_reads_and_unknown_is_404() {
        let (mut st, now) = state();
        let ok = st.handle_arm(&req("GET", &format!("/subscriptions/{SUB1}"), None), now);
        assert_eq!(ok.status, 200);
        assert_eq!(ok.body.as_ref().unwrap()["subscriptionId"], SUB1);
        assert_eq!(ok.body.as_ref().unwrap()["state"], "Enabled");
        let missing = st.handle_arm(&req("GET", "/subscriptions/99999999-0000-0000-0000-000000000000", None), now);
        assert_eq!((missing.status, missing.error_code()), (404, Some("SubscriptionNotFound")));
    }
}
