//! 204 when empty, and a long poll that returns as soon as a message arrives.

use std::time::{Duration, Instant};

use fleetgate::queue::{OutgoingMessage, Received};
use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE};

use crate::support::*;

#[tokio::test]
async fn an_empty_queue_answers_204_after_the_wait() {
    let sim = start().await;
    let q = queue(&sim, EVENTS_QUEUE);
    let started = Instant::now();
    assert!(matches!(q.receive(Duration::from_secs(1)).await.unwrap(), Received::Empty));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950) && waited < Duration::from_secs(3), "{waited:?}");
    // What the crate alone makes of it: Ok, status 204, no BrokerProperties.
    let raw = q.client().peek_lock_message2(Some(Duration::ZERO)).await.unwrap();
    assert_eq!(u16::from(*raw.status()), 204);
    assert!(raw.broker_properties().is_none());
    let queries: Vec<String> = sim.journal().into_iter().filter(|e| e.path.ends_with("/head")).map(|e| e.query).collect();
    assert_eq!(queries, ["timeout=1", "timeout=0"]);
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_message_is_sent() {
    let sim = start().await;
    let receiver = queue(&sim, POISON_QUEUE);
    let sender = queue(&sim, POISON_QUEUE);
    let started = Instant::now();
    let waiting = tokio::spawn(async move { receiver.receive(Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "still polling");
    sender.send(&OutgoingMessage { body: "wake".into(), ..Default::default() }).await.unwrap();
    let Received::Message(m) = waiting.await.unwrap().unwrap() else { panic!("expected the sent message") };
    assert_eq!(m.body(), "wake");
    assert!(started.elapsed() < Duration::from_secs(3), "returned after {:?}", started.elapsed());
    m.complete().await.unwrap();
}
