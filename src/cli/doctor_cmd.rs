//! `fleetgate doctor`: configuration, credential, ARM reachability and the managed-cluster api-version
//! probe, each reported ✔/✖ with the fix.

use fleetgate::arm::{ArmClient, auth};
use fleetgate::config::Settings;

use super::Exit;

/// api-version used to read a subscription (reachability check).
const SUBSCRIPTIONS_API: &str = "2022-12-01";

struct Check {
    ok: bool,
    what: String,
    fix: Option<String>,
}

impl Check {
    fn pass(what: impl Into<String>) -> Self {
        Self { ok: true, what: what.into(), fix: None }
    }
    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { ok: false, what: what.into(), fix: Some(fix.into()) }
    }
    fn print(&self) {
        let mark = if self.ok { "✔" } else { "✖" };
        println!("{mark} {}", self.what);
        if let Some(fix) = &self.fix {
            println!("    fix: {fix}");
        }
    }
}

/// True for api-versions known to carry `securityProfile.defender.securityGating`.
pub fn version_carries_gating(version: &str) -> bool {
    let date = version.get(..10).unwrap_or("");
    if version.ends_with("-preview") { date >= "2025-01-02" } else { date >= "2026-05-01" }
}

/// Runs every check; exit 0 only if all pass.
pub async fn run(settings: &Settings) -> anyhow::Result<Exit> {
    let mut checks = vec![Check::pass("configuration loaded and valid")];
    checks.push(if settings.scope.subscriptions.is_empty() {
        Check::fail(
            "scope.subscriptions is empty: fleetgate will not touch anything",
            "set scope.subscriptions (or FLEETGATE__SCOPE__SUBSCRIPTIONS=sub1,sub2)",
        )
    } else {
        Check::pass(format!("{} subscription(s) in scope", settings.scope.subscriptions.len()))
    });
    let version = &settings.azure.api_versions.managed_clusters;
    checks.push(if version_carries_gating(version) {
        Check::pass(format!("azure.api_versions.managed_clusters = {version} carries securityGating"))
    } else {
        Check::fail(
            format!(
                "azure.api_versions.managed_clusters = {version} does not carry securityGating; a PUT with it would drop the gating block"
            ),
            "use 2026-01-02-preview (or 2026-05-01 once available in your cloud)",
        )
    });
    checks.extend(online_checks(settings).await);
    checks.iter().for_each(Check::print);
    Ok(if checks.iter().all(|c| c.ok) { Exit::Success } else { Exit::Failure })
}

async fn online_checks(settings: &Settings) -> Vec<Check> {
    let credential = match auth::credential_from_settings(&settings.azure) {
        Ok(c) => c,
        Err(e) => {
            return vec![Check::fail(
                format!("credential ({:?}) cannot be built: {e}", settings.azure.credential),
                "check azure.credential and the AZURE_* variables",
            )];
        }
    };
    let arm = match ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential.clone()) {
        Ok(a) => a,
        Err(e) => return vec![Check::fail(format!("ARM client: {e}"), "check azure.resource_manager_endpoint")],
    };
    let mut out = Vec::new();
    match credential.get_token(&[arm.scope()], None).await {
        Ok(_) => out.push(Check::pass(format!("credential {:?} obtained a token for {}", settings.azure.credential, arm.scope()))),
        Err(e) => {
            out.push(Check::fail(
                format!("credential {:?} could not get a token: {}", settings.azure.credential, auth::describe(&e)),
                credential_fix(settings),
            ));
            return out;
        }
    }
    for sub in &settings.scope.subscriptions {
        out.push(subscription_check(&arm, sub).await);
        out.push(api_version_probe(&arm, sub, &settings.azure.api_versions.managed_clusters).await);
    }
    out
}

fn credential_fix(settings: &Settings) -> String {
    use fleetgate::config::CredentialKind::*;
    match settings.azure.credential {
        AzureCli => "run `az login` (and `az account set`)".into(),
        ClientSecret => "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET".into(),
        WorkloadIdentity => {
            "check the service account's azure.workload.identity/client-id annotation and the pod label azure.workload.identity/use".into()
        }
        ManagedIdentity => "assign a managed identity to the host and set AZURE_CLIENT_ID for a user-assigned one".into(),
        Auto => "configure one of: workload identity, managed identity, or `az login`; or set azure.credential explicitly".into(),
    }
}

async fn subscription_check(arm: &ArmClient, sub: &str) -> Check {
    match arm.get(&format!("/subscriptions/{sub}"), SUBSCRIPTIONS_API).await {
        Ok(Some(_)) => Check::pass(format!("ARM reachable; subscription {sub} readable")),
        Ok(None) => Check::fail(format!("subscription {sub} not found"), "remove it from scope.subscriptions or check the tenant"),
        Err(e) => Check::fail(
            format!("subscription {sub}: {e}"),
            "grant fleetgate's identity Reader on the subscription (see docs/OPERATIONS.md)",
        ),
    }
}

async fn api_version_probe(arm: &ArmClient, sub: &str, version: &str) -> Check {
    let path = format!("/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters");
    match arm.list(&path, version, None).await {
        Ok(items) => Check::pass(format!("managedClusters api-version {version} accepted in {sub} ({} clusters)", items.len())),
        Err(e) => Check::fail(
            format!("managedClusters api-version {version} probe in {sub}: {e}"),
            "set azure.api_versions.managed_clusters to a version this cloud serves that carries securityGating",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::version_carries_gating;

    #[test]
    fn gating_versions() {
        assert!(version_carries_gating("2026-01-02-preview"));
        assert!(version_carries_gating("2025-01-02-preview"));
        assert!(!version_carries_gating("2024-10-02-preview"));
        assert!(!version_carries_gating("2025-10-01"));
        assert!(version_carries_gating("2026-05-01"));
    }
}
