//! Long-running operations: poll `Azure-AsyncOperation` when present, else `Location`, else (a PUT
//! whose body says `provisioningState: Updating` without either header) the resource itself. Each poll
//! waits for the last `Retry-After` (a default interval when there is none; clamped to
//! [`MIN_POLL_INTERVAL`]..=[`MAX_POLL_INTERVAL`]) and goes through the same retry policy and scope guard
//! as any GET: an operation URL is followed unchanged (signed query string and its own api-version
//! included) only when its path is inside `scope.subscriptions`. Stops on `Succeeded`, `Failed` or `Canceled`; the latter two are errors.
//!
//! Not waiting: [`ArmClient::operation`] turns an accepted answer into an [`OperationHandle`] (only what a
//! poll needs: URLs, the call, no body) and [`ArmClient::poll_once`] makes one poll of it with the same
//! parsing, so a caller (the backfill's poller) can follow many operations without a task per wait.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::classify::classify_code;
use super::client::{ArmClient, Req};
use super::endpoint::redact_query;
use super::error::{ApiError, ArmError, Call};
use super::error_body::ErrorBody;
use super::response::ArmResponse;

/// Poll interval when the service sends no `Retry-After`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
/// Floor for `Retry-After: 0`, so a zero hint cannot become a busy loop.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Ceiling for a poll interval: a longer `Retry-After` on an operation is clamped to this, so a broken or
/// hostile hint cannot stall a reconcile until `azure.operation_timeout`.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// A long-running operation that ended `Succeeded`.
#[derive(Debug, Clone, PartialEq)]
pub struct LroOutcome {
    /// The final resource for a PUT/PATCH (re-read after the operation), else the last poll's body
    /// (`Value::Null` when empty).
    pub body: Value,
    /// How many polls it took.
    pub polls: u32,
}

/// What a poll said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Progress {
    Running,
    Succeeded,
    /// `Failed` or `Canceled`, as spelled by the service.
    Ended(String),
}

/// Reads a status string (`status` of an operation, `provisioningState` of a resource).
pub(super) fn progress(status: &str) -> Progress {
    if status.eq_ignore_ascii_case("Succeeded") {
        Progress::Succeeded
    } else if status.eq_ignore_ascii_case("Failed") || status.eq_ignore_ascii_case("Canceled") || status.eq_ignore_ascii_case("Cancelled") {
        Progress::Ended(status.to_string())
    } else {
        Progress::Running
    }
}

/// Where an operation's status is read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The `Azure-AsyncOperation` URL: its `status` field.
    AsyncOperation(Url),
    /// The `Location` URL: 202 while running.
    Location(Url),
    /// The resource itself: its `provisioningState`.
    Resource,
}

/// A long-running operation that was accepted: what [`ArmClient::poll_once`] needs to follow it, and
/// nothing else (no response body), so many can be held at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationHandle {
    call: Call,
    status: u16,
    target: Target,
    resource: Url,
    resource_write: bool,
    retry_after: Option<Duration>,
}

impl OperationHandle {
    /// The request that started the operation (`PUT /subscriptions/…`).
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The `Retry-After` of the answer that accepted it, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// What one poll of an operation said.
#[derive(Debug)]
pub enum PollOutcome {
    /// Still running; the poll answer's `Retry-After`, if any (unclamped: see [`poll_interval`]).
    Running {
        /// The hint of the poll answer.
        retry_after: Option<Duration>,
    },
    /// Ended `Succeeded`: the resource as re-read after a PUT/PATCH, else the last poll's body.
    Succeeded {
        /// The final document.
        body: Value,
    },
    /// Ended `Failed`/`Canceled`: the operation's error code and message.
    Failed(ArmError),
}

impl ArmClient {
    /// The handle of the operation `initial` started: `Ok(None)` when the answer is not long-running
    /// (its body is final), an error when it already says `Failed`/`Canceled` or names a URL on another
    /// origin.
    pub fn operation(&self, initial: &ArmResponse) -> Result<Option<OperationHandle>, ArmError> {
        let call = initial.call();
        let resource_write = matches!(initial.method, "PUT" | "PATCH");
        let target = if let Some(op) = &initial.azure_async_operation {
            Target::AsyncOperation(self.follow(&call, op)?)
        } else if let Some(location) = &initial.location {
            Target::Location(self.follow(&call, location)?)
        } else {
            match initial.provisioning_state().map(progress) {
                Some(Progress::Running) if resource_write => Target::Resource,
                Some(Progress::Ended(status)) => return Err(failure(&call, initial.status, &status, &initial.body)),
                _ => return Ok(None),
            }
        };
        let resource = self.follow(&call, &initial.url)?;
        Ok(Some(OperationHandle { call, status: initial.status, target, resource, resource_write, retry_after: initial.retry_after }))
    }

