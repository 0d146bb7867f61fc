//! One poll of a long-running operation, without waiting: the Service Bus worker's deferred re-check of
//! fleetgate's own cluster PUT (the operation URL travels in the scheduled command). The URL passes the
//! same origin and scope guards as every followed link, and the request the same retry policy as a GET.

use std::time::Duration;

use serde_json::Value;

use super::client::{ArmClient, Req};
use super::endpoint::redact_query;
use super::error::{ArmError, Call};
use super::lro::{Progress, failure, progress};

/// What one poll of an operation said.
#[derive(Debug)]
pub enum OperationStatus {
    /// Still running; the service's `Retry-After`, when it sent one.
    Running {
        /// `Retry-After` of the poll.
        retry_after: Option<Duration>,
    },
    /// Ended `Succeeded`.
    Succeeded,
    /// Ended `Failed` or `Canceled`: the operation's error (code, message, classification).
    Ended(ArmError),
}

impl ArmClient {
    /// Polls `url` (an `Azure-AsyncOperation` or `Location` URL of a write on `resource`) once: an
    /// operation status document is read by its `status`; a `Location` answer is running while it says 202.
    pub async fn operation_status(&self, resource: &str, url: &str) -> Result<OperationStatus, ArmError> {
        let call = Call::new("PUT", resource.to_string());
        let url = self.follow(&call, url)?;
        let poll_call = Call::new("GET", redact_query(url.path()));
        let req = Req::get(url, poll_call.clone());
        let r = self.within_deadline(&poll_call, |deadline| self.execute(&req, deadline)).await?;
        let status = match r.body.get("status").and_then(Value::as_str) {
            Some(status) => progress(status),
            None if r.status == 202 => Progress::Running,
            None => Progress::Succeeded,
        };
        Ok(match status {
            Progress::Running => OperationStatus::Running { retry_after: r.retry_after },
            Progress::Succeeded => OperationStatus::Succeeded,
            Progress::Ended(s) => OperationStatus::Ended(failure(&call, r.status, &s, &r.body)),
        })
    }
}
