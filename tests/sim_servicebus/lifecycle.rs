//! Peek-lock lifecycle through the real crate: complete, abandon, renew, lock expiry, dead-lettering, 410.

use std::time::{Duration, Instant};

use fleetgate::queue::{OutgoingMessage, QueueError};
use fleetgate::sim::servicebus::{EVENTS_QUEUE, MAX_DELIVERY_COUNT_EXCEEDED, QueueSpec, Sent};

use crate::support::*;

fn event(id: &str) -> OutgoingMessage {
    OutgoingMessage {
        body: format!(r#"{{"id":"{id}"}}"#),
        message_id: Some(id.to_string()),
        content_type: Some("application/json".into()),
        properties: vec![("aeg-event-type".into(), "Notification".into())],
    }
}

#[tokio::test]
async fn send_then_peek_lock_then_complete() {
    let sim = start().await;
    let q = queue(&sim, EVENTS_QUEUE);
    q.send(&event("e1")).await.unwrap();
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(1));

    let m = expect_message(&q, Duration::from_secs(1)).await;
    assert_eq!((m.body(), m.message_id(), m.delivery_count(), m.sequence_number()), (r#"{"id":"e1"}"#, "e1", 1, 1));
    assert_eq!(m.property("aeg-event-type"), Some("Notification"));
    let lock_left = m.locked_until() - time::OffsetDateTime::now_utc();
    assert!(lock_left > time::Duration::seconds(25) && lock_left <= time::Duration::seconds(31), "default lock 30 s, {lock_left}");
    assert!(sim.peek_all(EVENTS_QUEUE).unwrap()[0].locked);
    expect_empty(&q).await;

    m.complete().await.unwrap();
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0));
    let again = m.complete().await.unwrap_err();
    assert!(matches!(&again, QueueError::LockLost { message_id, .. } if message_id == "e1"), "{again}");

    let journal = sb_journal(&sim);
    let statuses: Vec<(&str, u16)> = journal.iter().map(|(m, _, s)| (m.as_str(), *s)).collect();
    assert_eq!(statuses, [("POST", 201), ("POST", 201), ("POST", 204), ("DELETE", 200), ("DELETE", 404)]);
    assert!(journal[3].1.starts_with("/sb/fleetgate-events/messages/1/"), "{}", journal[3].1);
}

#[tokio::test]
async fn abandon_redelivers_with_delivery_count_two() {
    let sim = start().await;
    let q = queue(&sim, EVENTS_QUEUE);
    q.send(&event("e1")).await.unwrap();
    let first = expect_message(&q, Duration::ZERO).await;
    first.abandon().await.unwrap();
    let second = expect_message(&q, Duration::ZERO).await;
    assert_eq!((second.message_id(), second.delivery_count()), ("e1", 2));
    assert!(matches!(first.complete().await, Err(QueueError::LockLost { .. })), "the old lock is gone");
    second.complete().await.unwrap();
}

#[tokio::test]
async fn renew_extends_the_lock() {
    let sim = start_with(QueueSpec::new("short").lock_duration(Duration::from_secs(1))).await;
    let q = queue(&sim, "short");
    sim.send_message("short", "work", &[]).unwrap();
    let m = expect_message(&q, Duration::ZERO).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    m.renew_lock().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    expect_empty(&q).await;
    m.complete().await.unwrap();
    assert_eq!(sim.queue_depth("short"), Some(0));
}

#[tokio::test]
async fn an_expired_lock_makes_the_message_available_again() {
    let sim = start_with(QueueSpec::new("short").lock_duration(Duration::from_secs(1))).await;
    let q = queue(&sim, "short");
    sim.send_message("short", "work", &[]).unwrap();
    let first = expect_message(&q, Duration::ZERO).await;
    let started = Instant::now();
    let second = expect_message(&q, Duration::from_secs(5)).await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_millis(2500), "woke at lock expiry, after {waited:?}");
    assert_eq!(second.delivery_count(), 2);
    assert!(matches!(first.complete().await, Err(QueueError::LockLost { .. })));
    second.complete().await.unwrap();
}

#[tokio::test]
async fn exceeding_max_delivery_count_dead_letters_with_the_reason() {
    let sim = start_with(QueueSpec::new("fragile").max_delivery_count(3)).await;
    let q = queue(&sim, "fragile");
    assert_eq!(sim.send_message("fragile", "poison", &[("kind", "test")]), Some(Sent::Accepted(1)));
    for attempt in 1..=3 {
        let m = expect_message(&q, Duration::ZERO).await;
        assert_eq!(m.delivery_count(), attempt);
        m.abandon().await.unwrap();
    }
    expect_empty(&q).await;
    let dead = sim.dead_letters("fragile").unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].reason.as_str(), dead[0].body.as_slice(), dead[0].delivery_count),
        (MAX_DELIVERY_COUNT_EXCEEDED, &b"poison"[..], 3)
    );

    let dlq = queue(&sim, "fragile/$deadletterqueue");
    let m = expect_message(&dlq, Duration::ZERO).await;
    assert_eq!(m.body(), "poison");
    assert_eq!(m.property("DeadLetterReason"), Some(MAX_DELIVERY_COUNT_EXCEEDED));
    assert!(m.property("DeadLetterErrorDescription").is_some_and(|d| d.contains("3 delivery attempts")));
    assert_eq!(m.property("kind"), Some("test"), "user properties survive dead-lettering");
    m.complete().await.unwrap();
    assert_eq!(sim.dead_letters("fragile").map(|d| d.len()), Some(0));
}

#[tokio::test]
async fn an_unknown_queue_answers_410() {
    let sim = start().await;
    let q = queue(&sim, "nope");
    let err = q.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(err, QueueError::NotFound { status: 410, .. }), "{err}");
    assert!(matches!(q.send(&event("x")).await, Err(QueueError::NotFound { status: 410, .. })));
    // The crate itself reports the 410 receive as a success: the wrapper is what turns it into an error.
    let raw = q.client().peek_lock_message2(Some(Duration::ZERO)).await.unwrap();
    assert_eq!(u16::from(*raw.status()), 410);
    assert_eq!(sim.queue_depth("nope"), None);
}

#[tokio::test]
async fn lock_uris_follow_the_host_the_client_used() {
    let sim = start().await;
    let endpoint = format!("http://localhost:{}/sb", sim.addr().port());
    let transport = fleetgate::queue::ServiceBusTransport::new(
        Some(&endpoint),
        fleetgate::queue::QueueAuth::PassThrough,
        fleetgate::queue::DEFAULT_REQUEST_TIMEOUT,
    )
    .unwrap();
    let q = fleetgate::queue::ServiceBusQueue::new(std::sync::Arc::new(transport), NS, EVENTS_QUEUE, Some(&root_key(&sim))).unwrap();
    sim.send_message(EVENTS_QUEUE, "via localhost", &[]).unwrap();
    let m = expect_message(&q, Duration::ZERO).await;
    m.complete().await.unwrap();
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0), "the transport accepted the localhost lock URI");
}
