//! Classification: what, if anything, a decoded [`Event`] asks fleetgate to do.
//!
//! Nothing in an event is trusted beyond the resource ID it names, and that ID goes through the strict
//! [`ResourceId`] parser and the `scope.subscriptions` allow-list before it is acted on. Everything is
//! decided from the envelope alone: no ARM call is needed to ignore noise.

use super::envelope::{Event, ResourceData, Schema, is_resource_event};
use super::limits::quote;
use super::trigger::{IgnoreReason, ReconcileReason, Trigger};
use crate::config::ScopeSettings;
use crate::id::ResourceId;

/// CloudEvents `type` of fleetgate's own reconcile command (backfill, resync); `subject` = cluster ID.
pub const COMMAND_TYPE: &str = "io.fleetgate.reconcile";
/// Event Grid type of a successful resource write.
pub const WRITE_SUCCESS: &str = "Microsoft.Resources.ResourceWriteSuccess";
/// Event Grid type of a successful resource delete.
pub const DELETE_SUCCESS: &str = "Microsoft.Resources.ResourceDeleteSuccess";
/// Event Grid type of a successful resource action (POST), e.g. listKeys.
pub const ACTION_SUCCESS: &str = "Microsoft.Resources.ResourceActionSuccess";
/// `data.operationName` of a cluster create or update.
pub const CLUSTER_WRITE_OPERATION: &str = "Microsoft.ContainerService/managedClusters/write";
/// `data.operationName` of a cluster delete.
pub const CLUSTER_DELETE_OPERATION: &str = "Microsoft.ContainerService/managedClusters/delete";
/// `data.operationName` of a role-assignment create.
pub const ROLE_ASSIGNMENT_WRITE_OPERATION: &str = "Microsoft.Authorization/roleAssignments/write";
/// Resource type of an AKS cluster.
pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
/// Resource type of a container registry.
pub const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";
/// Resource type of a role assignment.
pub const ROLE_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";
/// An early exit of classification: ignore or reject.
enum Stop {
    Ignore(IgnoreReason),
    Reject(String),
}

impl From<Stop> for Trigger {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Ignore(reason) => Trigger::Ignored { reason },
            Stop::Reject(reason) => Trigger::Rejected { reason },
        }
    }
}

type Step<T> = Result<T, Stop>;

/// Decides what `event` asks for, given what fleetgate may touch. Pure and cheap.
pub fn classify(event: &Event, scope: &ScopeSettings) -> Trigger {
    let step = if event.event_type.eq_ignore_ascii_case(COMMAND_TYPE) { command(event, scope) } else { resource_event(event, scope) };
    step.unwrap_or_else(Trigger::from)
}

fn command(event: &Event, scope: &ScopeSettings) -> Step<Trigger> {
    if event.schema != Schema::CloudEvents {
        return Err(Stop::Reject(format!("{COMMAND_TYPE} commands must be CloudEvents 1.0 events, not {}", event.schema)));
    }
    let subject = event
        .subject
        .as_deref()
        .ok_or_else(|| Stop::Reject(format!("{COMMAND_TYPE} command has no subject; set it to the cluster's resource ID")))?;
    let cluster = parse_id(COMMAND_TYPE, "subject", subject)?;
    check_scope(&cluster, scope)?;
    if !is_exactly(&cluster, CLUSTER_TYPE) {
        return Err(Stop::Reject(format!(
            "{COMMAND_TYPE} command subject {cluster} is not a managed cluster ID (/subscriptions/<guid>/resourceGroups/<rg>/providers/{CLUSTER_TYPE}/<name>)"
        )));
    }
    Ok(Trigger::ReconcileCluster { cluster, reason: ReconcileReason::Command })
}

