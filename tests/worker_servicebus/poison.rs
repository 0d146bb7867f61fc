//! Poison parking: a message fleetgate cannot handle goes to the poison queue with its reason, and
//! the original is completed only once it is parked.

use std::time::Duration;

use fleetgate::dispatch::MessageOutcome;
use fleetgate::queue::Received;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, POISON_QUEUE};
use fleetgate::source::{ORIGINAL_MESSAGE_ID_PROPERTY, REASON_PROPERTY, ServiceBusSource};
use fleetgate::worker::Settled;

use crate::support::*;

#[tokio::test]
async fn a_malformed_body_is_parked_with_its_reason_and_the_original_completed() {
    let env = env(|_| {}).await;
    env.sim
        .send(EVENTS_QUEUE, NewMessage::new("{\"eventType\": \"Microsoft.Resources.ResourceWriteSuccess\", ").message_id("bad-1"))
        .unwrap();
    let mut worker = spawn(&env, sas(&env), options(2));
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    worker.stop().await;
    assert_eq!((report.outcome, &report.settled), (Some(MessageOutcome::Rejected), &Settled::Parked));
    let reason = report.reason.clone().unwrap();
    assert!(reason.contains("invalid_json"), "{reason}");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0), "the original is completed");
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty());

    // Read the parked copy back through the real crate: body, MessageId and properties survive.
    let reader = ServiceBusSource::from_settings(&env.settings.queue, sas(&env)).unwrap();
    let Received::Message(parked) = reader.poison_queue().receive(Duration::ZERO).await.unwrap() else { panic!("nothing parked") };
    assert_eq!(parked.body(), "{\"eventType\": \"Microsoft.Resources.ResourceWriteSuccess\", ");
    assert_eq!(parked.message_id(), "bad-1");
    assert_eq!(parked.property(REASON_PROPERTY), Some(reason.as_str()));
    assert_eq!(parked.property(ORIGINAL_MESSAGE_ID_PROPERTY), Some("bad-1"));
    assert_eq!(parked.property("fleetgate-delivery-count"), Some("1"));
    parked.complete().await.unwrap();
    assert_eq!(env.sim.queue_depth(POISON_QUEUE), Some(0));
}

#[tokio::test]
async fn a_fatal_arm_error_is_parked_too() {
    let env = env(|_| {}).await;
    env.sim.add_fault(failing_cluster_get("aks-c", 403, None));
    send_cluster_event(&env, "aks-c", "forbidden");
    let mut worker = spawn(&env, sas(&env), options(1));
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    worker.stop().await;
    assert_eq!((report.outcome, &report.settled), (Some(MessageOutcome::Failed), &Settled::Parked));
    let parked = env.sim.peek_all(POISON_QUEUE).unwrap();
    assert_eq!(parked.len(), 1);
    let reason = parked[0].message.property(REASON_PROPERTY).and_then(|v| v.as_str()).unwrap().to_string();
    assert!(reason.contains("403") && reason.contains("aks-c"), "{reason}");
}

#[tokio::test]
async fn when_parking_fails_the_message_is_abandoned_not_completed() {
    let env = env(|_| {}).await;
    // Each redelivery fails the same way; keep it out of the dead-letter queue while the test looks.
    declare(&env, |q| q.max_delivery_count(1000));
    assert!(env.sim.delete_queue(POISON_QUEUE));
    env.sim.send(EVENTS_QUEUE, NewMessage::new("not json at all").message_id("bad-2")).unwrap();
    let source = ServiceBusSource::from_settings(&env.settings.queue, sas(&env)).unwrap();
    assert_eq!(source.poison_queue().name(), POISON_QUEUE);
    let mut worker = spawn(&env, sas(&env), options(1));
    let report = worker.reports(1, Duration::from_secs(10)).await.remove(0);
    worker.stop().await;
    assert_eq!(report.outcome, Some(MessageOutcome::Rejected));
    let Settled::Failed(error) = &report.settled else { panic!("expected a settle failure, got {:?}", report.settled) };
    assert!(error.contains(POISON_QUEUE) && error.contains("abandoned"), "{error}");
    let left = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert_eq!(left.len(), 1, "never completed without being parked");
    assert!(!left[0].locked, "abandoned, so available again at once");
}
