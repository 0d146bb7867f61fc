//! AKS long-running operations: the `Azure-AsyncOperation` status resource
//! (`/subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/operations/{id}`) and the
//! `operationresults` resource beside it.
//!
//! As recorded from live AKS (tests/fixtures/recorded/sim/SOURCES.md): the URL names the region, carries
//! its own api-version (`2025-03-01`, not the cluster's) and long signed query parameters (`t` = .NET
//! ticks of the start, `c` = a base64url certificate, `s` = a base64url signature, `h` = a base64url
//! hash); a poll answers `200 {"name","status":"InProgress","startTime"}` and finally adds `endTime`.
//! No `Retry-After` unless `sim.lro_retry_after_secs` is set.
//!
//! A create runs `create_duration`, an update `update_duration` (see `SimOptions`), then takes its
//! configured outcome (`Succeeded` unless the fleet says otherwise). Nothing ticks: the status is
//! computed from `now`.

use std::time::Duration;

use base64::Engine as _;
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
    /// .NET ticks of the start (`t=`) and the seed of the signed query's `c`/`s`/`h` values: fixed at
    /// start, rebuilt on demand (a fleet's worth of 3 kB URLs is not kept in memory).
    pub signature: (i128, u64),
}

/// The api-version AKS puts on its operation URLs (recorded 2026-04-24; older recordings show
/// `2016-03-30`).
pub const OPERATION_API_VERSION: &str = "2025-03-01";

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

/// Starts an operation that runs the configured create or update duration and returns its ID.
pub fn start(state: &mut SimState, sub: &str, location: &str, kind: OpKind, outcome: LroOutcome, now: Instant) -> String {
    let duration = match kind {
        OpKind::Create => state.options.effective_create_duration(),
        OpKind::Update => state.options.effective_update_duration(),
    };
    start_for(state, sub, location, kind, outcome, now, duration)
}

/// Starts an operation that runs `duration` (already scaled) and returns its ID.
pub fn start_for(
    state: &mut SimState,
    sub: &str,
    location: &str,
    kind: OpKind,
    outcome: LroOutcome,
    now: Instant,
    duration: Duration,
) -> String {
    let id = state.new_guid();
    let signature = signature(state, now);
    let op = Operation {
        id: id.clone(),
        subscription: sub.to_ascii_lowercase(),
        location: normalize_location(location),
        kind,
        started: now,
        deadline: now + duration,
        outcome,
        signature,
    };
    state.operations.insert(id.to_ascii_lowercase(), op);
    id
}

/// The `t` ticks and the seed of an operation's signed query.
fn signature(state: &mut SimState, now: Instant) -> (i128, u64) {
    let wall = state.wall(now);
    // .NET ticks: 100 ns since 0001-01-01.
    let ticks = i128::from(wall.unix_timestamp() + 62_135_596_800) * 10_000_000 + i128::from(wall.nanosecond() / 100);
    (ticks, state.rng.u64(..))
}

/// `t=…&c=…&s=…&h=…` shaped like ARM's signed async-operation URLs (sizes as recorded: a ~1.9 kB
/// certificate, a 256-byte signature, a 32-byte hash, all base64url without padding).
fn signed_query((ticks, seed): (i128, u64)) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut blob = |len: usize| {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let (c, s, h) = (blob(1912), blob(256), blob(32));
    format!("t={ticks}&c={c}&s={s}&h={h}")
}

/// The `Azure-AsyncOperation` URL of `op`.
pub fn status_url(base_url: &str, op: &Operation) -> String {
    op_url(base_url, op, "operations")
}

/// The `Location` (`operationresults`) URL of `op`.
pub fn result_url(base_url: &str, op: &Operation) -> String {
    op_url(base_url, op, "operationresults")
}

fn op_url(base_url: &str, op: &Operation, kind: &str) -> String {
    format!(
        "{base_url}/subscriptions/{}/providers/Microsoft.ContainerService/locations/{}/{kind}/{}?api-version={OPERATION_API_VERSION}&{}",
        op.subscription,
        op.location,
        op.id,
        signed_query(op.signature)
    )
}

fn find<'a>(state: &'a SimState, sub: &str, location: &str, id: &str) -> Result<&'a Operation, SimResponse> {
    state
        .operations
        .get(&id.to_ascii_lowercase())
        .filter(|op| op.subscription == sub.to_ascii_lowercase() && op.location == normalize_location(location))
        .ok_or_else(|| {
            SimResponse::error(
                404,
                "NotFound",
                &format!("Operation '{id}' was not found in location '{location}' of subscription '{sub}'."),
            )
        })
}

fn with_retry_after(state: &SimState, resp: SimResponse) -> SimResponse {
    match state.options.lro_retry_after_secs {
        Some(secs) => resp.with_header("Retry-After", common::secs(secs)),
        None => resp,
    }
}

/// `GET …/locations/{loc}/operationresults/{id}`: `202` (with `Location`) while it runs, then `204`
/// after success, or the operation's error with `400` after a failure or cancellation. (No recording
/// shows AKS answering this URL; this follows the ARM async-operation contract.)
pub fn result(state: &SimState, req_base: &str, now: Instant, sub: &str, location: &str, id: &str) -> SimResponse {
    let op = match find(state, sub, location, id) {
        Ok(op) => op,
        Err(resp) => return resp,
    };
    if op.in_progress(now) {
        return with_retry_after(state, SimResponse::empty(202).with_header("Location", result_url(req_base, op)));
    }
    match op.outcome {
        LroOutcome::Succeeded => SimResponse::empty(204),
        _ => {
            let body = status_body(state, op, now);
            SimResponse::json(400, json!({"error": body["error"].clone()}))
        }
    }
}

/// Wall-clock text for `at` as AKS writes it: RFC 3339 UTC with seven fractional digits
/// (`2026-04-24T02:41:21.5371472Z`).
pub fn timestamp(state: &SimState, at: Instant) -> String {
    let wall = state.wall(at).to_offset(time::UtcOffset::UTC);
    let base = wall.replace_nanosecond(0).ok().and_then(|w| w.format(&Rfc3339).ok()).unwrap_or_default();
    match base.strip_suffix('Z') {
        Some(stem) => format!("{stem}.{:07}Z", wall.nanosecond() / 100),
        None => base,
    }
}

/// `GET …/locations/{loc}/operations/{id}`.
pub fn status(state: &SimState, now: Instant, sub: &str, location: &str, id: &str) -> SimResponse {
    match find(state, sub, location, id) {
        Ok(op) if op.in_progress(now) => with_retry_after(state, SimResponse::json(200, status_body(state, op, now))),
        Ok(op) => SimResponse::json(200, status_body(state, op, now)),
        Err(resp) => resp,
    }
}

/// The status document at `now`.
fn status_body(state: &SimState, op: &Operation, now: Instant) -> serde_json::Value {
    let mut body = json!({ "name": op.id, "status": op.status_at(now), "startTime": timestamp(state, op.started) });
    if op.in_progress(now) {
        return body;
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
    body
}
