//! Fault rules and latency apply to `/sb/` paths like they do to ARM ones.

use std::time::{Duration, Instant};

use fleetgate::queue::{OutgoingMessage, QueueError};
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use serde_json::json;

use crate::support::*;

fn rule(value: serde_json::Value) -> FaultRule {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn a_status_fault_on_the_receive_path_is_a_transient_error() {
    let sim = start().await;
    sim.add_fault(rule(json!({"method": "POST", "path": "/sb/*/messages/head", "status": 503, "retry_after": 2, "count": 1})));
    sim.send_message(EVENTS_QUEUE, "after the fault", &[]).unwrap();
    let q = queue(&sim, EVENTS_QUEUE);
    let err = q.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(err, QueueError::Http { status: 503, .. }) && err.is_transient(), "{err}");
    assert!(err.to_string().contains("ServiceUnavailable"), "{err}");
    let m = expect_message(&q, Duration::ZERO).await;
    assert_eq!(m.body(), "after the fault");
    let statuses: Vec<u16> = sb_journal(&sim).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(statuses, [503, 201]);
}

#[tokio::test]
async fn a_reset_fault_is_a_transport_error() {
    let sim = start().await;
    sim.add_fault(rule(json!({"path": "/sb/*/messages", "reset": true, "count": 1})));
    let q = queue(&sim, EVENTS_QUEUE);
    let err = q.send(&OutgoingMessage { body: "x".into(), ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, QueueError::Transport { .. }) && err.is_transient(), "{err}");
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0));
    assert_eq!(sb_journal(&sim)[0].2, 0, "journaled as a reset");
}

#[tokio::test]
async fn a_latency_fault_slows_the_send_down() {
    let sim = start().await;
    sim.add_fault(rule(json!({"method": "POST", "path": "/sb/fleetgate-events/messages", "latency_ms": 300})));
    let q = queue(&sim, EVENTS_QUEUE);
    let started = Instant::now();
    q.send(&OutgoingMessage { body: "slow".into(), ..Default::default() }).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(1));
}
