//! fleetgate's own ARM budget: per-subscription token buckets for reads and writes that mirror ARM's
//! (reads 250 + 25/s, writes 200 + 10/s by default, from `[backfill]`), consulted before **every** ARM
//! request of a run through the client's [`RequestHook`] — retries and LRO polls included, since ARM
//! counts them too. A request that would overdraw its bucket waits for its slot instead of being sent
//! into a 429. It also counts requests by kind (`GET managedClusters`, `PUT roleAssignments`, …).
//!
//! Buckets reserve in arrival order: each request takes a token at once (the balance may go negative)
//! and sleeps until the refill has paid it back, so concurrent callers are paced first come, first
//! served without polling. Resource Graph queries carry no subscription in their path: they are only
//! counted; the client already paces them by the `x-ms-user-quota-*` headers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::arm::{Call, RequestHook};
use crate::config::BackfillSettings;

/// A token bucket: `capacity` tokens, refilled at `rate` per second, starting full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`. `rate` must be positive.
    pub fn new(capacity: u32, rate: u32, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self { capacity, rate: f64::from(rate.max(1)), tokens: capacity, last: now }
    }

    /// Takes one token at `now` and returns how long the caller must wait before using it (zero while
    /// the bucket has tokens). `now` earlier than the last call counts as the last call.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity) - 1.0;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }

    /// Tokens available at the last call (negative = reserved ahead).
    pub fn balance(&self) -> f64 {
        self.tokens
    }
}

/// Bucket sizes and refill rates; a rate of 0 turns pacing of that kind off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    /// Read bucket size.
    pub read_burst: u32,
    /// Reads per second.
    pub read_rate: u32,
    /// Write bucket size.
    pub write_burst: u32,
    /// Writes per second.
    pub write_rate: u32,
}

impl From<&BackfillSettings> for BudgetLimits {
    fn from(s: &BackfillSettings) -> Self {
        Self { read_burst: s.read_burst, read_rate: s.read_rate, write_burst: s.write_burst, write_rate: s.write_rate }
    }
}

/// The per-subscription budget and request tally of one run (a [`RequestHook`]).
#[derive(Debug)]
pub struct Budget {
    limits: BudgetLimits,
    buckets: Mutex<HashMap<(String, bool), TokenBucket>>,
    by_kind: Mutex<BTreeMap<String, u64>>,
    paced_micros: AtomicU64,
}

impl Budget {
    /// A budget with full buckets.
    pub fn new(limits: BudgetLimits) -> Self {
        Self { limits, buckets: Mutex::default(), by_kind: Mutex::default(), paced_micros: AtomicU64::new(0) }
    }

    /// How long `call` must wait (taking its token), given the bucket state at `now`.
    pub fn reserve(&self, call: &Call, is_read: bool, now: Instant) -> Duration {
        *self.by_kind.lock().unwrap_or_else(|p| p.into_inner()).entry(request_kind(call)).or_default() += 1;
        let (burst, rate) =
            if is_read { (self.limits.read_burst, self.limits.read_rate) } else { (self.limits.write_burst, self.limits.write_rate) };
        let Some(sub) = subscription_of(&call.resource).filter(|_| rate > 0) else { return Duration::ZERO };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((sub.to_ascii_lowercase(), is_read)).or_insert_with(|| TokenBucket::new(burst, rate, now));
        bucket.reserve(now)
    }

    /// Requests seen so far, by `METHOD kind` (attempts: retries and polls included).
    pub fn requests_by_kind(&self) -> BTreeMap<String, u64> {
        self.by_kind.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Total time requests spent waiting for the budget (summed over concurrent requests).
    pub fn paced(&self) -> Duration {
        Duration::from_micros(self.paced_micros.load(Ordering::Relaxed))
    }
}

#[async_trait::async_trait]
impl RequestHook for Budget {
    async fn before_send(&self, call: &Call, is_read: bool) {
        let wait = self.reserve(call, is_read, Instant::now());
        if !wait.is_zero() {
            self.paced_micros.fetch_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
            tracing::trace!(call = %call, wait_ms = wait.as_millis() as u64, "ARM budget: pacing");
            tokio::time::sleep(wait).await;
        }
    }
}

/// The subscription of an ARM path `/subscriptions/{id}/…`.
pub fn subscription_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let (head, rest) = rest.split_once('/')?;
    let sub = rest.split('/').next()?;
    (head.eq_ignore_ascii_case("subscriptions") && !sub.is_empty()).then_some(sub)
}