    /// One poll of `op`, now (no waiting before it; the caller spaces polls). The request goes through
    /// the retry policy, the scope guard and the request hook like any GET; an error is the poll's own
    /// failure (the operation's outcome is unknown), [`PollOutcome::Failed`] the operation's.
    pub async fn poll_once(&self, op: &OperationHandle) -> Result<PollOutcome, ArmError> {
        let deadline = crate::deadline::from_now(self.inner.operation_timeout);
        let call = &op.call;
        let (url, poll_call) = match &op.target {
            Target::AsyncOperation(u) | Target::Location(u) => (u.clone(), Call::new("GET", redact_query(u.path()))),
            Target::Resource => (op.resource.clone(), Call::new("GET", call.resource.clone())),
        };
        let r = self.execute(&Req::get(url, poll_call.clone()), deadline).await?;
        let running = PollOutcome::Running { retry_after: r.retry_after };
        let reread = |last: Value| async move {
            if !op.resource_write {
                return Ok::<_, ArmError>(last);
            }
            let again = self.execute(&Req::get(op.resource.clone(), Call::new("GET", call.resource.clone())), deadline).await?;
            Ok(again.body)
        };
        match &op.target {
            Target::AsyncOperation(_) => match progress(status_field(&r, &poll_call)?) {
                Progress::Running => Ok(running),
                Progress::Ended(s) => Ok(PollOutcome::Failed(failure(call, op.status, &s, &r.body))),
                Progress::Succeeded => Ok(PollOutcome::Succeeded { body: reread(Value::Null).await? }),
            },
            Target::Location(_) if r.status == 202 => Ok(running),
            Target::Location(_) => Ok(PollOutcome::Succeeded { body: reread(r.body).await? }),
            Target::Resource => match r.provisioning_state().map(progress) {
                Some(Progress::Running) => Ok(running),
                Some(Progress::Ended(s)) => Ok(PollOutcome::Failed(failure(call, op.status, &s, &r.body))),
                _ => Ok(PollOutcome::Succeeded { body: r.body }),
            },
        }
    }

    /// Follows a long-running operation started by `initial` until it is terminal, within
    /// `azure.operation_timeout`. A response that is not long-running returns at once with its body.
    pub async fn wait_for_lro(&self, initial: &ArmResponse) -> Result<LroOutcome, ArmError> {
        let call = initial.call();
        self.within_deadline(&call, |deadline| self.poll(initial, call.clone(), deadline)).await
    }

    async fn poll(&self, initial: &ArmResponse, call: Call, deadline: Instant) -> Result<LroOutcome, ArmError> {
        let resource_write = matches!(initial.method, "PUT" | "PATCH");
        if let Some(op) = &initial.azure_async_operation {
            let polls = self.poll_operation(initial, &call, op, deadline).await?;
            let body = if resource_write { self.reread(initial, &call, deadline).await? } else { Value::Null };
            return Ok(LroOutcome { body, polls });
        }
        if let Some(location) = &initial.location {
            let (last, polls) = self.poll_location(initial, &call, location, deadline).await?;
            let body = if resource_write { self.reread(initial, &call, deadline).await? } else { last };
            return Ok(LroOutcome { body, polls });
        }
        match initial.provisioning_state().map(progress) {
            Some(Progress::Running) if resource_write => self.poll_resource(initial, &call, deadline).await,
            Some(Progress::Ended(status)) => Err(failure(&call, initial.status, &status, &initial.body)),
            _ => Ok(LroOutcome { body: initial.body.clone(), polls: 0 }),
        }
    }

    /// Polls an `Azure-AsyncOperation` URL until its `status` is terminal.
    async fn poll_operation(&self, initial: &ArmResponse, call: &Call, op: &str, deadline: Instant) -> Result<u32, ArmError> {
        let url = self.follow(call, op)?;
        let poll_call = Call::new("GET", redact_query(url.path()));
        let mut wait = initial.retry_after;
        for polls in 1.. {
            pause(wait).await;
            let r = self.execute(&Req::get(url.clone(), poll_call.clone()), deadline).await?;
            match progress(status_field(&r, &poll_call)?) {
                Progress::Succeeded => return Ok(polls),
                Progress::Ended(s) => return Err(failure(call, initial.status, &s, &r.body)),
                Progress::Running => wait = r.retry_after,
            }
        }
        unreachable!("the poll loop only ends by returning")
    }

    /// Polls a `Location` URL while it answers 202; returns the final body.
    async fn poll_location(&self, initial: &ArmResponse, call: &Call, location: &str, deadline: Instant) -> Result<(Value, u32), ArmError> {
        let url = self.follow(call, location)?;
        let poll_call = Call::new("GET", redact_query(url.path()));
        let mut wait = initial.retry_after;
        for polls in 1.. {
            pause(wait).await;
            let r = self.execute(&Req::get(url.clone(), poll_call.clone()), deadline).await?;
            if r.status != 202 {
                return Ok((r.body, polls));
            }
            wait = r.retry_after;
        }
        unreachable!("the poll loop only ends by returning")
    }

