//! Request counters of one [`super::ArmClient`] and its clones (atomic, lock-free).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArmStats {
    /// HTTP requests that only read: GET (resources, list pages, operation polls) and Resource Graph queries.
    pub reads: u64,
    /// HTTP requests that write: PUT, PATCH, DELETE and other POSTs.
    pub writes: u64,
    /// Requests that were repeats of a failed attempt.
    pub retries: u64,
    /// 429 answers received.
    pub throttled: u64,
    /// Answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Time requests waited for their turn under header pacing (`azure.header_pacing`).
    pub paced: Duration,
}

/// The live counters.
#[derive(Debug)]
pub(crate) struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    paced_micros: AtomicU64,
    /// Index = status - 100, for 100..=599.
    by_status: Vec<AtomicU64>,
}

const FIRST_STATUS: u16 = 100;
const LAST_STATUS: u16 = 599;

impl Default for Counters {
    fn default() -> Self {
        Self {
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            paced_micros: AtomicU64::new(0),
            by_status: (FIRST_STATUS..=LAST_STATUS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Counters {
    /// One request sent.
    pub fn request(&self, is_read: bool) {
        let c = if is_read { &self.reads } else { &self.writes };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// One retry scheduled.
    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// A request waited `wait` under header pacing.
    pub fn paced(&self, wait: Duration) {
        if !wait.is_zero() {
            self.paced_micros.fetch_add(u64::try_from(wait.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }

    /// One answer received.
    pub fn status(&self, status: u16) {
        if status == 429 {
            self.throttled.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(c) = status.checked_sub(FIRST_STATUS).and_then(|i| self.by_status.get(usize::from(i))) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> ArmStats {
        let by_status = self
            .by_status
            .iter()
            .zip(FIRST_STATUS..)
            .filter_map(|(c, s)| {
                let n = c.load(Ordering::Relaxed);
                (n > 0).then_some((s, n))
            })
            .collect();
        ArmStats {
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            by_status,
            paced: Duration::from_micros(self.paced_micros.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let c = Counters::default();
        c.request(true);
        c.request(true);
        c.request(false);
        c.retry();
        c.status(200);
        c.status(429);
        c.status(429);
        c.status(599);
        c.status(42);
        c.status(700);
        c.paced(Duration::ZERO);
        c.paced(Duration::from_millis(1500));
        let s = c.snapshot();
        assert_eq!(s.paced, Duration::from_millis(1500));
        assert_eq!((s.reads, s.writes, s.retries, s.throttled), (2, 1, 1, 2));
        assert_eq!(s.by_status, BTreeMap::from([(200, 1), (429, 2), (599, 1)]));
    }
}
