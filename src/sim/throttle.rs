//! Throttling math (pure: every call takes the current `Instant`).
//!
//! - ARM: one token bucket per subscription and operation type with the documented sizes
//!   (`request-limits-and-throttling`): reads 250 + 25/s, writes 200 + 10/s, deletes 200 + 10/s.
//! - Resource Graph: 15 queries per 5 s window per caller token
//!   (`resource-graph/concepts/guidance-for-throttled-requests`).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// ARM operation type, each with its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// GET / HEAD.
    Read,
    /// PUT / POST / PATCH.
    Write,
    /// DELETE.
    Delete,
}

impl OpKind {
    /// The operation type of an HTTP method.
    pub fn of_method(method: &str) -> Self {
        match method {
            "GET" | "HEAD" => Self::Read,
            "DELETE" => Self::Delete,
            _ => Self::Write,
        }
    }

    /// Bucket size and refill per second.
    pub fn limits(self) -> (u32, u32) {
        match self {
            Self::Read => (250, 25),
            Self::Write | Self::Delete => (200, 10),
        }
    }

    /// `reads` / `writes` / `deletes`, as in the remaining-quota header and the 429 message.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Read => "reads",
            Self::Write => "writes",
            Self::Delete => "deletes",
        }
    }

    /// `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`.
    pub fn remaining_header(self) -> String {
        format!("x-ms-ratelimit-remaining-subscription-{}", self.plural())
    }
}

/// A token bucket: starts full, refills continuously, one token per request.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

/// The outcome of asking for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Admitted; whole tokens left after this request.
    Allowed {
        /// Remaining whole tokens.
        remaining: u32,
    },
    /// Refused; whole seconds (at least 1) until a token is available.
    Throttled {
        /// `Retry-After` seconds.
        retry_after_secs: u64,
    },
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilling `per_second`.
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        Self { capacity: f64::from(capacity), per_second: f64::from(per_second), tokens: f64::from(capacity), last: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = self.last.max(now);
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> Admission {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Admission::Allowed { remaining: self.tokens.floor() as u32 };
        }
        let wait = (1.0 - self.tokens) / self.per_second;
        Admission::Throttled { retry_after_secs: (wait.ceil() as u64).max(1) }
    }
}

/// Per-subscription ARM buckets.
#[derive(Debug, Default)]
pub struct ArmThrottle {
    buckets: HashMap<(String, OpKind), TokenBucket>,
}

impl ArmThrottle {
    /// Takes a token from `subscription`'s bucket for `kind` (subscription IDs compare case-insensitively).
    pub fn admit(&mut self, subscription: &str, kind: OpKind, now: Instant) -> Admission {
        let (capacity, per_second) = kind.limits();
        self.buckets
            .entry((subscription.to_ascii_lowercase(), kind))
            .or_insert_with(|| TokenBucket::new(capacity, per_second, now))
            .try_take(now)
    }
}

/// Resource Graph queries per window per caller.
pub const GRAPH_QUERIES_PER_WINDOW: u32 = 15;
/// Length of the Resource Graph quota window.
pub const GRAPH_WINDOW: Duration = Duration::from_secs(5);

/// The outcome of a Resource Graph quota check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphAdmission {
    /// Whether the query may run.
    pub allowed: bool,
    /// `x-ms-user-quota-remaining` after this query.
    pub remaining: u32,
    /// `x-ms-user-quota-resets-after`.
    pub resets_after: Duration,
}

/// Fixed-window Resource Graph quota, one window per caller (token).
#[derive(Debug, Default)]
pub struct GraphQuota {
    windows: HashMap<u64, (Instant, u32)>,
}

