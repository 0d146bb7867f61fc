//! Builders of real-shaped events, for tests and `fleetgate demo`.
//!
//! They follow azure-events.md §1.3, §1.5 and §1.6: a subscription topic (`/subscriptions/{sub}`), the
//! subject and `resourceUri` with lower-case `resourcegroups` as real events have, `dataVersion "2"`,
//! `authorization`/`claims`/`httpRequest` objects and a `correlationId`. Output is deterministic: ids are
//! UUID v5 of the operation and resource, the time is fixed. Overwrite `id` for distinct deliveries.

use serde_json::{Value, json};
use uuid::Uuid;

use super::classify::{
    CLUSTER_DELETE_OPERATION, CLUSTER_WRITE_OPERATION, COMMAND_TYPE, DELETE_SUCCESS, ROLE_ASSIGNMENT_WRITE_OPERATION, WRITE_SUCCESS,
};
use super::envelope::Schema;
use crate::id::ResourceId;

/// `eventTime` of every built event (7 fractional digits, as Event Grid writes).
pub const BUILT_EVENT_TIME: &str = "2025-06-02T09:41:17.6117357Z";
/// `tenantId` of every built event.
pub const BUILT_TENANT_ID: &str = "72f988bf-0000-4000-8000-00000000f1ee";
/// Caller object ID in the built claims (the "user" who made the change).
const CALLER_OBJECT_ID: &str = "3f2a1c0e-5b7d-4e8f-9a6b-2c4d6e8f0a1b";
/// Caller application ID in the built claims (the Azure CLI's well-known app ID).
const CALLER_APP_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// A `ResourceWriteSuccess` for `Microsoft.ContainerService/managedClusters/write` on `cluster`.
pub fn cluster_write_event(cluster: &ResourceId, schema: Schema) -> Value {
    resource_event(schema, WRITE_SUCCESS, CLUSTER_WRITE_OPERATION, "PUT", "2025-07-01", cluster)
}

/// A `ResourceWriteSuccess` for `Microsoft.Authorization/roleAssignments/write` on `assignment`
/// (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`). Like the real event, it does not
/// say which principal or role: the worker must GET the assignment.
pub fn role_assignment_write_event(assignment: &ResourceId, schema: Schema) -> Value {
    resource_event(schema, WRITE_SUCCESS, ROLE_ASSIGNMENT_WRITE_OPERATION, "PUT", "2022-04-01", assignment)
}

/// A `ResourceDeleteSuccess` for `Microsoft.ContainerService/managedClusters/delete` on `cluster`.
pub fn cluster_delete_event(cluster: &ResourceId, schema: Schema) -> Value {
    resource_event(schema, DELETE_SUCCESS, CLUSTER_DELETE_OPERATION, "DELETE", "2025-07-01", cluster)
}

/// fleetgate's own reconcile command: CloudEvents 1.0, `type` `io.fleetgate.reconcile`, `subject` = cluster.
pub fn reconcile_command(cluster: &ResourceId) -> Value {
    json!({
        "specversion": "1.0",
        "type": COMMAND_TYPE,
        "source": "/fleetgate",
        "id": derived_id("command", cluster).to_string(),
        "time": BUILT_EVENT_TIME,
        "subject": cluster.as_str(),
        "datacontenttype": "application/json",
        "data": {},
    })
}

fn resource_event(schema: Schema, event_type: &str, operation: &str, method: &str, api_version: &str, target: &ResourceId) -> Value {
    let subject = event_subject(target);
    let topic = format!("/subscriptions/{}", target.subscription_id());
    let id = derived_id(operation, target).to_string();
    let data = event_data(operation, method, api_version, target, &subject);
    match schema {
        Schema::EventGrid => json!({
            "subject": subject,
            "eventType": event_type,
            "eventTime": BUILT_EVENT_TIME,
            "id": id,
            "data": data,
            "dataVersion": "2",
            "metadataVersion": "1",
            "topic": topic,
        }),
        Schema::CloudEvents => json!({
            "source": topic,
            "subject": subject,
            "type": event_type,
            "time": BUILT_EVENT_TIME,
            "id": id,
            "data": data,
            "specversion": "1.0",
        }),
    }
}

fn event_data(operation: &str, method: &str, api_version: &str, target: &ResourceId, subject: &str) -> Value {
    let provider = operation.split('/').next().unwrap_or_default();
    json!({
        "authorization": {
            "scope": subject,
            "action": operation,
            "evidence": {
                "role": "Owner",
                "roleAssignmentScope": format!("/subscriptions/{}", target.subscription_id()),
                "roleAssignmentId": derived_id("evidence", target).simple().to_string(),
                "roleDefinitionId": "8e3af657a8ff443ca75c2fe8c4bcb635",
                "principalId": CALLER_OBJECT_ID.replace('-', ""),
                "principalType": "User",
            },
        },
        "claims": {
            "aud": "https://management.core.windows.net/",
            "iss": format!("https://sts.windows.net/{BUILT_TENANT_ID}/"),
            "appid": CALLER_APP_ID,
            "appidacr": "0",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": CALLER_OBJECT_ID,
            "http://schemas.microsoft.com/identity/claims/tenantid": BUILT_TENANT_ID,
            "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation",
            "name": "Fleet Operator",
            "ver": "1.0",
        },
        "correlationId": derived_id("correlation", target).to_string(),
        "httpRequest": {
            "clientRequestId": derived_id("client-request", target).to_string(),
            "clientIpAddress": "203.0.113.10",
            "method": method,
            "url": format!("https://management.azure.com{}?api-version={api_version}", target.as_str()),
        },
        "resourceProvider": provider,
        "resourceUri": subject,
        "operationName": operation,
        "status": "Succeeded",
        "subscriptionId": target.subscription_id(),
        "tenantId": BUILT_TENANT_ID,
    })
}

/// The ID as real events write it: `resourcegroups` in lower case, the rest as given.
fn event_subject(target: &ResourceId) -> String {
    target.as_str().replacen("/resourceGroups/", "/resourcegroups/", 1)
}

fn derived_id(purpose: &str, target: &ResourceId) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("fleetgate-event:{purpose}:{}", target.key()).as_bytes())
}
