//! What `fleetgate sim` does: start the simulator, print where it is and the exact environment lines that
//! point fleetgate (or curl) at it, then run until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use super::fleet::Fleet;
use super::options::SimOptions;
use super::server::{SimError, Simulator};
use super::token::MSI_API_VERSION;

/// The namespace name fleetgate uses for the simulator's Service Bus (any name works: the endpoint
/// override decides where requests go).
pub const SIM_NAMESPACE: &str = "fleetgate-sim";

/// The lines a user pastes into a POSIX shell: fleetgate's endpoint, scope, queue and credential
/// settings, the managed-identity variables azure_identity reads, and a curl command that gets an ARM
/// token. No secret is printed: both ARM and the queue authenticate with managed-identity tokens.
pub fn env_lines(base_url: &str, options: &SimOptions, subscriptions: &[String]) -> Vec<String> {
    let msi = format!("{base_url}/msi/token");
    vec![
        format!("export FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT={base_url}"),
        "export FLEETGATE__AZURE__CREDENTIAL=managed_identity".to_string(),
        format!("export IDENTITY_ENDPOINT={msi}"),
        format!("export IDENTITY_HEADER={}", shell_quote(&options.identity_header)),
        format!("export AZURE_TENANT_ID={}", shell_quote(&options.tenant_id)),
        format!("export FLEETGATE__SCOPE__SUBSCRIPTIONS={}", shell_quote(&subscriptions.join(","))),
        format!("export FLEETGATE__QUEUE__ENDPOINT={base_url}/sb"),
        format!("export FLEETGATE__QUEUE__NAMESPACE={SIM_NAMESPACE}"),
        "export FLEETGATE__QUEUE__AUTH=entra".to_string(),
        format!(
            "curl -s -H 'x-identity-header: {}' '{msi}?api-version={MSI_API_VERSION}&resource=https://management.azure.com'",
            options.identity_header.replace('\'', r"'\''")
        ),
    ]
}

/// Quotes a value for a POSIX shell when it needs it.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/@%+=,".contains(&b));
    if plain { value.to_string() } else { format!("'{}'", value.replace('\'', r"'\''")) }
}

/// Starts the simulator on `listen`, prints its base URLs and environment lines to stdout, and runs
/// until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn run_cli(listen: SocketAddr, fleet: Fleet) -> Result<(), SimError> {
    let handle = Simulator::start(fleet, listen).await?;
    let base = handle.base_url();
    println!("fleetgate simulator listening on {base}");
    println!("  ARM + Resource Graph: {base}/subscriptions/…, {base}/providers/…");
    println!("  Entra token:          {base}/{}/oauth2/v2.0/token", handle.tenant_id());
    println!("  managed identity:     {base}/msi/token");
    println!("  journal / faults:     {base}/_sim/journal, {base}/_sim/faults");
    println!();
    println!("# paste into a shell to point fleetgate (or curl) at the simulator:");
    for line in handle.env_lines() {
        println!("{line}");
    }
    wait_for_stop().await?;
    println!("fleetgate simulator stopping");
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop() -> Result<(), SimError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(SimError::Signal)?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(SimError::Signal),
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_stop() -> Result<(), SimError> {
    tokio::signal::ctrl_c().await.map_err(SimError::Signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_point_at_the_simulator() {
        let options = SimOptions { identity_header: "it's".into(), ..SimOptions::default() };
        let lines = env_lines("http://127.0.0.1:4000", &options, &["s1".into(), "s2".into()]);
        assert_eq!(lines[0], "export FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT=http://127.0.0.1:4000");
        assert_eq!(lines[2], "export IDENTITY_ENDPOINT=http://127.0.0.1:4000/msi/token");
        assert_eq!(lines[3], r"export IDENTITY_HEADER='it'\''s'");
        assert_eq!(lines[4], format!("export AZURE_TENANT_ID={}", options.tenant_id));
        assert_eq!(lines[5], "export FLEETGATE__SCOPE__SUBSCRIPTIONS=s1,s2");
        assert_eq!(lines[6], "export FLEETGATE__QUEUE__ENDPOINT=http://127.0.0.1:4000/sb");
        assert!(lines[9].starts_with(r"curl -s -H 'x-identity-header: it'\''s' 'http://127.0.0.1:4000/msi/token?api-version=2019-08-01"));
    }
}
