//! `fleetgate doctor`: configuration, network reachability, credential, ARM access per subscription, the
//! managed-cluster api-version probe, Service Bus (namespace, queue, receive rights, poison queue, a
//! peek) and the Event Grid wiring where readable — each reported ✔/✖/- with the fix that matches the
//! failure, as text or JSON (`-o json`).
//!
//! Every check has its own short bound (DNS/connect 3 s, a token 8 s, one ARM request 5 s without
//! retries), so an unreachable endpoint is reported in seconds.

mod checks;
mod eventgrid;
mod fixes;
mod network;
mod servicebus;

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::exit::Exit;
use super::output::{Output, document, print_json};
use super::target::SUBSCRIPTIONS_API;
use checks::{Check, Status};
use fixes::{arm_fix, network_fix};
use fleetgate::arm::{ArmClient, auth};
use fleetgate::config::{AzureSettings, Settings};
use fleetgate::core::api_versions::{self, GatingSupport};

/// Bound on getting a token.
const CREDENTIAL_TIMEOUT: Duration = Duration::from_secs(8);
/// Bound on one ARM request of the doctor (no retries).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Skip the Service Bus receives (a peek-lock raises a waiting message's DeliveryCount by one).
    #[arg(long)]
    no_peek: bool,
}

/// `doctor --output json`.
#[derive(Serialize)]
struct DoctorOutput<'a> {
    /// True when no check failed.
    ok: bool,
    checks: &'a [Check],
}

/// Runs every check; exit 0 only if none failed.
pub async fn run(args: DoctorArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let mut out = vec![Check::pass("config", "configuration loaded and valid")];
    out.push(if settings.scope.subscriptions.is_empty() {
        Check::fail(
            "config.scope",
            "scope.subscriptions is empty: fleetgate will not touch anything",
            "set scope.subscriptions (or FLEETGATE__SCOPE__SUBSCRIPTIONS=sub1,sub2)",
        )
    } else {
        Check::pass("config.scope", format!("{} subscription(s) in scope", settings.scope.subscriptions.len()))
    });
    out.push(api_version_setting(&settings.azure.api_versions.managed_clusters));
    out.extend(online_checks(settings).await);
    out.extend(servicebus::checks(settings, !args.no_peek).await);
    let ok = out.iter().all(|c| c.status != Status::Fail);
    match args.output {
        Output::Json => print_json(&document("doctor", &DoctorOutput { ok, checks: &out })),
        Output::Text => out.iter().for_each(|c| println!("{}", c.text())),
    }
    Ok(if ok { Exit::Success } else { Exit::Failure })
}

/// The managed-cluster api-version setting: does it carry securityGating?
fn api_version_setting(version: &str) -> Check {
    let (id, key) = ("config.api_version", "azure.api_versions.managed_clusters");
    match api_versions::check_managed_clusters(version) {
        Ok(GatingSupport::Newer) => Check::pass(
            id,
            format!(
                "{key} = {version} is newer than every version of its channel fleetgate has checked in the specs; assumed to carry securityGating"
            ),
        ),
        Ok(_) => Check::pass(id, format!("{key} = {version} carries securityGating")),
        Err(e) => Check::fail(id, format!("{key} = {e}"), format!("set {key} = \"{}\"", api_versions::DEFAULT_MANAGED_CLUSTERS)),
    }
}

/// The doctor's own ARM settings: short request timeout, no retries.
fn doctor_azure(settings: &AzureSettings) -> AzureSettings {
    let mut s = settings.clone();
    s.request_timeout = s.request_timeout.min(REQUEST_TIMEOUT);
    s.operation_timeout = s.operation_timeout.min(REQUEST_TIMEOUT * 2);
    s.retry.max_attempts = 1;
    s
}

async fn online_checks(settings: &Settings) -> Vec<Check> {
    let endpoint = settings.azure.resource_manager_endpoint.clone();
    let mut out = vec![network::reachable("network.arm", "azure.resource_manager_endpoint", &endpoint).await];
    if !settings.azure.authority_host.trim().is_empty() {
        out.push(network::reachable("network.authority", "azure.authority_host", settings.azure.authority_host.trim()).await);
    }
    if out.iter().any(|c| c.status == Status::Fail) {
        out.push(Check::skip("arm", "credential and ARM checks skipped: fix the network first"));
        return out;
    }
    let azure = doctor_azure(&settings.azure);
    let credential = match auth::credential_from_settings(&azure) {
        Ok(c) => c,
        Err(e) => {
            out.push(Check::fail(
                "credential",
                format!("credential ({:?}) cannot be built: {e}", settings.azure.credential),
                "check azure.credential and the AZURE_* variables",
            ));
            return out;
        }
    };
    let arm = match ArmClient::new(&azure, &settings.scope.subscriptions, credential.clone()) {
        Ok(a) => a,
        Err(e) => {
            out.push(Check::fail("arm", format!("ARM client: {e}"), "check azure.resource_manager_endpoint"));
            return out;
        }
    };
    let token = tokio::time::timeout(CREDENTIAL_TIMEOUT, credential.get_token(&[arm.scope()], None)).await;
    match token {
        Ok(Ok(_)) => {
            out.push(Check::pass("credential", format!("credential {:?} obtained a token for {}", settings.azure.credential, arm.scope())))
        }
        Ok(Err(e)) => {
            let text = auth::describe(&e);
            let fix = if looks_like_network(&text) { authority_fix(settings) } else { credential_fix(settings) };
            out.push(Check::fail("credential", format!("credential {:?} could not get a token: {text}", settings.azure.credential), fix));
            return out;
        }
        Err(_) => {
            out.push(Check::fail(
                "credential",
                format!("credential {:?} got no token within {} s", settings.azure.credential, CREDENTIAL_TIMEOUT.as_secs()),
                authority_fix(settings),
            ));
            return out;
        }
    }
    for sub in &settings.scope.subscriptions {
        out.push(subscription_check(&arm, settings, sub).await);
        out.push(api_version_probe(&arm, settings, sub).await);
    }
    if !settings.queue.namespace.trim().is_empty() || !settings.queue.endpoint.trim().is_empty() {
        out.extend(eventgrid::checks(&arm, &settings.scope.subscriptions, &settings.queue.name).await);
    }
    out
}

