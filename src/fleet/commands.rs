//! `io.fleetgate.reconcile` commands as queue messages, with deterministic `MessageId`s so the queue's
//! duplicate detection drops repeats: a backfill's message is keyed by cluster + run ID, a resync's by
//! cluster + window. The CloudEvent `id` is the same value, so the worker's logs name the message.
//!
//! Duplicate detection only spans the queue's `duplicateDetectionHistoryTimeWindow` (10 minutes by
//! default, at most 7 days): re-runs dedupe while their first messages are still remembered.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::events::reconcile_command;
use crate::id::ResourceId;
use crate::queue::OutgoingMessage;

/// Content type of the messages (CloudEvents structured mode).
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";
/// User property saying who sent the command (`backfill` or `resync`).
pub const ORIGIN_PROPERTY: &str = "fleetgate-origin";

/// The `MessageId` of a backfill command: UUID v5 of the run ID and the cluster (case-insensitive).
pub fn backfill_message_id(cluster: &ResourceId, run_id: &str) -> String {
    derived(&format!("backfill:{run_id}:{}", cluster.key()))
}

/// The `MessageId` of a resync command: UUID v5 of the window start (Unix seconds) and the cluster.
pub fn resync_message_id(cluster: &ResourceId, window_start: OffsetDateTime) -> String {
    derived(&format!("resync:{}:{}", window_start.unix_timestamp(), cluster.key()))
}

fn derived(name: &str) -> String {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("fleetgate-command:{name}").as_bytes()).to_string()
}

/// One command message: the CloudEvent from [`reconcile_command`] with `id` = `message_id` and `time`.
pub fn command_message(cluster: &ResourceId, message_id: String, time: OffsetDateTime, origin: &str) -> OutgoingMessage {
    let mut event = reconcile_command(cluster);
    event["id"] = Value::String(message_id.clone());
    if let Ok(t) = time.format(&Rfc3339) {
        event["time"] = Value::String(t);
    }
    OutgoingMessage {
        body: event.to_string(),
        message_id: Some(message_id),
        content_type: Some(CLOUDEVENTS_JSON.into()),
        properties: vec![(ORIGIN_PROPERTY.into(), origin.into())],
    }
}

/// The backfill command for `cluster` in run `run_id`.
pub fn backfill_message(cluster: &ResourceId, run_id: &str, now: OffsetDateTime) -> OutgoingMessage {
    command_message(cluster, backfill_message_id(cluster, run_id), now, "backfill")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Trigger, classify, decode};
    use time::macros::datetime;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn cluster(name: &str) -> ResourceId {
        ResourceId::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"))
            .unwrap()
    }

    #[test]
    fn ids_are_deterministic_case_insensitive_and_distinct() {
        let a = cluster("a");
        let upper = ResourceId::parse(&a.as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions")).unwrap();
        assert_eq!(backfill_message_id(&a, "2025-06-02"), backfill_message_id(&upper, "2025-06-02"));
        assert_ne!(backfill_message_id(&a, "2025-06-02"), backfill_message_id(&a, "2025-06-03"));
        assert_ne!(backfill_message_id(&a, "r"), backfill_message_id(&cluster("b"), "r"));
        let w = datetime!(2025-06-02 06:00 UTC);
        assert_eq!(resync_message_id(&a, w), resync_message_id(&a, w));
        assert_ne!(resync_message_id(&a, w), resync_message_id(&a, datetime!(2025-06-02 12:00 UTC)));
        assert_ne!(resync_message_id(&a, w), backfill_message_id(&a, &w.unix_timestamp().to_string()));
        assert!(backfill_message_id(&a, "x").len() <= 128, "Service Bus MessageId limit");
    }

    #[test]
    fn the_body_is_a_reconcile_command_the_worker_accepts() {
        let c = cluster("a");
        let m = backfill_message(&c, "run-1", datetime!(2025-06-02 09:00 UTC));
        let event = decode(m.body.as_bytes()).unwrap();
        assert_eq!(event.id, m.message_id.clone().unwrap());
        assert_eq!(event.time, Some(datetime!(2025-06-02 09:00 UTC)));
        let scope = crate::config::ScopeSettings { subscriptions: vec![SUB.into()], exclude_tag: String::new() };
        assert!(matches!(classify(&event, &scope), Trigger::ReconcileCluster { cluster, .. } if cluster == c));
        assert_eq!(m.properties, vec![(ORIGIN_PROPERTY.to_string(), "backfill".to_string())]);
    }
}
