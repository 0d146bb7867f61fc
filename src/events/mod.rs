//! Events → triggers: the pure front of the worker.
//!
//! A message body from the queue (or a line of a replay file) is [`decode`]d into an [`Event`] (Event
//! Grid schema or CloudEvents 1.0, object or one-element array, at most [`limits::MAX_BODY_BYTES`]), then
//! [`classify`]d against `scope` into a [`Trigger`]: reconcile a cluster, look at a role assignment
//! written on a registry, a cluster was deleted, ignore (with a stable [`IgnoreReason`] label), or
//! reject (with an operator-readable reason for the poison queue). No IO, no async, no ARM calls.
//!
//! - `envelope`: [`Event`], [`Schema`], [`decode`].
//! - `json`: duplicate-key-rejecting JSON parsing and typed field access.
//! - `error`: [`DecodeError`].
//! - `limits`: body and field size limits.
//! - `trigger`: [`Trigger`], [`IgnoreReason`], [`ReconcileReason`].
//! - `classify`: [`classify`] and the event-type, operation and resource-type constants.
//! - `build`: real-shaped events for tests and the demo ([`cluster_write_event`], …).

mod build;
mod classify;
mod envelope;
mod error;
mod json;
pub mod limits;
mod trigger;

pub use build::{
    BUILT_EVENT_TIME, BUILT_TENANT_ID, cluster_delete_event, cluster_write_event, reconcile_command, role_assignment_write_event,
};
pub use classify::{
    ACTION_SUCCESS, CLUSTER_DELETE_OPERATION, CLUSTER_TYPE, CLUSTER_WRITE_OPERATION, COMMAND_TYPE, DELETE_SUCCESS, REGISTRY_TYPE,
    ROLE_ASSIGNMENT_TYPE, ROLE_ASSIGNMENT_WRITE_OPERATION, WRITE_SUCCESS, classify,
};
pub use envelope::{Event, ResourceData, Schema, decode};
pub use error::DecodeError;
pub use trigger::{IgnoreReason, ReconcileReason, Trigger};

#[cfg(test)]
mod tests;
