//! The fix that matches a failure: connection and DNS problems → the endpoint and the network; 401 →
//! the credential; 403 → the role with the missing action; 404 `SubscriptionNotFound` → the
//! subscription ID; api-version errors → the versions to use.

use fleetgate::arm::ArmError;

/// What kind of failure an ARM error is, for choosing the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// DNS, connect, reset, TLS, or a timeout: nothing (or nothing in time) answered.
    Network(String),
    /// No token, or the token was refused (401).
    Credential(String),
    /// 403: the identity lacks an action (when ARM named it).
    Forbidden(Option<String>),
    /// 404 `SubscriptionNotFound`.
    SubscriptionNotFound,
    /// The api-version is not served (ARM's supported versions, when it listed them).
    ApiVersion(Vec<String>),
    /// Anything else.
    Other,
}

/// Classifies an ARM error.
pub fn classify(e: &ArmError) -> Failure {
    let text = e.to_string();
    match e {
        ArmError::Transport { message, .. } => return Failure::Network(message.clone()),
        ArmError::Timeout { .. } => return Failure::Network(text),
        ArmError::Credential { message, .. } => return Failure::Credential(message.clone()),
        _ => {}
    }
    let code = e.code().unwrap_or_default().to_ascii_lowercase();
    match e.status() {
        Some(401) => Failure::Credential(text),
        Some(403) => Failure::Forbidden(missing_action(&text)),
        Some(404) if code == "subscriptionnotfound" => Failure::SubscriptionNotFound,
        Some(400 | 404) if code.contains("apiversion") || code == "noregisteredproviderfound" => {
            Failure::ApiVersion(supported_versions(&text))
        }
        _ => Failure::Other,
    }
}

/// The action ARM says is missing: `… does not have authorization to perform action 'X' over scope …`.
pub fn missing_action(message: &str) -> Option<String> {
    let after = message.split("perform action '").nth(1)?;
    after.split('\'').next().map(str::to_string).filter(|a| !a.is_empty())
}

/// The api-versions ARM lists as supported (`The supported api-versions are 'a, b, c'`).
pub fn supported_versions(message: &str) -> Vec<String> {
    let lower = message.to_ascii_lowercase();
    let Some(at) = lower.find("supported api-versions are") else { return Vec::new() };
    let rest = &message[at..];
    let Some(list) = rest.split('\'').nth(1) else { return Vec::new() };
    list.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
}

/// The network fix for `endpoint` (`key` is the setting that names it).
pub fn network_fix(key: &str, endpoint: &str) -> String {
    format!(
        "check {key} ({endpoint}): the host must resolve and accept HTTPS connections from here; check DNS, firewall rules, proxy settings (HTTPS_PROXY/NO_PROXY) and private endpoints"
    )
}

/// The fix for a failed ARM read of `what` under `scope` (`read_role` is the role that grants it).
pub fn arm_fix(e: &ArmError, endpoint: &str, credential_fix: &str, read_role: &str, version_fix: impl Fn(&[String]) -> String) -> String {
    match classify(e) {
        Failure::Network(_) => network_fix("azure.resource_manager_endpoint", endpoint),
        Failure::Credential(_) => credential_fix.to_string(),
        Failure::Forbidden(Some(action)) => format!(
            "grant fleetgate's identity a role with {action} ({read_role}; deploy/azure/fleetgate.json assigns the least-privilege roles, see docs/OPERATIONS.md)"
        ),
        Failure::Forbidden(None) => format!("grant fleetgate's identity {read_role} (see docs/OPERATIONS.md)"),
        Failure::SubscriptionNotFound => {
            "check the subscription ID in scope.subscriptions: it does not exist in this tenant, or fleetgate's identity cannot see it (wrong tenant in azure.tenant_id / AZURE_TENANT_ID?)".into()
        }
        Failure::ApiVersion(supported) => version_fix(&supported),
        Failure::Other => "see the error above; docs/OPERATIONS.md \"Troubleshooting\" lists what each ARM error means".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_actions_and_supported_versions_are_read_from_arm_messages() {
        let m = "The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/read' over scope '/subscriptions/s' or the scope is invalid.";
        assert_eq!(missing_action(m).as_deref(), Some("Microsoft.ContainerService/managedClusters/read"));
        assert_eq!(missing_action("no action here"), None);
        let v = "The api-version '2019-01-01' is invalid. The supported api-versions are '2025-10-01, 2026-01-02-preview, 2026-05-01'. The supported locations are 'westeurope'.";
        assert_eq!(supported_versions(v), ["2025-10-01", "2026-01-02-preview", "2026-05-01"]);
        assert!(supported_versions("nothing").is_empty());
    }

    #[test]
    fn a_refused_connection_gets_the_network_fix() {
        let e = ArmError::Transport { call: fleetgate::arm::Call::new("GET", "/subscriptions/x"), message: "Connection refused".into() };
        assert!(matches!(classify(&e), Failure::Network(_)));
        let fix = arm_fix(&e, "http://127.0.0.1:1", "cred", "Reader", |_| "versions".into());
        assert!(fix.contains("azure.resource_manager_endpoint") && fix.contains("firewall"), "{fix}");
        assert!(!fix.contains("Reader") && !fix.contains("api-version"), "{fix}");
    }
}
