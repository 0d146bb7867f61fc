//! `fleetgate doctor` through the binary: an unreachable endpoint is reported within seconds with the
//! network fix (never "grant Reader" or "set the api-version"); each ARM failure gets its own fix
//! (401 → credential, 403 → the missing action, 404 SubscriptionNotFound → the subscription ID,
//! api-version errors → the versions); Service Bus checks (queue, rights, poison queue, a peek that
//! leaves the message in the queue).

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::faults::fault;
use common::*;
use fleetgate::sim::SimHandle;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE};

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `fix:` lines.
fn fixes(out: &Output) -> Vec<String> {
    text(out).lines().filter_map(|l| l.trim().strip_prefix("fix: ").map(str::to_string)).collect()
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_closed_port_is_reported_within_seconds_with_the_network_fix() {
    let port = closed_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fleetgate"))
        .arg("doctor")
        .env_clear()
        .envs([
            ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", endpoint.as_str()),
            ("FLEETGATE__AZURE__AUTHORITY_HOST", endpoint.as_str()),
            ("FLEETGATE__AZURE__CREDENTIAL", "client_secret"),
            ("FLEETGATE__SCOPE__SUBSCRIPTIONS", SUB1),
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", CLIENT_ID),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "answered in {took:?}");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("✖ azure.resource_manager_endpoint: cannot connect to 127.0.0.1:{port}")), "{}", text(&out));
    let fixes = fixes(&out);
    assert!(
        fixes.iter().any(|f| f.contains(&format!("check azure.resource_manager_endpoint ({endpoint})")) && f.contains("firewall")),
        "{fixes:#?}"
    );
    assert!(fixes.iter().all(|f| !f.contains("Reader") && !f.contains("api_versions")), "no unrelated fix: {fixes:#?}");
}

async fn sim() -> SimHandle {
    start_sim(&fleet::new_and_old()).await
}

fn doctor(sim: &SimHandle, subscriptions: &[&str]) -> Output {
    FleetgateCommand::new(sim, subscriptions).args(["doctor"]).output()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_does_not_exist_gets_the_subscription_fix_not_the_api_version() {
    let sim = sim().await;
    let out = doctor(&sim, &[SUB1, SUB3]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    let about_sub3: Vec<&str> = shown.lines().filter(|l| l.contains(SUB3)).collect();
    assert!(!about_sub3.is_empty() && about_sub3.iter().all(|l| l.starts_with('✖')), "{}", text(&out));
    let fixes = fixes(&out);
    assert!(fixes.iter().all(|f| f.contains("subscription ID in scope.subscriptions")), "{fixes:#?}");
    assert!(fixes.iter().all(|f| !f.contains("api_versions")), "{fixes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_arm_failure_gets_the_fix_that_matches_it() {
    let sim = sim().await;
    let action = "Microsoft.ContainerService/managedClusters/read";
    sim.add_fault(FaultRule {
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        message: Some(format!(
            "The client 'x' does not have authorization to perform action '{action}' over scope '/subscriptions/{SUB1}'."
        )),
        ..fault(Some("GET"), &format!("/subscriptions/{SUB1}/providers/Microsoft.ContainerService/managedClusters"))
    });
    let out = doctor(&sim, &[SUB1]);
    assert!(fixes(&out).iter().any(|f| f.starts_with(&format!("grant fleetgate's identity a role with {action}"))), "{}", text(&out));
    sim.clear_faults();

    sim.add_fault(FaultRule {
        status: Some(400),
        code: Some("InvalidApiVersionParameter".into()),
        message: Some(
            "The api-version '2026-01-02-preview' is invalid. The supported api-versions are '2025-10-01, 2025-11-02-preview, 2026-06-01'."
                .into(),
        ),
        ..fault(Some("GET"), &format!("/subscriptions/{SUB1}/providers/Microsoft.ContainerService/managedClusters"))
    });
    let out = doctor(&sim, &[SUB1]);
    let version_fix =
        fixes(&out).into_iter().find(|f| f.contains("api_versions.managed_clusters")).unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(
        version_fix.contains("2025-11-02-preview") && version_fix.contains("2026-06-01") && !version_fix.contains("2025-10-01"),
        "{version_fix}"
    );
    sim.clear_faults();

    sim.add_fault(FaultRule {
        status: Some(401),
        code: Some("InvalidAuthenticationToken".into()),
        ..fault(Some("GET"), &format!("/subscriptions/{SUB1}"))
    });
    let out = doctor(&sim, &[SUB1]);
    assert!(fixes(&out).iter().any(|f| f.contains("AZURE_CLIENT_SECRET")), "401 → the credential: {}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_bus_checks_and_a_peek_that_leaves_the_message() {
    let sim = sim().await;
    sim.send_message(EVENTS_QUEUE, b"{\"hello\": 1}".to_vec(), &[]).expect("queue exists");
    let with_queue = || FleetgateCommand::new(&sim, &[SUB1]).queue(&sim, TEST_NAMESPACE);
    let out = with_queue().args(["doctor"]).output();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    for line in [
        format!("✔ Service Bus queue {EVENTS_QUEUE} exists"),
        format!("✔ this identity may receive from {EVENTS_QUEUE}"),
        format!("✔ Service Bus queue {POISON_QUEUE} exists"),
    ] {
        assert!(shown.contains(&line), "{line} in {shown}");
    }
    assert!(shown.contains("peek of fleetgate-events: message") && shown.contains("released at once"), "{shown}");
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(1), "the peeked message is still there");

    assert!(sim.delete_queue(POISON_QUEUE));
    let out = with_queue().args(["doctor", "--no-peek"]).output();
    assert!(text(&out).contains("Service Bus queue checks skipped (--no-peek)"), "{}", text(&out));
    let out = with_queue().args(["doctor"]).output();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(fixes(&out).iter().any(|f| f.starts_with(&format!("create the queue {POISON_QUEUE}"))), "{}", text(&out));

    let out = with_queue().env("FLEETGATE_SAS_KEY", "d3Jvbmcta2V5LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=").args(["doctor"]).output();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        fixes(&out).iter().any(|f| f.contains("FLEETGATE_SAS_KEY") && f.contains("Listen")),
        "a refused key → the SAS fix: {}",
        text(&out)
    );
}
