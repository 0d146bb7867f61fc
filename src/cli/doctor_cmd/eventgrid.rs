//! The Event Grid wiring, where it can be read: in each subscription in scope, a system topic for the
//! subscription's resource events with an event subscription delivering to the worker's queue. A
//! subscription whose Event Grid resources cannot be read is skipped, not failed (reading them needs
//! rights fleetgate itself does not).

use serde_json::Value;

use super::checks::Check;
use fleetgate::arm::ArmClient;

/// api-version of `Microsoft.EventGrid` reads.
pub const EVENT_GRID_API: &str = "2022-06-15";

/// One check per subscription.
pub async fn checks(arm: &ArmClient, subscriptions: &[String], queue: &str) -> Vec<Check> {
    let mut out = Vec::new();
    for sub in subscriptions {
        out.push(check_subscription(arm, sub, queue).await);
    }
    out
}

async fn check_subscription(arm: &ArmClient, sub: &str, queue: &str) -> Check {
    let topics = match arm.list(&format!("/subscriptions/{sub}/providers/Microsoft.EventGrid/systemTopics"), EVENT_GRID_API, None).await {
        Ok(t) => t,
        Err(e) => {
            return Check::skip("eventgrid", format!("Event Grid wiring of {sub} not readable here, skipped ({})", short(&e.to_string())));
        }
    };
    let mut topic_names = Vec::new();
    for topic in topics.iter().filter(|t| is_subscription_topic(t)) {
        let Some(id) = topic.get("id").and_then(Value::as_str) else { continue };
        topic_names.push(id.rsplit('/').next().unwrap_or(id).to_string());
        let Ok(subs) = arm.list(&format!("{id}/eventSubscriptions"), EVENT_GRID_API, None).await else { continue };
        if let Some(name) = subs.iter().find(|s| delivers_to(s, queue)).and_then(|s| s.get("name").and_then(Value::as_str)) {
            return Check::pass(
                "eventgrid",
                format!("Event Grid: {sub} delivers resource events to queue {queue} (event subscription {name})"),
            );
        }
    }
    let found = if topic_names.is_empty() {
        "no system topic for its resource events".to_string()
    } else {
        format!("system topics {} deliver nothing to it", topic_names.join(", "))
    };
    Check::fail(
        "eventgrid",
        format!(
            "Event Grid: no event subscription in {sub} delivers to queue {queue} ({found}); the worker hears nothing from this subscription"
        ),
        "deploy the per-subscription Event Grid part of deploy/azure/fleetgate.json (docs/OPERATIONS.md \"Azure resources\"), or create a system topic of type Microsoft.Resources.Subscriptions with an event subscription to the queue",
    )
}

/// A system topic over a subscription's resource events.
pub fn is_subscription_topic(topic: &Value) -> bool {
    topic
        .pointer("/properties/topicType")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.Resources.Subscriptions"))
}

/// An event subscription whose destination is the Service Bus queue `queue`.
pub fn delivers_to(subscription: &Value, queue: &str) -> bool {
    let dest = subscription.pointer("/properties/destination");
    let kind = dest.and_then(|d| d.get("endpointType")).and_then(Value::as_str);
    let target = dest.and_then(|d| d.pointer("/properties/resourceId")).and_then(Value::as_str).unwrap_or_default();
    kind.is_some_and(|k| k.eq_ignore_ascii_case("ServiceBusQueue"))
        && target.to_ascii_lowercase().ends_with(&format!("/queues/{}", queue.to_ascii_lowercase()))
}

fn short(text: &str) -> String {
    text.chars().take(160).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_a_service_bus_queue_destination_case_insensitively() {
        let sub = json!({"name": "fleetgate", "properties": {"destination": {"endpointType": "ServiceBusQueue",
            "properties": {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/queues/Fleetgate-Events"}}}});
        assert!(delivers_to(&sub, "fleetgate-events"));
        assert!(!delivers_to(&sub, "other"));
        let webhook = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://x/queues/fleetgate-events"}}}});
        assert!(!delivers_to(&webhook, "fleetgate-events"));
        assert!(is_subscription_topic(&json!({"properties": {"topicType": "microsoft.resources.subscriptions"}})));
        assert!(!is_subscription_topic(&json!({"properties": {"topicType": "Microsoft.Storage.StorageAccounts"}})));
    }
}
