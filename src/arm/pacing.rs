//! Pacing from ARM's own throttling headers, so replicas that share one principal (and so one ARM
//! bucket per subscription) stay under it without seeing each other.
//!
//! Every ARM answer carries what is left in the caller's bucket:
//! `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`. ARM's current throttling model
//! (Microsoft's `request-limits-and-throttling`, 2024+; the project's ARM reference notes, §E) is a regional
//! token bucket per subscription, principal and operation type: reads 250 + 25/s, writes 200 + 10/s,
//! deletes 200 + 10/s. That remaining count already includes what every other replica spent.
//!
//! One [`Pacer`] per (subscription, [`Bucket`]) keeps the last remaining count it was told, and
//! estimates the bucket now as *remaining + refill × time since − this client's requests in flight*.
//! Above the low-water mark ([`Bucket::low_water`], 30 % of the bucket) requests go at once. Below it
//! they are spaced proportionally: the next request waits `1 / (refill × estimate / low_water)`, so at
//! the mark one client sends at the refill rate and an empty bucket stretches the gap to
//! `low_water / refill` (3 s for reads, 6 s for writes and deletes). N replicas doing the same settle
//! where their sum equals the refill, at about `low_water / N` tokens — above zero for any N in the
//! continuous model; with answer latency and requests in flight the unit tests' simulation of ARM's
//! bucket shows no 429 up to ten replicas (sixteen overdraw now and then). Under ARM's older hourly
//! model (remaining in the thousands) the estimate never reaches the mark and nothing is paced.
//!
//! Reservations are made in arrival order under a short lock (the reservation decides the send time,
//! like `fleet::budget`); the wait happens *before* sending and outside the lock. A caller waiting
//! here still holds its own concurrency slot (a worker message, a backfill job): each gap is at most
//! `low_water / refill`, callers queued behind each other wait their turns (the refill during each
//! gap raises the estimate, so the next gaps shrink fast), and the time is counted in
//! `fleetgate_arm_paced_seconds_total`. The math is pure (every call takes `now`); `Pacers` and
//! `Ticket` are the thin glue the client calls around each attempt.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

use super::response::header;
use crate::telemetry::metrics;

/// Which of a subscription's ARM buckets a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// GET / HEAD.
    Reads,
    /// PUT / PATCH / POST.
    Writes,
    /// DELETE.
    Deletes,
}

impl Bucket {
    /// The bucket of an HTTP method.
    pub fn of_method(method: &str) -> Self {
        match method {
            "GET" | "HEAD" => Self::Reads,
            "DELETE" => Self::Deletes,
            _ => Self::Writes,
        }
    }

    /// The response header that says what is left in this bucket.
    pub fn remaining_header(self) -> &'static str {
        match self {
            Self::Reads => "x-ms-ratelimit-remaining-subscription-reads",
            Self::Writes => "x-ms-ratelimit-remaining-subscription-writes",
            Self::Deletes => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }

    /// The metric label (`reads`, `writes`, `deletes`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Reads => "reads",
            Self::Writes => "writes",
            Self::Deletes => "deletes",
        }
    }

    /// ARM's documented bucket size and refill per second.
    pub fn limits(self) -> (f64, f64) {
        match self {
            Self::Reads => (250.0, 25.0),
            Self::Writes | Self::Deletes => (200.0, 10.0),
        }
    }

    /// Below this many estimated tokens requests are spaced: 30 % of the bucket (20 % let ten
    /// replicas with 100 ms answers overdraw now and then in the unit tests' simulation).
    pub fn low_water(self) -> f64 {
        self.limits().0 * 0.3
    }
}

/// Parses a remaining-count header value (a non-negative integer; anything else is ignored).
pub fn parse_remaining(value: &str) -> Option<f64> {
    let v = value.trim();
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse::<f64>().ok()).flatten()
}

/// The gap to leave after a request sent when the bucket is estimated at `estimate` tokens.
pub fn gap_after(bucket: Bucket, estimate: Option<f64>) -> Duration {
    let low_water = bucket.low_water();
    match estimate {
        Some(e) if e < low_water => {
            let refill = bucket.limits().1;
            Duration::from_secs_f64(low_water / (refill * e.max(1.0)))
        }
        _ => Duration::ZERO,
    }
}

/// The pacing state of one (subscription, bucket).
#[derive(Debug, Clone)]
pub struct Pacer {
    bucket: Bucket,
    /// The last remaining count ARM reported, and when.
    observed: Option<(f64, Instant)>,
    /// Requests reserved and not answered yet (waiting included).
    in_flight: u32,
    /// When the last reserved request is (or was) sent.
    last_send: Option<Instant>,
}

