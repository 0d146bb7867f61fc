//! `fleetgate doctor`: configuration, credential, ARM reachability and the managed-cluster api-version
//! probe, each reported ✔/✖ with the fix.

use fleetgate::arm::{ArmClient, auth};
use fleetgate::config::Settings;
use fleetgate::core::api_versions::{self, GatingSupport};

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
    checks.push(api_version_check(&settings.azure.api_versions.managed_clusters));
    checks.extend(online_checks(settings).await);
    checks.iter().for_each(Check::print);
    Ok(if checks.iter().all(|c| c.ok) { Exit::Success } else { Exit::Failure })
}

/// The configured managedClusters api-version against fleetgate's list (`core::api_versions`). It only
/// ever recommends versions that carry securityGating.
fn api_version_check(version: &str) -> Check {
    let key = "azure.api_versions.managed_clusters";
    match api_versions::check_managed_clusters(version) {
        Ok(GatingSupport::Newer) => Check::pass(format!(
            "{key} = {version} is newer than every version of its channel fleetgate has checked in the specs; assumed to carry securityGating"
        )),
        Ok(_) => Check::pass(format!("{key} = {version} carries securityGating")),
        Err(e) => Check::fail(format!("{key} = {e}"), format!("set {key} = \"{}\"", api_versions::DEFAULT_MANAGED_CLUSTERS)),
    }
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
    use super::api_version_check;
    use fleetgate::core::api_versions::{DEFAULT_MANAGED_CLUSTERS, KNOWN};

    #[test]
    fn api_version_check_agrees_with_the_list_and_recommends_only_good_versions() {
        for k in KNOWN {
            let check = api_version_check(k.version);
            assert_eq!(check.ok, k.security_gating, "{k:?}");
            if let Some(fix) = &check.fix {
                assert!(fix.contains(DEFAULT_MANAGED_CLUSTERS), "{fix}");
                for bad in KNOWN.iter().filter(|b| !b.security_gating) {
                    assert!(!fix.contains(bad.version), "{fix} recommends {}", bad.version);
                }
            }
        }
        assert!(!api_version_check("2026-02-01").ok, "older than the first stable with gating");
        let newer = api_version_check("2027-01-01");
        assert!(newer.ok && newer.what.contains("assumed"), "{}", newer.what);
    }
}
