//! The backfill's one shared poller: follows the long-running operations of accepted cluster PUTs, and
//! waits for clusters found `Creating`/`Updating`, **outside** `backfill.concurrency` — a slot is spent
//! on requests, never on Azure's clock.
//!
//! **Spacing** ([`next_poll`]): the first poll after the `Retry-After` of the answer (clamped as in
//! `arm::lro`) or, without one, 10 s after the PUT was accepted (or the cluster parked); then every
//! quarter of the time the operation has been running, at least the last `Retry-After` (or 10 s) and
//! at most [`MAX_POLL_INTERVAL`] (60 s). A short hint is followed at first (a 3 s operation with
//! `Retry-After: 1` is seen at once) and the spacing still grows with the running time.
//! A managed-cluster update runs for minutes (the recorded AKS update: 1 min 36 s; a create: ~5 min)
//! and AKS sends no `Retry-After`; polling every 2 s would spend ~60 reads on one update. With this
//! schedule a 2-minute update costs 9 polls and is seen ended at most a quarter of its duration late
//! (2 s late for 120 s: polls at 10, 20, 30, 40, 50, 62, 78, 98, 122 s); a 5-minute create 13 polls.
//!
//! Every poll is an ordinary ARM GET through the client, so the run's per-subscription read budget
//! (`budget`, the client's request hook) paces and counts it with everything else. An operation still
//! running after `azure.operation_timeout` ends with a timeout error (the cluster is reported failed).
//!
//! **Memory**: one small future per waiting cluster, holding its [`Submitted`] (the operation handle,
//! the written document for the read-back) or its pending view; nothing per poll is kept.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use tokio::time::Instant;

use crate::arm::{ArmClient, ArmError, Call, MAX_POLL_INTERVAL, PollOutcome, TimeoutKind, poll_interval};
use crate::id::ResourceId;
use crate::reconcile::Submitted;

/// The first poll after a PUT was accepted (or a busy cluster parked), and the shortest spacing.
pub const FIRST_POLL: Duration = Duration::from_secs(10);

/// The wait before the next poll of something running for `running_for` whose last answer said
/// `retry_after` (see the module docs): a quarter of the running time, at most 60 s, at least the
/// service's hint (clamped as in `arm::lro`) or, without one, [`FIRST_POLL`].
pub fn next_poll(running_for: Duration, retry_after: Option<Duration>) -> Duration {
    let floor = retry_after.map_or(FIRST_POLL, |r| poll_interval(Some(r)));
    (running_for / 4).max(floor).min(MAX_POLL_INTERVAL)
}

/// What ended waiting.
#[derive(Debug)]
pub enum Ended<P> {
    /// An operation ended: the final document, or its error (or its polls').
    Operation(usize, Box<Submitted>, Result<Value, ArmError>),
    /// A parked cluster left its transitional state (or reading it failed): its job can start again.
    Settled(usize, ResourceId, P, Result<(), ArmError>),
}

/// The shared poller of one run; `P` is what a parked cluster's job needs to start again.
pub struct Poller<'a, P> {
    arm: &'a ArmClient,
    cluster_api: &'a str,
    timeout: Duration,
    waiting: FuturesUnordered<LocalBoxFuture<'a, Ended<P>>>,
}

