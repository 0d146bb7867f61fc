//! What the demo publishes: real-shaped Event Grid / CloudEvents messages built with the `events`
//! builders, plus noise fleetgate must ignore cheaply and one malformed message it must park.

use serde_json::Value;
use uuid::Uuid;

use crate::events::{Schema, cluster_write_event, role_assignment_write_event};
use crate::id::ResourceId;
use crate::queue::OutgoingMessage;

/// A subscription outside the demo's scope.
pub const OUT_OF_SCOPE_SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000ff";
/// The built-in AcrPull role definition GUID.
pub const ACR_PULL_ROLE: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

/// One message to publish and what it stands for.
#[derive(Debug, Clone)]
pub struct Published {
    /// For the progress lines.
    pub label: String,
    /// The Service Bus message.
    pub message: OutgoingMessage,
}

impl Published {
    fn event(label: String, mut event: Value) -> Self {
        // Every delivery is a distinct event; Event Grid's MessageId is its own internal id.
        event["id"] = Value::String(Uuid::new_v4().to_string());
        Self::raw(label, event.to_string())
    }

    fn raw(label: String, body: String) -> Self {
        let message = OutgoingMessage {
            body,
            message_id: Some(Uuid::new_v4().simple().to_string()),
            content_type: Some("application/json".into()),
            properties: vec![("aeg-event-type".into(), "\"Notification\"".into())],
        };
        Self { label, message }
    }
}

/// Phase one: a `managedClusters/write` for every cluster (alternating Event Grid and CloudEvents
/// envelopes), a second write to the first cluster, and noise: a storage account write, an agent pool
/// write, a role assignment on a subscription, a cluster outside the scope, and one truncated message.
pub fn cluster_events(clusters: &[ResourceId]) -> Vec<Published> {
    let mut out = Vec::new();
    for (i, cluster) in clusters.iter().enumerate() {
        let schema = if i % 2 == 0 { Schema::EventGrid } else { Schema::CloudEvents };
        out.push(Published::event(format!("cluster written: {}", cluster.name()), cluster_write_event(cluster, schema)));
        if let Some(noise) = noise_after(i, cluster) {
            out.push(noise);
        }
    }
    if let Some(first) = clusters.first() {
        out.push(Published::event(format!("cluster written again: {}", first.name()), cluster_write_event(first, Schema::EventGrid)));
    }
    if let Some(outside) = clusters.first().and_then(|c| in_subscription(c, OUT_OF_SCOPE_SUBSCRIPTION)) {
        out.push(Published::event("cluster written in another subscription".into(), cluster_write_event(&outside, Schema::EventGrid)));
    }
    out
}

/// The noise message placed after cluster number `i` (some positions only).
fn noise_after(i: usize, cluster: &ResourceId) -> Option<Published> {
    let sub = cluster.subscription_id();
    let rg = cluster.resource_group().unwrap_or("rg");
    match i {
        1 => {
            let id = ResourceId::new_resource(sub, rg, "Microsoft.Storage", "storageAccounts", "stdemologs").ok()?;
            Some(Published::event("storage account written (noise)".into(), retarget(cluster_write_event(&id, Schema::EventGrid), "Microsoft.Storage/storageAccounts/write")))
        }
        3 => {
            let id = cluster.child("agentPools", "nodepool1").ok()?;
            let event = retarget(cluster_write_event(&id, Schema::EventGrid), "Microsoft.ContainerService/managedClusters/agentPools/write");
            Some(Published::event(format!("agent pool written (noise): {}/nodepool1", cluster.name()), event))
        }
        5 => Some(Published::raw(
            "truncated message (malformed)".into(),
            r#"{"id":"5d3c2a1b-0000-4000-8000-000000000bad","eventType":"Microsoft.Resources.ResourceWriteSuccess","subject":"/subscriptions/"#.into(),
        )),
        7 => {
            let id = ResourceId::parse(&format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}", Uuid::new_v4())).ok()?;
            Some(Published::event("role assigned on a subscription (noise)".into(), role_assignment_write_event(&id, Schema::CloudEvents)))
        }
        _ => None,
    }
}