impl Pacer {
    /// A pacer that has not heard from ARM yet (it paces nothing until it does).
    pub fn new(bucket: Bucket) -> Self {
        Self { bucket, observed: None, in_flight: 0, last_send: None }
    }

    /// Estimated tokens left at `at`: the last report, plus the refill since, minus requests in flight.
    pub fn estimate(&self, at: Instant) -> Option<f64> {
        let (remaining, when) = self.observed?;
        let refill = self.bucket.limits().1;
        Some(remaining + refill * at.saturating_duration_since(when).as_secs_f64() - f64::from(self.in_flight))
    }

    /// Reserves the next send at `now` and returns how long to wait before sending: the gap after the
    /// previous reserved send that the estimate (with the latest report) asks for. Every reservation
    /// must be followed by exactly one [`Pacer::finish`].
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let previous = self.last_send.map_or(now, |t| t.max(now));
        let gap = gap_after(self.bucket, self.estimate(previous));
        let send_at = self.last_send.map_or(now, |t| (t + gap).max(now));
        self.in_flight = self.in_flight.saturating_add(1);
        self.last_send = Some(send_at);
        send_at.saturating_duration_since(now)
    }

    /// A reserved request ended at `now`, with the remaining count of its answer if there was one.
    /// A 429 counts as "nothing left".
    pub fn finish(&mut self, now: Instant, remaining: Option<f64>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(r) = remaining {
            self.observed = Some((r, now));
        }
    }
}

/// The subscription ID of an ARM path (`/subscriptions/{id}/…`), if it names one.
pub fn subscription_of(path: &str) -> Option<&str> {
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let (first, id) = (parts.next()?, parts.next()?);
    (first.eq_ignore_ascii_case("subscriptions") && !id.is_empty()).then_some(id)
}

type Key = (String, Bucket);

/// The pacers of one client (and its clones), by lower-cased subscription and bucket. The lock is
/// held only to reserve or to record an answer, never while waiting.
#[derive(Debug)]
pub(crate) struct Pacers {
    enabled: bool,
    map: Mutex<HashMap<Key, Pacer>>,
}

impl Pacers {
    /// Pacers that pace (`azure.header_pacing`) or only pass requests through.
    pub fn new(enabled: bool) -> Self {
        Self { enabled, map: Mutex::default() }
    }

    fn with<T>(&self, key: &Key, f: impl FnOnce(&mut Pacer) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(key.clone()).or_insert_with(|| Pacer::new(key.1)))
    }

    /// Waits for this request's turn (`method` on `path`) and returns the ticket to settle with its
    /// answer; `None` when pacing is off or the path names no subscription (Resource Graph).
    /// Returns the time waited as well.
    pub async fn before_send(&self, method: &str, path: &str) -> (Option<Ticket<'_>>, Duration) {
        let Some(sub) = subscription_of(path).filter(|_| self.enabled) else { return (None, Duration::ZERO) };
        let bucket = Bucket::of_method(method);
        let key = (sub.to_ascii_lowercase(), bucket);
        let wait = self.with(&key, |p| p.reserve(Instant::now()));
        let ticket = Ticket { pacers: self, key, settled: false };
        if !wait.is_zero() {
            metrics().arm_paced(bucket.label(), wait);
            tracing::debug!(wait_ms = wait.as_millis() as u64, bucket = bucket.label(), "ARM bucket low; pacing");
            tokio::time::sleep(wait).await;
        }
        (Some(ticket), wait)
    }
}

/// A reserved request; settle it with the answer's headers ([`Ticket::answered`]). Dropped
/// unsettled (no answer, cancelled) it only leaves the in-flight count.
#[derive(Debug)]
pub(crate) struct Ticket<'a> {
    pacers: &'a Pacers,
    key: Key,
    settled: bool,
}

impl Ticket<'_> {
    /// Records ARM's answer: its remaining count, or nothing left after a 429.
    pub fn answered(mut self, status: u16, headers: &HeaderMap) {
        let remaining =
            if status == 429 { Some(0.0) } else { header(headers, self.key.1.remaining_header()).as_deref().and_then(parse_remaining) };
        self.settled = true;
        self.pacers.with(&self.key, |p| p.finish(Instant::now(), remaining));
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.pacers.with(&self.key, |p| p.finish(Instant::now(), None));
        }
    }
}

#[cfg(test)]
mod tests;