impl GraphQuota {
    /// Counts one query by `caller`.
    pub fn admit(&mut self, caller: u64, now: Instant) -> GraphAdmission {
        let (start, used) = self.windows.entry(caller).or_insert((now, 0));
        if now.saturating_duration_since(*start) >= GRAPH_WINDOW {
            *start = now;
            *used = 0;
        }
        let resets_after = GRAPH_WINDOW.saturating_sub(now.saturating_duration_since(*start));
        if *used >= GRAPH_QUERIES_PER_WINDOW {
            return GraphAdmission { allowed: false, remaining: 0, resets_after };
        }
        *used += 1;
        GraphAdmission { allowed: true, remaining: GRAPH_QUERIES_PER_WINDOW - *used, resets_after }
    }
}

/// `hh:mm:ss`, rounding partial seconds up (the format of `x-ms-user-quota-resets-after`).
pub fn hhmmss(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Whole seconds, rounding up, at least 1 (for `Retry-After`).
pub fn retry_after_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn read_bucket_holds_250_then_refills_25_per_second() {
        let t0 = Instant::now();
        let mut arm = ArmThrottle::default();
        for i in 1..=250u32 {
            assert_eq!(arm.admit("SUB", OpKind::Read, t0), Admission::Allowed { remaining: 250 - i });
        }
        assert_eq!(arm.admit("sub", OpKind::Read, t0), Admission::Throttled { retry_after_secs: 1 });
        // 40 ms later exactly one token is back.
        assert_eq!(arm.admit("sub", OpKind::Read, t0 + ms(40)), Admission::Allowed { remaining: 0 });
        assert_eq!(arm.admit("sub", OpKind::Read, t0 + ms(40)), Admission::Throttled { retry_after_secs: 1 });
        // 2 s later: 50 tokens.
        assert_eq!(arm.admit("sub", OpKind::Read, t0 + ms(2040)), Admission::Allowed { remaining: 49 });
    }

    #[test]
    fn write_and_delete_buckets_are_separate_and_per_subscription() {
        let t0 = Instant::now();
        let mut arm = ArmThrottle::default();
        for _ in 0..200 {
            assert!(matches!(arm.admit("a", OpKind::Write, t0), Admission::Allowed { .. }));
        }
        assert_eq!(arm.admit("a", OpKind::Write, t0), Admission::Throttled { retry_after_secs: 1 });
        assert_eq!(arm.admit("a", OpKind::Delete, t0), Admission::Allowed { remaining: 199 });
        assert_eq!(arm.admit("b", OpKind::Write, t0), Admission::Allowed { remaining: 199 });
        assert_eq!(arm.admit("a", OpKind::Write, t0 + ms(100)), Admission::Allowed { remaining: 0 });
    }

    #[test]
    fn slow_refill_gives_longer_retry_after() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1, 1, t0);
        assert_eq!(b.try_take(t0), Admission::Allowed { remaining: 0 });
        assert_eq!(b.try_take(t0 + ms(100)), Admission::Throttled { retry_after_secs: 1 });
        let mut slow = TokenBucket { per_second: 0.25, ..TokenBucket::new(1, 1, t0) };
        assert_eq!(slow.try_take(t0), Admission::Allowed { remaining: 0 });
        assert_eq!(slow.try_take(t0), Admission::Throttled { retry_after_secs: 4 });
    }

    #[test]
    fn graph_quota_is_15_per_5_seconds_per_caller() {
        let t0 = Instant::now();
        let mut q = GraphQuota::default();
        for i in 1..=15u32 {
            let a = q.admit(7, t0 + ms(u64::from(i - 1)));
            assert!(a.allowed);
            assert_eq!(a.remaining, 15 - i);
        }
        let refused = q.admit(7, t0 + ms(1500));
        assert_eq!(refused, GraphAdmission { allowed: false, remaining: 0, resets_after: ms(3500) });
        assert!(q.admit(8, t0 + ms(1500)).allowed, "another caller has its own window");
        let next = q.admit(7, t0 + ms(5000));
        assert!(next.allowed && next.remaining == 14 && next.resets_after == GRAPH_WINDOW);
    }

    #[test]
    fn formats_durations() {
        assert_eq!(hhmmss(ms(3500)), "00:00:04");
        assert_eq!(hhmmss(Duration::from_secs(3723)), "01:02:03");
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(2001)), 3);
    }
}
