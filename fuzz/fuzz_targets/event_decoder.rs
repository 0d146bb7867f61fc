//! Fuzz target: a queue message body → `events::decode` → `events::classify`.
//!
//! Properties beyond "never panics": whatever the bytes, a trigger that asks for work names a resource of
//! the right type inside `scope.subscriptions`, and a rejection reason stays bounded (it goes into a
//! Service Bus property and the logs).

#![no_main]

use fleetgate::config::ScopeSettings;
use fleetgate::events::limits::MAX_FIELD_CHARS;
use fleetgate::events::{CLUSTER_TYPE, REGISTRY_TYPE, ROLE_ASSIGNMENT_TYPE, Trigger, classify, decode};
use libfuzzer_sys::fuzz_target;

/// The subscription the seed corpus uses for in-scope resources.
const IN_SCOPE: &str = "00000000-0000-0000-0000-000000000001";

fuzz_target!(|data: &[u8]| {
    let Ok(event) = decode(data) else { return };
    let scope = ScopeSettings { subscriptions: vec![IN_SCOPE.to_string()], exclude_tag: "fleetgate.io/exclude".to_string() };
    match classify(&event, &scope) {
        Trigger::ReconcileCluster { cluster, .. } | Trigger::ClusterDeleted { cluster } => {
            assert!(scope.allows_subscription(cluster.subscription_id()), "out-of-scope cluster accepted: {cluster}");
            assert!(cluster.is_type(CLUSTER_TYPE), "not a cluster: {cluster}");
        }
        Trigger::RoleAssignmentWritten { assignment, registry } => {
            assert!(scope.allows_subscription(assignment.subscription_id()), "out-of-scope assignment accepted: {assignment}");
            assert!(assignment.is_type(ROLE_ASSIGNMENT_TYPE) && registry.is_type(REGISTRY_TYPE), "{assignment} on {registry}");
            assert!(assignment.is_within(&registry), "{assignment} is not under {registry}");
        }
        Trigger::Rejected { reason } => assert!(reason.chars().count() <= 4 * MAX_FIELD_CHARS, "unbounded reason"),
        Trigger::Ignored { .. } => {}
    }
});