impl<'a, P: 'a> Poller<'a, P> {
    /// An empty poller; `timeout` is `azure.operation_timeout`.
    pub fn new(arm: &'a ArmClient, cluster_api: &'a str, timeout: Duration) -> Self {
        Self { arm, cluster_api, timeout, waiting: FuturesUnordered::new() }
    }

    /// Operations and parked clusters being waited on.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Nothing is waited on.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The next wait that ended (`None` when nothing is waited on).
    pub fn next(&mut self) -> impl Future<Output = Option<Ended<P>>> + '_ {
        self.waiting.next()
    }

    /// Follows the operation of job `i` until it ends.
    pub fn follow(&mut self, i: usize, submitted: Box<Submitted>) {
        let (arm, timeout) = (self.arm, self.timeout);
        self.waiting.push(Box::pin(async move {
            let mut hint = submitted.operation().retry_after();
            loop {
                tokio::time::sleep(next_poll(submitted.running_for(), hint)).await;
                if submitted.running_for() > timeout {
                    let e = timed_out(submitted.operation().call().clone(), timeout);
                    return Ended::Operation(i, submitted, Err(e));
                }
                match arm.poll_once(submitted.operation()).await {
                    Ok(PollOutcome::Running { retry_after }) => hint = retry_after,
                    Ok(PollOutcome::Succeeded { body }) => return Ended::Operation(i, submitted, Ok(body)),
                    Ok(PollOutcome::Failed(e)) | Err(e) => return Ended::Operation(i, submitted, Err(e)),
                }
            }
        }));
    }

    /// Parks job `i`'s cluster, found in a transitional state, until a GET shows it terminal.
    pub fn park(&mut self, i: usize, cluster: ResourceId, pending: P) {
        let (arm, api, timeout) = (self.arm, self.cluster_api, self.timeout);
        self.waiting.push(Box::pin(async move {
            let since = Instant::now();
            loop {
                tokio::time::sleep(next_poll(since.elapsed(), None)).await;
                if since.elapsed() > timeout {
                    let e = timed_out(Call::new("GET", cluster.as_str()), timeout);
                    return Ended::Settled(i, cluster, pending, Err(e));
                }
                match arm.get(cluster.as_str(), api).await {
                    Ok(Some(r)) if r.provisioning_state().is_some_and(is_transitional) => continue,
                    // Terminal, or gone: the job reads it again and reports what it finds.
                    Ok(_) => return Ended::Settled(i, cluster, pending, Ok(())),
                    Err(e) => return Ended::Settled(i, cluster, pending, Err(e)),
                }
            }
        }));
    }
}

/// A `provisioningState` other than `Succeeded`/`Failed`/`Canceled`.
fn is_transitional(state: &str) -> bool {
    !["succeeded", "failed", "canceled", "cancelled"].iter().any(|t| state.eq_ignore_ascii_case(t))
}

fn timed_out(call: Call, after: Duration) -> ArmError {
    ArmError::Timeout { call, kind: TimeoutKind::Operation, after }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn first_polls_are_ten_seconds_apart_then_a_quarter_of_the_running_time() {
        assert_eq!(next_poll(Duration::ZERO, None), FIRST_POLL);
        assert_eq!(next_poll(s(30), None), s(10));
        assert_eq!(next_poll(s(80), None), s(20));
        assert_eq!(next_poll(s(200), None), s(50));
        assert_eq!(next_poll(s(3600), None), MAX_POLL_INTERVAL, "never more than 60 s apart");
    }

    #[test]
    fn a_two_minute_update_costs_nine_polls_and_is_seen_within_a_quarter() {
        let (mut t, mut polls) = (Duration::ZERO, 0);
        while t < s(120) {
            t += next_poll(t, None);
            polls += 1;
        }
        assert_eq!(polls, 9);
        assert!(t - s(120) <= s(30), "seen {t:?}");
    }

    #[test]
    fn retry_after_is_followed_within_the_clamp_and_the_spacing_still_grows() {
        assert_eq!(next_poll(Duration::ZERO, Some(s(25))), s(25));
        assert_eq!(next_poll(Duration::ZERO, Some(s(1))), s(1), "the first poll after the hint");
        assert_eq!(next_poll(s(80), Some(s(1))), s(20), "a short hint does not keep polls 1 s apart");
        assert_eq!(next_poll(s(400), Some(s(50))), s(60));
        assert_eq!(next_poll(Duration::ZERO, Some(Duration::ZERO)), Duration::from_millis(50), "Retry-After: 0 is floored as in arm::lro");
        assert_eq!(next_poll(Duration::ZERO, Some(s(86_400))), MAX_POLL_INTERVAL);
        assert_eq!(next_poll(Duration::ZERO, Some(Duration::MAX)), MAX_POLL_INTERVAL);
    }

    #[test]
    fn transitional_states() {
        assert!(is_transitional("Updating") && is_transitional("Creating"));
        assert!(!is_transitional("Succeeded") && !is_transitional("failed") && !is_transitional("Canceled"));
    }
}
