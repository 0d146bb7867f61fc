//! Retries inside the client, driven by the classifier: `Retryable` with exponential backoff and
//! jitter (backon), `RetryAfter(d)` waits exactly `d` (the server always wins, but the attempt cap
//! still holds), `ReplicationDelay` keeps retrying until `principal_not_found_window` has passed since
//! the first `PrincipalNotFound`. Everything else goes back to the caller at once. No retry sleeps past
//! the operation deadline.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBackoff, ExponentialBuilder, Retryable};
use tokio::time::Instant;

use super::classify::Disposition;
use super::error::ArmError;
use super::stats::Counters;
use crate::config::RetrySettings;

/// The retry policy of a client, from `[azure.retry]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// First backoff delay.
    pub initial_backoff: Duration,
    /// Backoff cap (jitter included); a server's `Retry-After` may exceed it.
    pub max_backoff: Duration,
    /// How long `PrincipalNotFound` is retried, from its first occurrence.
    pub principal_not_found_window: Duration,
}

impl From<&RetrySettings> for RetryPolicy {
    fn from(s: &RetrySettings) -> Self {
        Self {
            max_attempts: s.max_attempts.max(1),
            initial_backoff: s.initial_backoff,
            max_backoff: s.max_backoff,
            principal_not_found_window: s.principal_not_found_window,
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
    }

    /// The delay before the next attempt, or `None` to give up and return the error.
    ///
    /// - `policy_delay`: the exponential backoff's next value (`None` once `max_attempts` is used up).
    /// - `replication_elapsed`: time since the first `PrincipalNotFound` of this call.
    /// - `remaining`: time left before the operation deadline.
    pub fn next_delay(
        &self,
        disposition: Disposition,
        policy_delay: Option<Duration>,
        replication_elapsed: Duration,
        remaining: Duration,
    ) -> Option<Duration> {
        let delay = match disposition {
            Disposition::Retryable => policy_delay.map(|d| d.min(self.max_backoff)),
            Disposition::RetryAfter(hint) => policy_delay.map(|_| hint),
            Disposition::ReplicationDelay => {
                let left = self.principal_not_found_window.checked_sub(replication_elapsed).filter(|d| !d.is_zero())?;
                Some(policy_delay.unwrap_or(self.max_backoff).min(self.max_backoff).min(left))
            }
            _ => None,
        }?;
        (delay <= remaining).then_some(delay)
    }
}

/// Runs `op` (given the 1-based attempt number) until it succeeds or the policy gives up.
pub(crate) async fn with_retry<T, F, Fut>(policy: &RetryPolicy, deadline: Instant, counters: &Counters, mut op: F) -> Result<T, ArmError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ArmError>>,
{
    let attempt = AtomicU32::new(0);
    let replication_since: Mutex<Option<Instant>> = Mutex::new(None);
    let backoff: ExponentialBackoff = backon::BackoffBuilder::build(policy.backoff());
    (|| op(attempt.fetch_add(1, Ordering::Relaxed) + 1))
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &ArmError| e.disposition().is_retried_in_client())
        .adjust(|e: &ArmError, policy_delay| {
            let disposition = e.disposition();
            let now = Instant::now();
            let elapsed = match disposition {
                Disposition::ReplicationDelay => {
                    let mut since = replication_since.lock().unwrap_or_else(|p| p.into_inner());
                    now.duration_since(*since.get_or_insert(now))
                }
                _ => Duration::ZERO,
            };
            policy.next_delay(disposition, policy_delay, elapsed, deadline.saturating_duration_since(now))
        })
        .notify(|e: &ArmError, delay| {
            counters.retry();
            tracing::debug!(error = %e, reason = e.metric_label(), delay_ms = delay.as_millis() as u64, "retrying ARM call");
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::error::Call;
    use std::sync::atomic::AtomicUsize;

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(4),
            principal_not_found_window: Duration::from_secs(30),
        }
    }

    fn err(status: u16, code: Option<&str>, retry_after: Option<u64>) -> ArmError {
        ArmError::api(Call::new("PUT", "/x"), status, code.map(Into::into), None, retry_after.map(Duration::from_secs))
    }

