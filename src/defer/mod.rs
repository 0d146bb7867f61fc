//! Deferral (pure): what the Service Bus worker schedules when a reconcile stopped on a running AKS
//! operation ([`Pending`]), so that no concurrency slot is held on Azure's clock.
//!
//! A deferral is an `io.fleetgate.reconcile` command for the cluster, sent with
//! `ScheduledEnqueueTimeUtc` = now + delay, carrying a [`DeferState`] in `data.deferral`: the chain it
//! belongs to, its generation, when the cluster was first found busy and (after fleetgate's own cluster
//! PUT) the operation URL to poll. The delay starts at `defer.interval` and doubles per generation up to
//! `defer.max_interval` (a longer `Retry-After` from the service wins, within `max_interval`); past
//! `defer.max_wait` since the first deferral the chain ends [`DeferError::Expired`].
//!
//! The `MessageId` is derived from the chain (the `id` of the event that started it), the generation and
//! the cluster, so a redelivered original (a crash between the scheduled send and the completion) or a
//! second replica produces the same `MessageId` and the queue's duplicate detection drops the repeat.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::DeferSettings;
use crate::fleet::commands::command_message;
use crate::id::ResourceId;
use crate::queue::OutgoingMessage;
use crate::reconcile::Pending;

/// The `fleetgate-origin` user property of a deferral command.
pub const ORIGIN: &str = "defer";
/// The key of the [`DeferState`] in the command's `data`.
pub const DATA_KEY: &str = "deferral";
/// Longest chain ID accepted from a message (a Service Bus `MessageId` is at most 128 characters).
const MAX_CHAIN_LEN: usize = 128;

/// What a deferral command carries in `data.deferral`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferState {
    /// The `id` of the event that started the chain.
    pub chain: String,
    /// Deferrals so far in this chain (1 for the first scheduled command).
    pub generation: u32,
    /// When the cluster was first found busy (Unix seconds).
    pub first_seen: i64,
    /// The long-running operation of fleetgate's cluster PUT, to poll once when the command is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// A deferral to send: the command and when it becomes visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The command (deterministic `MessageId`).
    pub message: OutgoingMessage,
    /// `ScheduledEnqueueTimeUtc`.
    pub at: OffsetDateTime,
    /// `at` − now.
    pub delay: Duration,
    /// What it carries.
    pub state: DeferState,
}

/// Why no further deferral is scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeferError {
    /// `defer.max_wait` passed since the cluster was first found busy.
    #[error(
        "{cluster}: still {state} {waited_s} s after fleetgate first found it busy (defer.max_wait = {max_wait_s} s); fleetgate stopped re-checking it — check the cluster's operation in the Azure portal or activity log; the next event for it or the drift resync reconciles it again (raise defer.max_wait if AKS operations here take longer)"
    )]
    Expired {
        /// The cluster.
        cluster: String,
        /// Its last observed `provisioningState`.
        state: String,
        /// Seconds since the first deferral.
        waited_s: i64,
        /// `defer.max_wait` in seconds.
        max_wait_s: u64,
    },
}

impl DeferError {
    /// Never retryable: the message is completed with outcome `failed` (reported once, not retried forever).
    pub fn is_transient(&self) -> bool {
        false
    }
}

/// The [`DeferState`] of a command body, if it carries a well-formed one (anything else: `None`, the
/// command is a plain reconcile).
pub fn read_state(body: &[u8]) -> Option<DeferState> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let state: DeferState = serde_json::from_value(value.get("data")?.get(DATA_KEY)?.clone()).ok()?;
    let sane = state.generation >= 1 && !state.chain.is_empty() && state.chain.len() <= MAX_CHAIN_LEN;
    sane.then_some(state)
}

/// The delay before re-check number `generation` (1-based): `interval` doubling up to `max_interval`,
/// or the service's `retry_after` when longer (still within `max_interval`).
pub fn delay(settings: &DeferSettings, generation: u32, retry_after: Option<Duration>) -> Duration {
    let doublings = generation.saturating_sub(1).min(20);
    let backoff = settings.interval.saturating_mul(1 << doublings).min(settings.max_interval);
    backoff.max(retry_after.unwrap_or_default().min(settings.max_interval))
}

/// The `MessageId` of generation `generation` of chain `chain` for `cluster`: UUID v5, so repeats collapse.
pub fn message_id(cluster: &ResourceId, chain: &str, generation: u32) -> String {
    let name = format!("fleetgate-command:defer:{chain}:{generation}:{}", cluster.key());
    Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

/// The next deferral of `pending`, continuing `prior` (the state of the command being handled) or
/// starting a chain named `chain`; `Expired` past `defer.max_wait`.
pub fn schedule(
    prior: Option<&DeferState>,
    chain: &str,
    pending: &Pending,
    settings: &DeferSettings,
    now: OffsetDateTime,
) -> Result<Scheduled, DeferError> {
    let now_s = now.unix_timestamp();
    let first_seen = prior.map_or(now_s, |p| p.first_seen.min(now_s));
    let waited_s = now_s - first_seen;
    if u64::try_from(waited_s).unwrap_or(0) >= settings.max_wait.as_secs() {
        return Err(DeferError::Expired {
            cluster: pending.cluster.to_string(),
            state: pending.state.clone(),
            waited_s,
            max_wait_s: settings.max_wait.as_secs(),
        });
    }
    let generation = prior.map_or(1, |p| p.generation.saturating_add(1));
    let chain = prior.map_or(chain, |p| p.chain.as_str()).chars().take(MAX_CHAIN_LEN).collect::<String>();
    let state = DeferState { chain, generation, first_seen, operation: pending.operation.clone() };
    let delay = delay(settings, generation, pending.retry_after);
    let at = now + delay;
    let mut message = command_message(&pending.cluster, message_id(&pending.cluster, &state.chain, generation), now, ORIGIN);
    message.body = with_state(&message.body, &state);
    Ok(Scheduled { message, at, delay, state })
}

/// The command body with `data.deferral` set.
fn with_state(body: &str, state: &DeferState) -> String {
    let Ok(mut event) = serde_json::from_str::<Value>(body) else { return body.to_string() };
    if let (Some(data), Ok(s)) = (event.get_mut("data").and_then(Value::as_object_mut), serde_json::to_value(state)) {
        data.insert(DATA_KEY.into(), s);
    }
    event.to_string()
}

#[cfg(test)]
mod tests;