fn resource_event(event: &Event, scope: &ScopeSettings) -> Step<Trigger> {
    let ty = event.event_type.as_str();
    let write = ty.eq_ignore_ascii_case(WRITE_SUCCESS);
    if !write && !ty.eq_ignore_ascii_case(DELETE_SUCCESS) {
        let unsuccessful = is_resource_event(ty) && (ends_with_ci(ty, "Failure") || ends_with_ci(ty, "Cancel"));
        return Err(Stop::Ignore(if unsuccessful { IgnoreReason::OperationNotSucceeded } else { IgnoreReason::UnsupportedEventType }));
    }
    let data = event.data.as_ref().ok_or_else(|| Stop::Reject(format!("{ty} event has no data object")))?;
    let operation = data
        .operation_name
        .as_deref()
        .ok_or_else(|| Stop::Reject(format!("{ty} event has no data.operationName, so the operation it reports is unknown")))?;
    let is_op = |name: &str| operation.eq_ignore_ascii_case(name);
    if write && is_op(CLUSTER_WRITE_OPERATION) {
        let cluster = target(event, data, scope)?;
        require_exactly(&cluster, CLUSTER_TYPE, IgnoreReason::NotAManagedCluster)?;
        Ok(Trigger::ReconcileCluster { cluster, reason: ReconcileReason::ClusterWrite })
    } else if write && is_op(ROLE_ASSIGNMENT_WRITE_OPERATION) {
        let assignment = target(event, data, scope)?;
        let registry = registry_scope(&assignment)?;
        Ok(Trigger::RoleAssignmentWritten { assignment, registry })
    } else if !write && is_op(CLUSTER_DELETE_OPERATION) {
        let cluster = target(event, data, scope)?;
        require_exactly(&cluster, CLUSTER_TYPE, IgnoreReason::NotAManagedCluster)?;
        Ok(Trigger::ClusterDeleted { cluster })
    } else {
        Err(Stop::Ignore(if write { IgnoreReason::NotAClusterWrite } else { IgnoreReason::NotAClusterDelete }))
    }
}

/// The resource the event is about: `data.resourceUri`, else `subject`; both must agree when both are
/// set, `data.subscriptionId` (when set) must match, and the subscription must be in scope.
fn target(event: &Event, data: &ResourceData, scope: &ScopeSettings) -> Step<ResourceId> {
    let ty = event.event_type.as_str();
    let id = match (data.resource_uri.as_deref(), event.subject.as_deref()) {
        (Some(uri), Some(subject)) => {
            let from_uri = parse_id(ty, "data.resourceUri", uri)?;
            let from_subject = parse_id(ty, "subject", subject)?;
            if from_uri != from_subject {
                return Err(Stop::Reject(format!(
                    "{ty} event names two different resources: data.resourceUri is {from_uri} but subject is {from_subject}"
                )));
            }
            from_uri
        }
        (Some(uri), None) => parse_id(ty, "data.resourceUri", uri)?,
        (None, Some(subject)) => parse_id(ty, "subject", subject)?,
        (None, None) => return Err(Stop::Reject(format!("{ty} event names no resource: it has neither data.resourceUri nor subject"))),
    };
    if let Some(subscription) = data.subscription_id.as_deref()
        && !subscription.eq_ignore_ascii_case(id.subscription_id())
    {
        return Err(Stop::Reject(format!(
            "{ty} event is inconsistent: data.subscriptionId {:?} is not the subscription of {id}",
            quote(subscription)
        )));
    }
    check_scope(&id, scope)?;
    Ok(id)
}

fn parse_id(ty: &str, field: &str, text: &str) -> Step<ResourceId> {
    ResourceId::parse(text).map_err(|e| Stop::Reject(format!("{ty} event field {field}: {e}")))
}

fn check_scope(id: &ResourceId, scope: &ScopeSettings) -> Step<()> {
    if scope.allows(id) { Ok(()) } else { Err(Stop::Ignore(IgnoreReason::OutOfScope)) }
}

/// The registry a role assignment is scoped to, or why the assignment is not interesting.
fn registry_scope(assignment: &ResourceId) -> Step<ResourceId> {
    if !assignment.is_type(ROLE_ASSIGNMENT_TYPE) {
        return Err(Stop::Ignore(IgnoreReason::NotARoleAssignment));
    }
    match assignment.parent() {
        Some(registry) if is_exactly(&registry, REGISTRY_TYPE) => Ok(registry),
        _ => Err(Stop::Ignore(IgnoreReason::NotARegistryScope)),
    }
}

fn require_exactly(id: &ResourceId, ty: &str, otherwise: IgnoreReason) -> Step<()> {
    if is_exactly(id, ty) { Ok(()) } else { Err(Stop::Ignore(otherwise)) }
}

/// True when `id` is a top-level resource of type `ty` directly in a resource group (not a child, not an
/// extension of another resource).
fn is_exactly(id: &ResourceId, ty: &str) -> bool {
    id.is_type(ty) && id.parent().is_some_and(|p| p.resource_type().is_none() && p.resource_group().is_some())
}

fn ends_with_ci(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len() && text.get(text.len() - suffix.len()..).is_some_and(|t| t.eq_ignore_ascii_case(suffix))
}
