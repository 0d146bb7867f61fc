//! Which surface of the simulator a request is for, decided from its method and path alone (pure).
//!
//! | route | paths |
//! |---|---|
//! | [`Route::Admin`] | `/_sim/…` (journal, faults; no auth, not journaled) |
//! | [`Route::EntraToken`] | `POST /{tenant}/oauth2/v2.0/token` |
//! | [`Route::ManagedIdentityToken`] | `GET /msi/token` (App Service shape) |
//! | [`Route::ServiceBus`] | `/sb/…` (the Service Bus REST data plane, `servicebus`) |
//! | [`Route::Arm`] | `/subscriptions/…`, `/providers/…` (ARM and Resource Graph; bearer auth) |
//! | [`Route::Unknown`] | everything else (404) |

/// Path of the managed-identity token endpoint (what `IDENTITY_ENDPOINT` points at).
pub const MSI_TOKEN_PATH: &str = "/msi/token";
/// Prefix of the simulator's own admin endpoints.
pub const ADMIN_PREFIX: &str = "/_sim/";
/// Prefix of the Service Bus surface (`https://{ns}.servicebus.windows.net/{path}` → `{base}/sb/{path}`).
pub const SERVICE_BUS_PREFIX: &str = "/sb/";
/// Resource Graph query path (case-insensitive).
const GRAPH_QUERY_PATH: &str = "/providers/microsoft.resourcegraph/resources";

/// The surface a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/_sim/…`.
    Admin,
    /// Entra token endpoint for `tenant`.
    EntraToken {
        /// The tenant segment of the path.
        tenant: String,
    },
    /// Managed-identity token endpoint.
    ManagedIdentityToken,
    /// Service Bus (`/sb/…`).
    ServiceBus,
    /// ARM or Resource Graph.
    Arm,
    /// Nothing the simulator serves.
    Unknown,
}

/// Classifies a request.
pub fn classify(method: &str, path: &str) -> Route {
    if path.starts_with(ADMIN_PREFIX) || path == "/_sim" {
        return Route::Admin;
    }
    if is_arm_path(path) {
        return Route::Arm;
    }
    if path.starts_with(SERVICE_BUS_PREFIX) {
        return Route::ServiceBus;
    }
    if method == "GET" && path.eq_ignore_ascii_case(MSI_TOKEN_PATH) {
        return Route::ManagedIdentityToken;
    }
    if method == "POST"
        && let Some(tenant) = entra_tenant(path)
    {
        return Route::EntraToken { tenant };
    }
    Route::Unknown
}

/// True for ARM paths: `/subscriptions/…` and `/providers/…` (case-insensitive).
pub fn is_arm_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("/subscriptions/") || lower.starts_with("/providers/")
}

/// True for the Resource Graph query (`POST /providers/Microsoft.ResourceGraph/resources`).
pub fn is_graph_query(method: &str, path: &str) -> bool {
    method == "POST" && path.trim_end_matches('/').eq_ignore_ascii_case(GRAPH_QUERY_PATH)
}

/// True for the token endpoints (Entra and managed identity).
pub fn is_token_path(method: &str, path: &str) -> bool {
    matches!(classify(method, path), Route::EntraToken { .. } | Route::ManagedIdentityToken)
}

/// The subscription ID of an ARM path `/subscriptions/{id}/…`, as written.
pub fn subscription_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let (first, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if !first.eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    let id = rest.split('/').next().unwrap_or("");
    (!id.is_empty()).then_some(id)
}

/// True for a GET on an operation-status URL (`…/operations/…`, `…/operationresults/…`,
/// `…/asyncoperations/…`), i.e. an LRO poll.
pub fn is_operation_poll(method: &str, path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    method == "GET" && ["/operations/", "/operationresults/", "/asyncoperations/", "/operationstatuses/"].iter().any(|p| lower.contains(p))
}

fn entra_tenant(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let (tenant, tail) = rest.split_once('/')?;
    (!tenant.is_empty() && tail.eq_ignore_ascii_case("oauth2/v2.0/token")).then(|| tenant.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_surface() {
        assert_eq!(classify("GET", "/_sim/journal"), Route::Admin);
        assert_eq!(classify("POST", "/t1/oauth2/v2.0/token"), Route::EntraToken { tenant: "t1".into() });
        assert_eq!(classify("GET", "/t1/oauth2/v2.0/token"), Route::Unknown);
        assert_eq!(classify("GET", "/msi/token"), Route::ManagedIdentityToken);
        assert_eq!(classify("GET", "/sb/ns/q/messages/head"), Route::ServiceBus);
        assert_eq!(classify("GET", "/Subscriptions/abc/resourceGroups"), Route::Arm);
        assert_eq!(classify("POST", "/providers/Microsoft.ResourceGraph/resources"), Route::Arm);
        assert_eq!(classify("GET", "/"), Route::Unknown);
    }

    #[test]
    fn finds_subscription_and_graph_and_polls() {
        assert_eq!(subscription_of("/subscriptions/abc/resourceGroups/rg"), Some("abc"));
        assert_eq!(subscription_of("/SUBSCRIPTIONS/abc"), Some("abc"));
        assert_eq!(subscription_of("/subscriptions/"), None);
        assert_eq!(subscription_of("/providers/Microsoft.ResourceGraph/resources"), None);
        assert!(is_graph_query("POST", "/providers/microsoft.resourcegraph/RESOURCES"));
        assert!(!is_graph_query("GET", "/providers/Microsoft.ResourceGraph/resources"));
        assert!(is_operation_poll("GET", "/subscriptions/s/providers/Microsoft.ContainerService/locations/eastus/operations/1"));
        assert!(!is_operation_poll("PUT", "/subscriptions/s/providers/x/operations/1"));
        assert!(is_token_path("GET", "/msi/token") && is_token_path("POST", "/t/oauth2/v2.0/token"));
    }
}
