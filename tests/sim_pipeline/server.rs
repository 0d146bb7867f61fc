//! Server edges: body limit, unknown paths, the Service Bus hook, env lines, shutdown.

use fleetgate::sim::{Fleet, SimError, Simulator};
use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn a_body_over_4_mib_is_413_and_journaled() {
    let sim = start().await;
    let path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sim/things/t");
    let res = arm(&sim, &client(), Method::PUT, &path).body(vec![b'x'; 4 * 1024 * 1024 + 1]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(sim.journal()[0].status, 413);
}

#[tokio::test]
async fn unknown_paths_are_404_and_service_bus_needs_credentials() {
    let sim = start().await;
    let c = client();
    let res = c.get(format!("{}/", sim.base_url())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "NotFound");
    let sb = c.post(format!("{}/sb/ns/q/messages/head", sim.base_url())).send().await.unwrap();
    assert_eq!(sb.status(), StatusCode::UNAUTHORIZED, "the Service Bus surface (tests/sim_servicebus) checks auth first");
    let health = c.get(format!("{}/_sim/health", sim.base_url())).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn env_lines_name_this_simulator() {
    let sim = start().await;
    let lines = sim.env_lines();
    let base = sim.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && sim.addr().port() != 0);
    assert!(lines.contains(&format!("export FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT={base}")));
    assert!(lines.contains(&format!("export IDENTITY_ENDPOINT={base}/msi/token")));
    assert!(lines.contains(&"export FLEETGATE__AZURE__CREDENTIAL=managed_identity".to_string()));
    assert!(lines.iter().any(|l| l.starts_with("curl ") && l.contains(&format!("{base}/msi/token?api-version=2019-08-01"))));
}

#[tokio::test]
async fn only_loopback_addresses_are_accepted() {
    let err = Simulator::start(Fleet::default(), "0.0.0.0:0".parse().unwrap()).await.unwrap_err();
    assert!(matches!(err, SimError::NotLoopback { .. }), "{err}");
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let sim = start().await;
    let url = format!("{}/_sim/health", sim.base_url());
    assert_eq!(client().get(&url).send().await.unwrap().status(), StatusCode::OK);
    sim.shutdown().await;
    let err = client().get(&url).send().await.expect_err("nothing listens after shutdown");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}

#[tokio::test]
async fn debug_output_never_shows_the_client_secret() {
    let sim = start_with(fleetgate::sim::SimOptions { client_secret: Some("hunter2-secret".into()), ..Default::default() }).await;
    let token = sim.issue_token(ARM_SCOPE);
    let debug = format!("{sim:?}");
    assert!(debug.contains(&sim.base_url()), "{debug}");
    assert!(!debug.contains("hunter2-secret") && !debug.contains(&token), "{debug}");
}
