//! Fault injection over HTTP: count, seeded probability, latency, connection reset, runtime admin.

use std::time::{Duration, Instant};

use fleetgate::sim::SimOptions;
use fleetgate::sim::faults::FaultRule;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

fn rule(path: &str) -> FaultRule {
    serde_json::from_value(json!({"path": path})).unwrap()
}

#[tokio::test]
async fn a_count_rule_answers_the_next_n_matches_then_stops() {
    let sim = start().await;
    sim.add_fault(FaultRule {
        method: Some("PUT".into()),
        status: Some(503),
        retry_after: Some(3),
        count: Some(2),
        ..rule("/SUBSCRIPTIONS/*/resourcegroups/*")
    });
    let c = client();
    let path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sim/things/t");
    let get = arm(&sim, &c, Method::GET, &path).send().await.unwrap();
    assert_ne!(get.status(), StatusCode::SERVICE_UNAVAILABLE, "method must match");
    for _ in 0..2 {
        let res = arm(&sim, &c, Method::PUT, &path).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&res, "retry-after").as_deref(), Some("3"));
        assert_eq!(error_code(res).await, "ServiceUnavailable");
    }
    let third = arm(&sim, &c, Method::PUT, &path).json(&json!({})).send().await.unwrap();
    assert_ne!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(sim.faults().is_empty(), "an exhausted rule retires");
}

async fn statuses_with_seed(seed: u64) -> Vec<u16> {
    let mut probabilistic = FaultRule { status: Some(500), code: Some("InternalServerError".into()), probability: Some(0.5), ..rule("*") };
    probabilistic.method = Some("GET".into());
    let sim = start_with(SimOptions { seed, faults: vec![probabilistic], throttling: false, ..SimOptions::default() }).await;
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_probability_rule_is_reproducible_with_a_fixed_seed() {
    let first = statuses_with_seed(7).await;
    assert_eq!(first, statuses_with_seed(7).await);
    assert_ne!(first, statuses_with_seed(8).await);
    let faulted = first.iter().filter(|s| **s == 500).count();
    assert!((5..=35).contains(&faulted), "{faulted} of 40 faulted: {first:?}");
}

#[tokio::test]
async fn a_latency_rule_delays_the_answer() {
    let sim = start().await;
    sim.add_fault(FaultRule { latency_ms: Some(300), ..rule("*/managedClusters*") });
    let c = client();
    let started = Instant::now();
    let res = arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "took {:?}", started.elapsed());
    assert_ne!(res.status(), StatusCode::UNAUTHORIZED, "latency-only rules pass the request on");
}

#[tokio::test]
async fn a_reset_rule_gives_the_client_a_transport_error_not_a_status() {
    let sim = start().await;
    sim.add_fault(FaultRule { reset: true, count: Some(1), ..rule("*/managedClusters*") });
    let c = client();
    let err = arm(&sim, &c, Method::GET, &read_path()).send().await.expect_err("the connection must be reset");
    assert!(err.status().is_none(), "{err:?}");
    assert!(err.is_request() || err.is_connect() || err.is_body(), "{err:?}");
    let next = arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    assert_ne!(next.status(), StatusCode::UNAUTHORIZED, "the server keeps serving after a reset");
    let journal = sim.journal();
    assert!(journal[0].was_reset() && journal[0].status == 0, "{journal:?}");
    assert!(!journal[1].was_reset());
}

#[tokio::test]
async fn faults_from_the_fleet_file_are_active_from_the_start() {
    let fleet_rule = FaultRule { status: Some(409), code: Some("AnotherOperationInProgress".into()), ..rule("*") };
    let sim = start_with(SimOptions { faults: vec![fleet_rule], ..SimOptions::default() }).await;
    let res = arm(&sim, &client(), Method::GET, &read_path()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "AnotherOperationInProgress");

    let mut fleet = fleetgate::sim::Fleet::default();
    fleet.sim.faults = vec![FaultRule { probability: Some(2.0), ..rule("*") }];
    let err = fleetgate::sim::Simulator::start(fleet, "127.0.0.1:0".parse().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("probability"), "{err}");
}

#[tokio::test]
async fn faults_can_be_added_listed_and_cleared_at_run_time() {
    let sim = start().await;
    let c = client();
    let admin = format!("{}/_sim/faults", sim.base_url());
    let added = c.post(&admin).json(&json!({"method": "GET", "path": "*/managedClusters*", "status": 502})).send().await.unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let listed: Vec<Value> = c.get(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], 502);
    assert_eq!(arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap().status(), StatusCode::BAD_GATEWAY);

    let cleared = c.delete(&admin).send().await.unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(sim.faults().is_empty());
    assert_ne!(arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap().status(), StatusCode::BAD_GATEWAY);

    let invalid = c.post(&admin).json(&json!({"path": "*", "status": 503, "colour": "red"})).send().await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let useless = c.post(&admin).json(&json!({"path": "*"})).send().await.unwrap();
    assert_eq!(useless.status(), StatusCode::BAD_REQUEST);
    assert!(useless.text().await.unwrap().contains("does nothing"));
}