/// Phase two: the role-assignment event for an AcrPull just given to a kubelet identity on a registry.
pub fn registry_attached_event(assignment: &ResourceId, cluster: &ResourceId, registry: &ResourceId) -> Published {
    Published::event(
        format!("registry attached: {} → {}", registry.name(), cluster.name()),
        role_assignment_write_event(assignment, Schema::EventGrid),
    )
}

/// The body of the AcrPull role assignment an `az aks update --attach-acr` makes.
pub fn acr_pull_assignment_body(registry: &ResourceId, principal_id: &str) -> Value {
    serde_json::json!({
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE}", registry.subscription_id()),
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }
    })
}

/// Points a built write event at another operation (both envelopes carry `data.operationName`).
fn retarget(mut event: Value, operation: &str) -> Value {
    event["data"]["operationName"] = Value::String(operation.to_string());
    event["data"]["authorization"]["action"] = Value::String(operation.to_string());
    event["data"]["resourceProvider"] = Value::String(operation.split('/').next().unwrap_or_default().to_string());
    event
}

/// `id` moved to `subscription`.
fn in_subscription(id: &ResourceId, subscription: &str) -> Option<ResourceId> {
    ResourceId::parse(&id.as_str().replacen(id.subscription_id(), subscription, 1)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, ConfigSource};
    use crate::events::{Trigger, classify, decode};

    fn cluster(n: usize) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-{n}"
        ))
        .unwrap()
    }

    #[test]
    fn the_scenario_classifies_as_intended() {
        let mut settings = config::load(&ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
        settings.scope.subscriptions = vec!["00000000-0000-0000-0000-000000000001".into()];
        let clusters: Vec<ResourceId> = (0..8).map(cluster).collect();
        let published = cluster_events(&clusters);
        let mut labels = Vec::new();
        for p in &published {
            let label = match decode(p.message.body.as_bytes()) {
                Ok(event) => match classify(&event, &settings.scope) {
                    Trigger::ReconcileCluster { .. } => "reconcile".to_string(),
                    Trigger::Ignored { reason } => format!("ignored:{}", reason.label()),
                    other => other.label().to_string(),
                },
                Err(_) => "undecodable".into(),
            };
            labels.push(label);
        }
        let count = |l: &str| labels.iter().filter(|x| x.as_str() == l).count();
        assert_eq!(count("reconcile"), 9, "{labels:?}");
        assert_eq!(count("undecodable"), 1);
        for reason in ["not_a_cluster_write", "not_a_registry_scope", "out_of_scope"] {
            assert_eq!(count(&format!("ignored:{reason}")), 1 + usize::from(reason == "not_a_cluster_write"), "{reason}: {labels:?}");
        }
        let ids: std::collections::HashSet<_> = published.iter().map(|p| p.message.message_id.clone()).collect();
        assert_eq!(ids.len(), published.len(), "distinct MessageIds");
    }

    #[test]
    fn the_attach_event_names_the_assignment() {
        let registry = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000003/resourceGroups/rg-platform/providers/Microsoft.ContainerRegistry/registries/acrshared",
        )
        .unwrap();
        let assignment = registry.child_provider("Microsoft.Authorization", "roleAssignments", &Uuid::new_v4().to_string()).unwrap();
        let p = registry_attached_event(&assignment, &cluster(1), &registry);
        let mut settings = config::load(&ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
        settings.scope.subscriptions = vec!["00000000-0000-0000-0000-000000000003".into()];
        let trigger = classify(&decode(p.message.body.as_bytes()).unwrap(), &settings.scope);
        assert_eq!(trigger, Trigger::RoleAssignmentWritten { assignment, registry: registry.clone() });
        let body = acr_pull_assignment_body(&registry, "9d2c6f1a-3b4e-4c5d-8e6f-7a8b9c0d1e02");
        assert!(body["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(ACR_PULL_ROLE));
    }
}