fn looks_like_network(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["connect", "dns", "resolve", "timed out", "timeout", "unreachable", "refused"].iter().any(|w| t.contains(w))
}

fn authority_fix(settings: &Settings) -> String {
    let host = settings.azure.authority_host.trim();
    let host = if host.is_empty() { "https://login.microsoftonline.com (or AZURE_AUTHORITY_HOST)" } else { host };
    network_fix("azure.authority_host", host)
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

/// The versions to use after an api-version error: those ARM offers that carry securityGating.
fn version_fix(supported: &[String]) -> String {
    let good: Vec<&str> = supported.iter().map(String::as_str).filter(|v| api_versions::carries_gating(v)).collect();
    if good.is_empty() {
        "set azure.api_versions.managed_clusters to a version this cloud serves that carries securityGating".into()
    } else {
        format!("set azure.api_versions.managed_clusters to one of {} (served here and carrying securityGating)", good.join(", "))
    }
}

async fn subscription_check(arm: &ArmClient, settings: &Settings, sub: &str) -> Check {
    let endpoint = &settings.azure.resource_manager_endpoint;
    match arm.get(&format!("/subscriptions/{sub}"), SUBSCRIPTIONS_API).await {
        Ok(Some(_)) => Check::pass("arm.subscription", format!("ARM reachable; subscription {sub} readable")),
        Ok(None) => Check::fail(
            "arm.subscription",
            format!("subscription {sub} not found"),
            "check the subscription ID in scope.subscriptions: it does not exist in this tenant, or fleetgate's identity cannot see it",
        ),
        Err(e) => Check::fail(
            "arm.subscription",
            format!("subscription {sub}: {e}"),
            arm_fix(&e, endpoint, &credential_fix(settings), "Reader on the subscription", version_fix),
        ),
    }
}

async fn api_version_probe(arm: &ArmClient, settings: &Settings, sub: &str) -> Check {
    let version = &settings.azure.api_versions.managed_clusters;
    let path = format!("/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters");
    match arm.list(&path, version, None).await {
        Ok(items) => {
            Check::pass("arm.api_version", format!("managedClusters api-version {version} accepted in {sub} ({} clusters)", items.len()))
        }
        Err(e) => Check::fail(
            "arm.api_version",
            format!("managedClusters api-version {version} probe in {sub}: {e}"),
            arm_fix(&e, &settings.azure.resource_manager_endpoint, &credential_fix(settings), "Reader on the subscription", version_fix),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::checks::Status;
    use super::{api_version_setting, version_fix};
    use fleetgate::core::api_versions::{DEFAULT_MANAGED_CLUSTERS, KNOWN};

    #[test]
    fn the_api_version_setting_agrees_with_the_list_and_recommends_only_good_versions() {
        for k in KNOWN {
            let check = api_version_setting(k.version);
            assert_eq!(check.status == Status::Pass, k.security_gating, "{k:?}");
            if let Some(fix) = &check.fix {
                assert!(fix.contains(DEFAULT_MANAGED_CLUSTERS), "{fix}");
                for bad in KNOWN.iter().filter(|b| !b.security_gating) {
                    assert!(!fix.contains(bad.version), "{fix} recommends {}", bad.version);
                }
            }
        }
        assert_eq!(api_version_setting("2026-02-01").status, Status::Fail, "older than the first stable with gating");
        let newer = api_version_setting("2027-01-01");
        assert!(newer.status == Status::Pass && newer.message.contains("assumed"), "{}", newer.message);
    }

    #[test]
    fn the_version_fix_never_recommends_a_version_without_gating() {
        let served = ["2024-10-02-preview", "2025-10-01", "2026-05-01", "2026-08-01"].map(String::from);
        let fix = version_fix(&served);
        assert!(
            fix.contains("2026-08-01") && !fix.contains("2025-10-01") && !fix.contains("2026-05-01") && !fix.contains("2024-10-02"),
            "{fix}"
        );
    }
}
