//! Reachability before any credential: the endpoint's host resolves (DNS) and accepts a TCP
//! connection, each within a few seconds — so an unreachable endpoint is reported in seconds with the
//! network fix, not after minutes of retries.

use std::time::Duration;

use super::checks::Check;
use super::fixes::network_fix;

/// Per step (DNS, connect).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(3);

/// Resolves `url`'s host and connects to it. `key` names the setting in the fix.
pub async fn reachable(check: &'static str, key: &str, url: &str) -> Check {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Check::fail(check, format!("{key} = {url:?} is not a URL ({e})"), format!("set {key} to an https:// URL")),
    };
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return Check::fail(check, format!("{key} = {url:?} has no host"), format!("set {key} to an https:// URL"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addrs = match tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host((host.as_str(), port))).await {
        Ok(Ok(a)) => a.collect::<Vec<_>>(),
        Ok(Err(e)) => return Check::fail(check, format!("{key}: {host} does not resolve ({e})"), network_fix(key, url)),
        Err(_) => {
            return Check::fail(check, format!("{key}: resolving {host} took over {} s", STEP_TIMEOUT.as_secs()), network_fix(key, url));
        }
    };
    let Some(addr) = addrs.first() else {
        return Check::fail(check, format!("{key}: {host} resolves to no address"), network_fix(key, url));
    };
    match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Check::pass(check, format!("{key}: {host}:{port} resolves and accepts connections")),
        Ok(Err(e)) => Check::fail(check, format!("{key}: cannot connect to {host}:{port} ({addr}): {e}"), network_fix(key, url)),
        Err(_) => Check::fail(
            check,
            format!("{key}: connecting to {host}:{port} ({addr}) took over {} s", STEP_TIMEOUT.as_secs()),
            network_fix(key, url),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::doctor_cmd::checks::Status;

    #[tokio::test]
    async fn a_closed_port_fails_at_once_with_the_network_fix() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let started = std::time::Instant::now();
        let c = reachable("network.arm", "azure.resource_manager_endpoint", &format!("http://127.0.0.1:{port}")).await;
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(c.fix.unwrap().contains("firewall") && started.elapsed() < STEP_TIMEOUT);
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", open.local_addr().unwrap().port());
        assert_eq!(reachable("network.arm", "k", &url).await.status, Status::Pass);
    }
}