    /// Re-reads the resource until its `provisioningState` is terminal.
    async fn poll_resource(&self, initial: &ArmResponse, call: &Call, deadline: Instant) -> Result<LroOutcome, ArmError> {
        let url = self.follow(call, &initial.url)?;
        let mut wait = initial.retry_after;
        for polls in 1.. {
            pause(wait).await;
            let r = self.execute(&Req::get(url.clone(), Call::new("GET", call.resource.clone())), deadline).await?;
            match r.provisioning_state().map(progress) {
                Some(Progress::Running) => wait = r.retry_after,
                Some(Progress::Ended(s)) => return Err(failure(call, initial.status, &s, &r.body)),
                _ => return Ok(LroOutcome { body: r.body, polls }),
            }
        }
        unreachable!("the poll loop only ends by returning")
    }

    /// GETs the resource a PUT/PATCH wrote, at the same URL and api-version.
    async fn reread(&self, initial: &ArmResponse, call: &Call, deadline: Instant) -> Result<Value, ArmError> {
        let url = self.follow(call, &initial.url)?;
        let r = self.execute(&Req::get(url, Call::new("GET", call.resource.clone())), deadline).await?;
        Ok(r.body)
    }
}

/// Sleeps for the service's hint, the default interval without one, within the floor and the ceiling.
/// The `status` of an operation status document (an `Azure-AsyncOperation` poll answer).
fn status_field<'a>(r: &'a ArmResponse, poll_call: &Call) -> Result<&'a str, ArmError> {
    r.body.get("status").and_then(Value::as_str).ok_or_else(|| ArmError::Decode {
        call: poll_call.clone(),
        status: r.status,
        message: "the operation status has no `status` field".into(),
    })
}

async fn pause(retry_after: Option<Duration>) {
    tokio::time::sleep(poll_interval(retry_after)).await;
}

/// The wait before the next poll: the service's hint, the default interval without one, within the
/// floor and the ceiling.
pub fn poll_interval(retry_after: Option<Duration>) -> Duration {
    retry_after.unwrap_or(DEFAULT_POLL_INTERVAL).clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL)
}

/// The error for an operation that ended `Failed`/`Canceled`, with the code and message of its body's
/// `error` (classified by code alone).
pub(super) fn failure(call: &Call, status: u16, operation_status: &str, body: &Value) -> ArmError {
    let e = ErrorBody::from_value(body);
    let disposition = classify_code(e.code.as_deref());
    let message = e.message.unwrap_or_else(|| "the service gave no error message".into());
    ArmError::Api(Box::new(ApiError {
        call: call.clone(),
        status,
        code: e.code,
        message,
        disposition,
        operation_status: Some(operation_status.to_string()),
        attempts: 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::classify::Disposition;
    use serde_json::json;

    #[test]
    fn statuses() {
        assert_eq!(progress("Succeeded"), Progress::Succeeded);
        assert_eq!(progress("succeeded"), Progress::Succeeded);
        assert_eq!(progress("Failed"), Progress::Ended("Failed".into()));
        assert_eq!(progress("Canceled"), Progress::Ended("Canceled".into()));
        for running in ["InProgress", "Updating", "Creating", "Accepted", "Running", ""] {
            assert_eq!(progress(running), Progress::Running, "{running}");
        }
    }

    #[test]
    fn poll_intervals_are_clamped() {
        assert_eq!(poll_interval(None), DEFAULT_POLL_INTERVAL);
        assert_eq!(poll_interval(Some(Duration::ZERO)), MIN_POLL_INTERVAL);
        assert_eq!(poll_interval(Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(poll_interval(Some(Duration::from_secs(3600))), MAX_POLL_INTERVAL);
        assert_eq!(poll_interval(Some(Duration::MAX)), MAX_POLL_INTERVAL);
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_operation_retry_after_waits_at_most_the_ceiling() {
        let started = Instant::now();
        pause(Some(Duration::from_secs(86_400))).await;
        assert_eq!(started.elapsed(), MAX_POLL_INTERVAL);
        let started = Instant::now();
        pause(Some(Duration::MAX)).await;
        assert_eq!(started.elapsed(), MAX_POLL_INTERVAL);
    }

    #[test]
    fn failure_carries_code_and_disposition() {
        let body = json!({"status": "Failed", "error": {"code": "OperationNotAllowed", "message": "another op"}});
        let e = failure(&Call::new("PUT", "/subscriptions/s/c"), 201, "Failed", &body);
        assert_eq!(e.code(), Some("OperationNotAllowed"));
        assert_eq!(e.disposition(), Disposition::WaitForTerminalState);
        assert_eq!(e.metric_label(), "operation_failed");
        let text = e.to_string();
        assert!(
            text.contains("PUT /subscriptions/s/c: the long-running operation ended Failed (OperationNotAllowed): another op"),
            "{text}"
        );
        let bare = failure(&Call::new("PUT", "/x"), 201, "Canceled", &json!({"status": "Canceled"}));
        assert_eq!(bare.disposition(), Disposition::Fatal);
        assert!(bare.to_string().contains("ended Canceled"));
    }
}
