use std::time::Duration;

use time::macros::datetime;

use super::*;
use crate::events::{Trigger, classify, decode};

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"))
        .unwrap()
}

fn settings() -> DeferSettings {
    DeferSettings {
        enabled: true,
        interval: Duration::from_secs(60),
        max_interval: Duration::from_secs(300),
        max_wait: Duration::from_secs(3600),
    }
}

fn pending(name: &str, operation: Option<&str>) -> Pending {
    Pending { cluster: cluster(name), state: "Creating".into(), operation: operation.map(str::to_string), retry_after: None }
}

#[test]
fn delay_doubles_up_to_the_ceiling_and_honours_a_longer_retry_after() {
    let s = settings();
    let secs = |g| delay(&s, g, None).as_secs();
    assert_eq!([secs(1), secs(2), secs(3), secs(4), secs(40), secs(u32::MAX)], [60, 120, 240, 300, 300, 300]);
    assert_eq!(delay(&s, 1, Some(Duration::from_secs(90))), Duration::from_secs(90));
    assert_eq!(delay(&s, 1, Some(Duration::from_secs(5))), Duration::from_secs(60));
    assert_eq!(delay(&s, 1, Some(Duration::from_secs(86_400))), Duration::from_secs(300));
}

#[test]
fn a_first_deferral_starts_a_chain_and_the_next_continues_it() {
    let now = datetime!(2026-01-01 10:00 UTC);
    let first = schedule(None, "event-1", &pending("a", None), &settings(), now).unwrap();
    assert_eq!(first.state, DeferState { chain: "event-1".into(), generation: 1, first_seen: now.unix_timestamp(), operation: None });
    assert_eq!((first.delay, first.at), (Duration::from_secs(60), now + Duration::from_secs(60)));
    let later = now + Duration::from_secs(60);
    let second = schedule(Some(&first.state), "other-event", &pending("a", Some("http://arm/op/1")), &settings(), later).unwrap();
    assert_eq!((second.state.chain.as_str(), second.state.generation), ("event-1", 2));
    assert_eq!(second.state.first_seen, now.unix_timestamp(), "the first sighting is kept");
    assert_eq!(second.state.operation.as_deref(), Some("http://arm/op/1"));
    assert_eq!(second.delay, Duration::from_secs(120));
    assert_ne!(first.message.message_id, second.message.message_id);
}

#[test]
fn the_message_id_is_the_same_for_a_repeat_and_distinct_otherwise() {
    let now = datetime!(2026-01-01 10:00 UTC);
    let a = schedule(None, "event-1", &pending("a", None), &settings(), now).unwrap();
    let again = schedule(None, "event-1", &pending("a", None), &settings(), now + Duration::from_secs(7)).unwrap();
    assert_eq!(a.message.message_id, again.message.message_id, "a redelivered original schedules the same MessageId");
    let other_cluster = schedule(None, "event-1", &pending("b", None), &settings(), now).unwrap();
    let other_chain = schedule(None, "event-2", &pending("a", None), &settings(), now).unwrap();
    assert_ne!(a.message.message_id, other_cluster.message.message_id);
    assert_ne!(a.message.message_id, other_chain.message.message_id);
    assert!(a.message.message_id.as_ref().is_some_and(|id| id.len() <= 128));
}

#[test]
fn past_max_wait_the_chain_expires_with_a_clear_message() {
    let now = datetime!(2026-01-01 10:00 UTC);
    let prior = DeferState { chain: "e".into(), generation: 9, first_seen: now.unix_timestamp() - 3600, operation: None };
    let e = schedule(Some(&prior), "e", &pending("a", None), &settings(), now).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("managedClusters/a") && text.contains("still Creating 3600 s") && text.contains("defer.max_wait"), "{text}");
    assert!(!e.is_transient());
    let just_in = DeferState { first_seen: now.unix_timestamp() - 3599, ..prior };
    assert!(schedule(Some(&just_in), "e", &pending("a", None), &settings(), now).is_ok());
}

#[test]
fn the_command_is_a_reconcile_the_worker_accepts_and_carries_its_state() {
    let now = datetime!(2026-01-01 10:00 UTC);
    let s = schedule(None, "event-1", &pending("a", Some("http://127.0.0.1/op?sig=x")), &settings(), now).unwrap();
    let event = decode(s.message.body.as_bytes()).unwrap();
    let scope = crate::config::ScopeSettings { subscriptions: vec![SUB.into()], exclude_tag: String::new() };
    assert!(matches!(classify(&event, &scope), Trigger::ReconcileCluster { cluster: c, .. } if c == cluster("a")));
    assert_eq!(event.id, s.message.message_id.clone().unwrap());
    assert_eq!(read_state(s.message.body.as_bytes()), Some(s.state.clone()));
    assert!(s.message.properties.contains(&("fleetgate-origin".to_string(), ORIGIN.to_string())));
}

#[test]
fn malformed_states_are_ignored() {
    for body in [
        r#"{"data":{}}"#,
        r#"{"data":{"deferral":{"chain":"","generation":1,"first_seen":0}}}"#,
        r#"{"data":{"deferral":{"chain":"c","generation":0,"first_seen":0}}}"#,
        r#"{"data":{"deferral":{"chain":"c","generation":"x","first_seen":0}}}"#,
        "not json",
    ] {
        assert_eq!(read_state(body.as_bytes()), None, "{body}");
    }
    let ok = r#"{"data":{"deferral":{"chain":"c","generation":2,"first_seen":5}}}"#;
    assert_eq!(read_state(ok.as_bytes()).map(|s| s.generation), Some(2));
}
