//! AKS long-running operations: the `Azure-AsyncOperation` status resource
//! (`/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/operations/{id}`).
//!
//! An operation is `InProgress` until `start + lro_duration`, then takes its configured outcome
//! (`Succeeded` unless the fleet says otherwise). Nothing ticks: the status is computed from `now`.

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

use crate::sim::fleet::LroOutcome;
use crate::sim::http::SimResponse;
use crate::sim::state::SimState;

use super::common;

/// What an operation does to its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// First PUT of a cluster.
    Create,
    /// A PUT of an existing cluster.
    Update,
}

impl OpKind {
    /// `provisioningState` while the operation runs.
    pub fn running_state(self) -> &'static str {
        match self {
            OpKind::Create => "Creating",
            OpKind::Update => "Updating",
        }
    }
}

/// One AKS async operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Operation ID (a GUID).
    pub id: String,
    /// Lower-cased subscription it belongs to.
    pub subscription: String,
    /// Lower-cased location, spaces removed.
    pub location: String,
    /// Create or update.
    pub kind: OpKind,
    /// When it started.
    pub started: Instant,
    /// When it turns terminal.
    pub deadline: Instant,
    /// Terminal status.
    pub outcome: LroOutcome,
}

impl Operation {
    /// True until the deadline.
    pub fn in_progress(&self, now: Instant) -> bool {
        now < self.deadline
    }

    /// `InProgress`, or the terminal status.
    pub fn status_at(&self, now: Instant) -> &'static str {
        if self.in_progress(now) { "InProgress" } else { self.outcome.as_str() }
    }
}

/// Normalises an Azure location for URLs and comparison (`West Europe` → `westeurope`).
pub fn normalize_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase()
}

/// Starts an operation and returns its ID.
pub fn start(state: &mut SimState, sub: &str, location: &str, kind: OpKind, outcome: LroOutcome, now: Instant) -> String {
    let id = state.new_guid();
    let op = Operation {
        id: id.clone(),
        subscription: sub.to_ascii_lowercase(),
        location: normalize_location(location),
        kind,
        started: now,
        deadline: now + state.options.lro_duration,
        outcome,
    };
    state.operations.insert(id.to_ascii_lowercase(), op);
    id
}

/// RFC 3339 wall-clock text for `at`.
pub fn timestamp(state: &SimState, at: Instant) -> String {
    state.wall(at).format(&Rfc3339).unwrap_or_default()
}

/// `GET …/locations/{loc}/operations/{id}`.
pub fn status(state: &SimState, now: Instant, sub: &str, location: &str, id: &str) -> SimResponse {
    let op = state
        .operations
        .get(&id.to_ascii_lowercase())
        .filter(|op| op.subscription == sub.to_ascii_lowercase() && op.location == normalize_location(location));
    let Some(op) = op else {
        return SimResponse::error(
            404,
            "NotFound",
            &format!("Operation '{id}' was not found in location '{location}' of subscription '{sub}'."),
        );
    };
    let status = op.status_at(now);
    let mut body = json!({ "name": op.id, "status": status, "startTime": timestamp(state, op.started) });
    if op.in_progress(now) {
        return SimResponse::json(200, body).with_header("Retry-After", common::secs(state.options.lro_retry_after_secs));
    }
    body["endTime"] = json!(timestamp(state, op.deadline));
    match op.outcome {
        LroOutcome::Succeeded => {}
        LroOutcome::Failed => {
            body["error"] = json!({"code": "ReconcileError", "message": "The simulated operation failed (lro_outcome = \"failed\" in the fleet file)."});
        }
        LroOutcome::Canceled => {
            body["error"] = json!({"code": "OperationCanceled", "message": "The simulated operation was canceled (lro_outcome = \"canceled\" in the fleet file)."});
        }
    }
    SimResponse::json(200, body)
}
