//! Scheduled messages through the real client (`ServiceBusQueue::send_scheduled`, which puts
//! `ScheduledEnqueueTimeUtc` in `BrokerProperties`): invisible until due, then delivered like any message;
//! duplicate detection applies while the message is still scheduled.

use std::time::{Duration, Instant};

use fleetgate::queue::{OutgoingMessage, Received};
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use time::OffsetDateTime;

use crate::support::*;

#[tokio::test]
async fn a_scheduled_message_waits_until_due_and_a_duplicate_schedule_is_dropped() {
    let sim = start().await;
    let q = queue(&sim, EVENTS_QUEUE);
    let message = OutgoingMessage { body: "reconcile later".into(), message_id: Some("defer-aks-1-r1".into()), ..Default::default() };
    let sent_at = Instant::now();
    let due = OffsetDateTime::now_utc() + Duration::from_secs(2);
    q.send_scheduled(&message, due).await.unwrap();
    q.send_scheduled(&message, due + Duration::from_secs(5)).await.unwrap();
    assert_eq!((sim.queue_depth(EVENTS_QUEUE), sim.scheduled_count(EVENTS_QUEUE)), (Some(0), Some(1)), "one scheduled, the repeat dropped");
    assert!(matches!(q.receive(Duration::ZERO).await.unwrap(), Received::Empty), "invisible before it is due");
    let got = expect_message(&q, Duration::from_secs(10)).await;
    let waited = sent_at.elapsed();
    assert!(waited >= Duration::from_millis(1000), "delivered only when due (after {waited:?}; RFC 2822 has whole seconds)");
    assert!(waited < Duration::from_secs(5), "the long poll wakes when the message comes due ({waited:?})");
    assert_eq!((got.body(), got.message_id(), got.delivery_count()), ("reconcile later", "defer-aks-1-r1", 1));
    got.complete().await.unwrap();
    assert_eq!(sim.scheduled_count(EVENTS_QUEUE), Some(0));
    q.send_scheduled(&message, due).await.unwrap();
    assert_eq!(
        (sim.queue_depth(EVENTS_QUEUE), sim.scheduled_count(EVENTS_QUEUE)),
        (Some(0), Some(0)),
        "still a duplicate within the window"
    );
}

#[tokio::test]
async fn an_unreadable_schedule_time_is_refused() {
    let sim = start().await;
    let path = format!("/{EVENTS_QUEUE}/messages");
    let res = client()
        .post(format!("{}{path}", sim.service_bus_endpoint()))
        .header("authorization", sas_header(&sim, &path))
        .header("brokerproperties", r#"{"ScheduledEnqueueTimeUtc":"tomorrow"}"#)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0));
}