/// `METHOD kind`, where kind is the innermost resource type of the path (`managedClusters`,
/// `federatedIdentityCredentials`, `roleAssignments`, `operations`, `pricings`, …) or `resourceGraph`.
pub fn request_kind(call: &Call) -> String {
    let segments: Vec<&str> = call.resource.split('/').filter(|s| !s.is_empty()).collect();
    let kind = match segments.iter().rposition(|s| s.eq_ignore_ascii_case("providers")) {
        Some(i) if segments.get(i + 1).is_some_and(|ns| ns.eq_ignore_ascii_case("Microsoft.ResourceGraph")) => "resourceGraph",
        Some(i) => segments.get(i + 2..).unwrap_or_default().iter().step_by(2).next_back().copied().unwrap_or("provider"),
        None if segments.len() <= 2 => "subscriptions",
        None => "resourceGroups",
    };
    format!("{} {kind}", call.method)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn bucket_spends_its_burst_then_paces_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, 2, t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        assert_eq!(b.reserve(t0), s(0.5), "4th token: half a second at 2/s");
        assert_eq!(b.reserve(t0), s(1.0), "5th: queued behind the 4th");
        assert_eq!(b.reserve(t0 + s(1.0)), s(0.5), "after 1 s two tokens came back, both already promised; this one waits");
    }

    #[test]
    fn bucket_refills_up_to_capacity_only() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, 10, t0);
        b.reserve(t0);
        b.reserve(t0);
        assert_eq!(b.reserve(t0 + s(60.0)), Duration::ZERO);
        assert!((b.balance() - 1.0).abs() < 1e-9, "capped at 2, minus the one taken");
        assert_eq!(b.reserve(t0), Duration::ZERO, "a stale instant does not refill nor panic");
        assert_eq!(b.reserve(t0 + s(60.0)), s(0.1));
    }

    #[test]
    fn budget_keys_buckets_by_subscription_and_kind() {
        let budget = Budget::new(BudgetLimits { read_burst: 1, read_rate: 1, write_burst: 1, write_rate: 4 });
        let t0 = Instant::now();
        let get =
            Call::new("GET", format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"));
        let other =
            Call::new("GET", "/subscriptions/00000000-0000-0000-0000-000000000002/providers/Microsoft.Security/pricings/Containers");
        let put = Call::new("PUT", get.resource.clone());
        let graph = Call::new("POST", "/providers/Microsoft.ResourceGraph/resources");
        assert_eq!(budget.reserve(&get, true, t0), Duration::ZERO);
        assert_eq!(budget.reserve(&get, true, t0), s(1.0), "same subscription, reads exhausted");
        assert_eq!(budget.reserve(&other, true, t0), Duration::ZERO, "another subscription has its own bucket");
        assert_eq!(budget.reserve(&put, false, t0), Duration::ZERO, "writes have their own bucket");
        assert_eq!(budget.reserve(&put, false, t0), s(0.25));
        assert_eq!(budget.reserve(&graph, true, t0), Duration::ZERO, "Resource Graph is not budgeted here");
        let kinds = budget.requests_by_kind();
        assert_eq!(kinds["GET managedClusters"], 2);
        assert_eq!(kinds["PUT managedClusters"], 2);
        assert_eq!(kinds["GET pricings"], 1);
        assert_eq!(kinds["POST resourceGraph"], 1);
        let off = Budget::new(BudgetLimits { read_burst: 1, read_rate: 0, write_burst: 1, write_rate: 0 });
        assert_eq!(off.reserve(&get, true, t0) + off.reserve(&get, true, t0), Duration::ZERO, "rate 0 = no pacing");
    }

    #[test]
    fn kinds_and_subscriptions_from_paths() {
        let kind = |m: &'static str, p: &str| request_kind(&Call::new(m, p));
        let mi = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi");
        assert_eq!(kind("PUT", &mi), "PUT userAssignedIdentities");
        assert_eq!(kind("GET", &format!("{mi}/federatedIdentityCredentials")), "GET federatedIdentityCredentials");
        let acr = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/a");
        assert_eq!(kind("PUT", &format!("{acr}/providers/Microsoft.Authorization/roleAssignments/x")), "PUT roleAssignments");
        assert_eq!(
            kind("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/o1")),
            "GET operations"
        );
        assert_eq!(kind("GET", &format!("/subscriptions/{SUB}")), "GET subscriptions");
        assert_eq!(subscription_of(&mi), Some(SUB));
        assert_eq!(subscription_of("/providers/Microsoft.ResourceGraph/resources"), None);
        assert_eq!(subscription_of("/subscriptions/"), None);
    }
}