    /// Runs a fake operation that fails with `errors` in order, then succeeds.
    async fn run(p: &RetryPolicy, deadline: Duration, errors: Vec<ArmError>) -> (Result<u32, ArmError>, usize, Duration) {
        let counters = Counters::default();
        let calls = AtomicUsize::new(0);
        let errors = Mutex::new(errors.into_iter());
        let start = Instant::now();
        let out = with_retry(p, start + deadline, &counters, |n| {
            calls.fetch_add(1, Ordering::Relaxed);
            let next = errors.lock().unwrap().next();
            async move { next.map_or(Ok(n), Err) }
        })
        .await;
        assert_eq!(counters.snapshot().retries as usize, calls.load(Ordering::Relaxed) - 1);
        (out, calls.load(Ordering::Relaxed), start.elapsed())
    }

    const LONG: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn retry_after_wins_over_backoff() {
        let (out, calls, elapsed) = run(&policy(5), LONG, vec![err(429, None, Some(7))]).await;
        assert_eq!(out.unwrap(), 2);
        assert_eq!(calls, 2);
        assert_eq!(elapsed, Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn exponential_backoff_is_capped_and_jittered() {
        let errors = (0..4).map(|_| err(503, None, None)).collect();
        let (out, calls, elapsed) = run(&policy(5), LONG, errors).await;
        assert_eq!(out.unwrap(), 5);
        assert_eq!(calls, 5);
        // Delays 1,2,4,4 with up to 100% jitter, each capped at 4s.
        assert!(elapsed >= Duration::from_secs(11) && elapsed <= Duration::from_secs(16), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn always_throttled_stops_after_max_attempts() {
        let errors = (0..10).map(|_| err(429, None, Some(1))).collect();
        let (out, calls, elapsed) = run(&policy(3), LONG, errors).await;
        assert_eq!(out.unwrap_err().status(), Some(429));
        assert_eq!(calls, 3);
        assert_eq!(elapsed, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_dispositions_return_at_once() {
        for e in [err(403, Some("AuthorizationFailed"), None), err(412, None, None), err(409, Some("OperationNotAllowed"), Some(1))] {
            let (out, calls, elapsed) = run(&policy(5), LONG, vec![e]).await;
            assert!(out.is_err());
            assert_eq!((calls, elapsed), (1, Duration::ZERO));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn principal_not_found_retries_for_the_window_beyond_max_attempts() {
        let errors = (0..100).map(|_| err(400, Some("PrincipalNotFound"), None)).collect();
        let (out, calls, elapsed) = run(&policy(2), LONG, errors).await;
        assert_eq!(out.unwrap_err().code(), Some("PrincipalNotFound"));
        assert!(calls > 2, "{calls}");
        assert_eq!(elapsed, Duration::from_secs(30), "last attempt at the end of the window");
    }

    #[tokio::test(start_paused = true)]
    async fn principal_not_found_then_success() {
        let errors = (0..3).map(|_| err(400, Some("PrincipalNotFound"), None)).collect();
        let (out, calls, _) = run(&policy(2), LONG, errors).await;
        assert_eq!((out.unwrap(), calls), (4, 4));
    }

    #[tokio::test(start_paused = true)]
    async fn no_sleep_past_the_deadline() {
        let (out, calls, elapsed) = run(&policy(5), Duration::from_secs(10), vec![err(429, None, Some(100))]).await;
        assert_eq!(out.unwrap_err().retry_after(), Some(Duration::from_secs(100)));
        assert_eq!((calls, elapsed), (1, Duration::ZERO));
    }

    #[test]
    fn next_delay_table() {
        let p = policy(3);
        let s = Duration::from_secs;
        assert_eq!(p.next_delay(Disposition::Retryable, Some(s(9)), s(0), LONG), Some(s(4)), "capped");
        assert_eq!(p.next_delay(Disposition::Retryable, None, s(0), LONG), None);
        assert_eq!(p.next_delay(Disposition::RetryAfter(s(90)), Some(s(1)), s(0), LONG), Some(s(90)), "server wins over the cap");
        assert_eq!(p.next_delay(Disposition::RetryAfter(s(1)), None, s(0), LONG), None, "attempt cap holds");
        assert_eq!(p.next_delay(Disposition::ReplicationDelay, None, s(10), LONG), Some(s(4)));
        assert_eq!(p.next_delay(Disposition::ReplicationDelay, None, s(28), LONG), Some(s(2)));
        assert_eq!(p.next_delay(Disposition::ReplicationDelay, Some(s(1)), s(30), LONG), None);
        assert_eq!(p.next_delay(Disposition::Slow, Some(s(1)), s(0), LONG), None);
        assert_eq!(p.next_delay(Disposition::Retryable, Some(s(2)), s(0), s(1)), None, "deadline");
    }
}
