//! Unreadable `BrokerProperties`: the crate fails after the service locked the message. The wrapper
//! reports it, the message is redelivered at lock expiry, and the transport repairs the one known cause
//! (an `EnqueuedSequenceNumber` above 2^31, which the crate reads as i32).

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core_legacy::{HttpClient, Request, Response};
use fleetgate::queue::{QueueError, ServiceBusQueue};
use fleetgate::sim::servicebus::QueueSpec;

use crate::support::*;

/// Only moves requests to the simulator: no BrokerProperties repair.
#[derive(Debug)]
struct RewriteOnly {
    endpoint: String,
    inner: reqwest012::Client,
}

#[async_trait::async_trait]
impl HttpClient for RewriteOnly {
    async fn execute_request(&self, request: &Request) -> azure_core_legacy::Result<Response> {
        let mut r = request.clone();
        let url = request.url();
        let moved = format!("{}{}?{}", self.endpoint, url.path(), url.query().unwrap_or(""));
        *r.url_mut() = azure_core_legacy::Url::parse(&moved).unwrap();
        self.inner.execute_request(&r).await
    }
}

#[tokio::test]
async fn a_big_sequence_number_is_reported_then_repaired_and_redelivered() {
    let first_seq = 1u64 << 31;
    let sim = start_with(QueueSpec::new("old-queue").first_sequence_number(first_seq).lock_duration(Duration::from_secs(1))).await;
    sim.send_message("old-queue", "late message", &[]).unwrap();

    let raw = RewriteOnly { endpoint: sim.service_bus_endpoint(), inner: reqwest012::Client::builder().no_proxy().build().unwrap() };
    let unrepaired = ServiceBusQueue::new(Arc::new(raw), NS, "old-queue", Some(&root_key(&sim))).unwrap();
    let err = unrepaired.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(&err, QueueError::MalformedMessage { detail, .. } if detail.contains("2147483648")), "{err}");
    assert!(err.to_string().contains("redelivered") || err.to_string().contains("delivered again"), "{err}");
    let peeked = sim.peek_all("old-queue").unwrap();
    assert!(peeked[0].locked && peeked[0].delivery_count == 1, "the service locked it anyway");

    let repaired = queue(&sim, "old-queue");
    let started = Instant::now();
    let m = expect_message(&repaired, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(3), "redelivered at lock expiry");
    assert_eq!((m.body(), m.delivery_count(), m.sequence_number()), ("late message", 2, first_seq as i64));
    assert!(m.broker_properties().enqueued_sequence_number.is_none(), "the transport dropped the field it cannot hold");
    m.complete().await.unwrap();
    assert_eq!(sim.queue_depth("old-queue"), Some(0));
}
