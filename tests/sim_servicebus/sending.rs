//! Batch send, duplicate detection, and what a delivery looks like on the wire.

use std::time::Duration;

use fleetgate::queue::OutgoingMessage;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_batch_send_enqueues_every_message_in_order() {
    let sim = start().await;
    let path = format!("/{POISON_QUEUE}/messages");
    let batch = json!([
        {"Body": "one", "BrokerProperties": {"MessageId": "b1", "Label": "first"}, "UserProperties": {"reason": "malformed", "line": 3}},
        {"Body": "dHdv", "IsBodyBase64": true},
        {"Body": "three"},
    ]);
    let res = client()
        .post(format!("{}{path}", sim.service_bus_endpoint()))
        .header("authorization", sas_header(&sim, &path))
        .header("content-type", "application/vnd.microsoft.servicebus.json")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(sim.queue_depth(POISON_QUEUE), Some(3));
    let q = queue(&sim, POISON_QUEUE);
    let first = expect_message(&q, Duration::ZERO).await;
    assert_eq!((first.body(), first.message_id()), ("one", "b1"));
    assert_eq!((first.property("reason"), first.property("line")), (Some("malformed"), Some("3")));
    let bodies: Vec<String> =
        sim.peek_all(POISON_QUEUE).unwrap().iter().map(|p| String::from_utf8(p.message.body.clone()).unwrap()).collect();
    assert_eq!(bodies, ["one", "two", "three"]);

    let broken = client()
        .post(format!("{}{path}", sim.service_bus_endpoint()))
        .header("authorization", sas_header(&sim, &path))
        .header("content-type", "application/vnd.microsoft.servicebus.json")
        .body(r#"[{"Body":"ok"},{"NoBody":1}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    assert_eq!(sim.queue_depth(POISON_QUEUE), Some(3), "a bad batch enqueues nothing");
}

#[tokio::test]
async fn duplicate_detection_drops_a_repeated_message_id() {
    let sim = start().await;
    let message = OutgoingMessage { body: "event".into(), message_id: Some("evt-1".into()), ..Default::default() };
    let events = queue(&sim, EVENTS_QUEUE);
    events.send(&message).await.unwrap();
    events.send(&message).await.unwrap();
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(1), "duplicate detection is on for the events queue");
    let poison = queue(&sim, POISON_QUEUE);
    poison.send(&message).await.unwrap();
    poison.send(&message).await.unwrap();
    assert_eq!(sim.queue_depth(POISON_QUEUE), Some(2), "and off for the poison queue");
    let statuses: Vec<u16> = sb_journal(&sim).into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(statuses, [201, 201, 201, 201], "a dropped duplicate still answers 201");
}

#[tokio::test]
async fn a_delivery_carries_the_documented_headers() {
    let sim = start().await;
    let send_path = format!("/{EVENTS_QUEUE}/messages");
    let sent = client()
        .post(format!("{}{send_path}", sim.service_bus_endpoint()))
        .header("authorization", sas_header(&sim, &send_path))
        .header("brokerproperties", r#"{"MessageId":"m-1","Label":"L"}"#)
        .header("priority", "High")
        .header("count", "3")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    let head = format!("/{EVENTS_QUEUE}/messages/head");
    let res = client()
        .post(format!("{}{head}?timeout=0", sim.service_bus_endpoint()))
        .header("authorization", sas_header(&sim, &head))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let h = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(h("priority").as_deref(), Some("\"High\""), "string properties come back double-quoted");
    assert_eq!(h("count").as_deref(), Some("3"));
    let props: Value = serde_json::from_str(&h("brokerproperties").unwrap()).unwrap();
    assert_eq!((props["MessageId"].as_str(), props["Label"].as_str(), props["DeliveryCount"].as_i64()), (Some("m-1"), Some("L"), Some(1)));
    assert_eq!(
        (props["SequenceNumber"].as_i64(), props["EnqueuedSequenceNumber"].as_i64(), props["State"].as_str()),
        (Some(1), Some(1), Some("Active"))
    );
    for date in ["LockedUntilUtc", "EnqueuedTimeUtc"] {
        let text = props[date].as_str().unwrap();
        assert!(text.ends_with(" GMT") && text.len() == 29, "{date}: {text}");
    }
    let lock_token = props["LockToken"].as_str().unwrap();
    let expected = format!("{}/{EVENTS_QUEUE}/messages/1/{lock_token}", sim.service_bus_endpoint());
    assert_eq!(h("location"), Some(expected));
    assert_eq!(res.text().await.unwrap(), "payload");
}
