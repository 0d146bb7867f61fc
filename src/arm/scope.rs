//! [`ArmScope`]: the guard every ARM request passes before it is sent, whether fleetgate built the
//! path itself or took the URL from a response (`nextLink`, `Azure-AsyncOperation`, `Location`).
//!
//! A request path is in scope when it is
//! - `/subscriptions/{id}` or below it, with `{id}` in `scope.subscriptions` (case-insensitive), or
//! - one of the provider-level paths fleetgate uses ([`PROVIDER_PATHS`]: Resource Graph).
//!
//! Anything else — another subscription, a management group, the tenant root, `/subscriptions`
//! itself — is refused before a byte is sent. Paths that a server could decode into something else
//! (`%2F`, `%5C`, `%2E`, `\`, empty, `.` or `..` segments) are refused too. The query string is not
//! looked at: real long-running-operation URLs carry signed query strings and their own
//! api-version, and are followed unchanged.

use crate::id::is_guid;

/// Provider-level (not subscription-rooted) paths fleetgate may send requests to.
pub const PROVIDER_PATHS: &[&str] = &[super::graph::GRAPH_PATH];

/// Why a path is out of scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A subscription that is not in `scope.subscriptions`.
    Subscription(String),
    /// Not under `/subscriptions/{id}` and not a provider-level path fleetgate uses.
    NotAllowed,
    /// A segment a server could decode or normalize into another path.
    Ambiguous,
}

impl Refusal {
    /// One sentence for the error message.
    pub fn describe(&self) -> String {
        match self {
            Self::Subscription(sub) => format!("subscription {sub} is not in scope.subscriptions"),
            Self::NotAllowed => {
                "it is neither inside a subscription in scope.subscriptions nor a provider-level path fleetgate uses (Resource Graph)"
                    .into()
            }
            Self::Ambiguous => "the path has an encoded '/', '\\' or '.', a backslash, or an empty, '.' or '..' segment".into(),
        }
    }
}

/// The subscriptions a client may send requests into.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArmScope {
    /// Lower-cased subscription IDs.
    subscriptions: Vec<String>,
}

impl ArmScope {
    /// The allow-list (`scope.subscriptions`); entries are compared case-insensitively.
    pub fn new<S: AsRef<str>>(subscriptions: &[S]) -> Self {
        Self { subscriptions: subscriptions.iter().map(|s| s.as_ref().trim().to_ascii_lowercase()).collect() }
    }

    /// True when `subscription` is in the allow-list.
    pub fn allows_subscription(&self, subscription: &str) -> bool {
        self.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(subscription))
    }

    /// Checks an ARM request path (no scheme, host, endpoint prefix or query).
    pub fn check(&self, path: &str) -> Result<(), Refusal> {
        if is_ambiguous(path) {
            return Err(Refusal::Ambiguous);
        }
        let mut segments = path.trim_start_matches('/').split('/');
        match (segments.next(), segments.next()) {
            (Some(first), Some(sub)) if first.eq_ignore_ascii_case("subscriptions") => {
                if is_guid(sub) && self.allows_subscription(sub) {
                    Ok(())
                } else {
                    Err(Refusal::Subscription(sub.chars().take(64).collect()))
                }
            }
            _ if PROVIDER_PATHS.iter().any(|p| p.eq_ignore_ascii_case(path)) => Ok(()),
            _ => Err(Refusal::NotAllowed),
        }
    }
}

/// True for paths a server could read differently from how they look here.
fn is_ambiguous(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if !path.starts_with('/') || path.contains('\\') || ["%2f", "%5c", "%2e", "%00"].iter().any(|e| lower.contains(e)) {
        return true;
    }
    path[1..].split('/').any(|s| s.is_empty() || s == "." || s == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN: &str = "00000000-0000-0000-0000-000000000001";
    const OUT: &str = "00000000-0000-0000-0000-0000000000ff";

    fn scope() -> ArmScope {
        ArmScope::new(&[IN])
    }

    #[test]
    fn subscriptions_in_the_allow_list_pass_case_insensitively() {
        let s = scope();
        assert_eq!(s.check(&format!("/subscriptions/{IN}")), Ok(()));
        assert_eq!(s.check(&format!("/SUBSCRIPTIONS/{}/resourceGroups/rg", IN.to_uppercase())), Ok(()));
        let lro = format!("/subscriptions/{IN}/providers/Microsoft.ContainerService/locations/westeurope/operations/0b1c");
        assert_eq!(s.check(&lro), Ok(()));
    }

    #[test]
    fn other_subscriptions_and_tenant_level_paths_are_refused() {
        let s = scope();
        assert_eq!(s.check(&format!("/subscriptions/{OUT}/resourceGroups/rg")), Err(Refusal::Subscription(OUT.into())));
        assert_eq!(s.check("/subscriptions/not-a-guid/x"), Err(Refusal::Subscription("not-a-guid".into())));
        for path in [
            "/subscriptions",
            "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/roleAssignments/x",
            "/providers/Microsoft.Authorization/roleAssignments/x",
            "/providers/Microsoft.ResourceGraph/resources/extra",
            "/tenants",
        ] {
            assert_eq!(s.check(path), Err(Refusal::NotAllowed), "{path}");
        }
        assert_eq!(ArmScope::default().check(&format!("/subscriptions/{IN}")), Err(Refusal::Subscription(IN.into())), "empty scope");
    }

    #[test]
    fn resource_graph_is_the_one_provider_level_path() {
        assert_eq!(scope().check("/providers/Microsoft.ResourceGraph/resources"), Ok(()));
        assert_eq!(scope().check("/providers/microsoft.resourcegraph/RESOURCES"), Ok(()));
    }

    #[test]
    fn paths_a_server_could_rewrite_are_refused() {
        let s = scope();
        for path in [
            format!("/subscriptions/{IN}/%2e%2e/%2E%2E/subscriptions/{OUT}"),
            format!("/subscriptions/{IN}%2Fx"),
            format!("/subscriptions/{IN}/a\\b"),
            format!("/subscriptions/{IN}/../{OUT}"),
            format!("/subscriptions/{IN}//x"),
            format!("/subscriptions/{IN}/./x"),
            format!("subscriptions/{IN}"),
        ] {
            assert_eq!(s.check(&path), Err(Refusal::Ambiguous), "{path}");
        }
    }
}
