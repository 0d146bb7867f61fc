//! [`UnchangedMemo`]: per cluster, the fingerprint a full check last found compliant and when.
//!
//! Bounded two ways: an entry older than the TTL never answers (and is dropped when looked at), and at
//! most `capacity` entries are kept — recording a new cluster when full evicts the oldest recording
//! first (the entry closest to expiry). A hit does not refresh an entry: the TTL always counts from the
//! last *full* observation. The clock is passed in by the caller (`now`), so tests need no sleeps.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::Fingerprint;

/// What [`UnchangedMemo::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoCheck {
    /// The TTL is zero: the memo is off.
    Disabled,
    /// No entry for the cluster.
    Missing,
    /// The entry is older than the TTL (it was dropped).
    Expired,
    /// The cluster document changed since the full check (the entry was dropped).
    Changed,
    /// Same fingerprint, within the TTL; `age` since the full check.
    Hit {
        /// Time since the full observation that found the cluster compliant.
        age: Duration,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Fingerprint,
    at: Instant,
    seq: u64,
}

/// Cluster key → (fingerprint, time of the full check). Not synchronized: wrap it in a mutex to share.
#[derive(Debug)]
pub struct UnchangedMemo {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<String, Entry>,
    /// Recording order (sequence → key): the first is the oldest.
    order: BTreeMap<u64, String>,
    next_seq: u64,
}

impl UnchangedMemo {
    /// A memo answering for `ttl` after each full check, holding at most `capacity` clusters.
    /// A zero `ttl` or `capacity` disables it.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity, entries: HashMap::new(), order: BTreeMap::new(), next_seq: 0 }
    }

    /// True unless the TTL or the capacity is zero.
    pub fn is_enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// Entries held (expired ones included until they are looked at or evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when `key` has an entry younger than the TTL at `now` (worth a cluster GET to compare).
    pub fn is_live(&self, key: &str, now: Instant) -> bool {
        self.is_enabled() && self.entries.get(key).is_some_and(|e| now.saturating_duration_since(e.at) < self.ttl)
    }

    /// Compares a freshly read cluster's fingerprint with the entry for `key`. Expired and changed
    /// entries are dropped.
    pub fn check(&mut self, key: &str, fingerprint: &Fingerprint, now: Instant) -> MemoCheck {
        if !self.is_enabled() {
            return MemoCheck::Disabled;
        }
        let Some(entry) = self.entries.get(key) else { return MemoCheck::Missing };
        let age = now.saturating_duration_since(entry.at);
        let verdict = if age >= self.ttl {
            MemoCheck::Expired
        } else if &entry.fingerprint != fingerprint {
            MemoCheck::Changed
        } else {
            return MemoCheck::Hit { age };
        };
        self.invalidate(key);
        verdict
    }

    /// Remembers that a full check at `at` found the cluster `key` compliant with `fingerprint`.
    pub fn record(&mut self, key: &str, fingerprint: Fingerprint, at: Instant) {
        if !self.is_enabled() {
            return;
        }
        self.invalidate(key);
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            self.entries.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, key.to_string());
        self.entries.insert(key.to_string(), Entry { fingerprint, at, seq });
    }

    /// Forgets `key` (fleetgate is about to write, or a reconcile failed or was blocked). True if it was held.
    pub fn invalidate(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some(e) => {
                self.order.remove(&e.seq);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ClusterView;
    use crate::core::testutil::fixture_body;

    const TTL: Duration = Duration::from_secs(60);

    fn fingerprints() -> (Fingerprint, Fingerprint) {
        let doc = fixture_body("Microsoft.ContainerService/ManagedClustersGet.json", "200");
        let view = ClusterView::from_json(&doc).unwrap();
        let mut other = view.clone();
        other.oidc_issuer_url = Some("https://oidc.example/changed/".into());
        (Fingerprint::of(&view, "x"), Fingerprint::of(&other, "x"))
    }

    #[test]
    fn hit_within_ttl_then_expired_at_ttl_with_an_injected_clock() {
        let (a, _) = fingerprints();
        let t0 = Instant::now();
        let mut memo = UnchangedMemo::new(TTL, 10);
        assert_eq!(memo.check("c1", &a, t0), MemoCheck::Missing);
        memo.record("c1", a, t0);
        assert!(memo.is_live("c1", t0 + Duration::from_secs(59)));
        assert_eq!(memo.check("c1", &a, t0 + Duration::from_secs(59)), MemoCheck::Hit { age: Duration::from_secs(59) });
        assert_eq!(memo.check("c1", &a, t0 + Duration::from_secs(59)), MemoCheck::Hit { age: Duration::from_secs(59) }, "a hit keeps it");
        assert!(!memo.is_live("c1", t0 + TTL));
        assert_eq!(memo.check("c1", &a, t0 + TTL), MemoCheck::Expired);
        assert_eq!(memo.check("c1", &a, t0 + Duration::from_secs(1)), MemoCheck::Missing, "an expired entry is dropped");
        assert!(memo.is_empty());
    }

    #[test]
    fn a_changed_fingerprint_is_a_miss_and_drops_the_entry() {
        let (a, b) = fingerprints();
        let t0 = Instant::now();
        let mut memo = UnchangedMemo::new(TTL, 10);
        memo.record("c1", a, t0);
        assert_eq!(memo.check("c1", &b, t0), MemoCheck::Changed);
        assert_eq!(memo.check("c1", &a, t0), MemoCheck::Missing);
    }

    #[test]
    fn hits_do_not_extend_the_ttl_but_a_new_full_check_does() {
        let (a, _) = fingerprints();
        let t0 = Instant::now();
        let mut memo = UnchangedMemo::new(TTL, 10);
        memo.record("c1", a, t0);
        for s in [10, 30, 50] {
            assert!(matches!(memo.check("c1", &a, t0 + Duration::from_secs(s)), MemoCheck::Hit { .. }));
        }
        assert_eq!(memo.check("c1", &a, t0 + Duration::from_secs(61)), MemoCheck::Expired);
        memo.record("c1", a, t0 + Duration::from_secs(61));
        assert_eq!(memo.check("c1", &a, t0 + Duration::from_secs(100)), MemoCheck::Hit { age: Duration::from_secs(39) });
    }

    #[test]
    fn zero_ttl_or_capacity_disables() {
        let (a, _) = fingerprints();
        let t0 = Instant::now();
        for mut memo in [UnchangedMemo::new(Duration::ZERO, 10), UnchangedMemo::new(TTL, 0)] {
            assert!(!memo.is_enabled());
            memo.record("c1", a, t0);
            assert!(memo.is_empty() && !memo.is_live("c1", t0));
            assert_eq!(memo.check("c1", &a, t0), MemoCheck::Disabled);
        }
    }

    #[test]
    fn capacity_is_a_hard_bound_evicting_the_oldest_recording() {
        let (a, _) = fingerprints();
        let t0 = Instant::now();
        let mut memo = UnchangedMemo::new(TTL, 3);
        for i in 0..1000u64 {
            memo.record(&format!("c{i}"), a, t0 + Duration::from_millis(i));
            assert!(memo.len() <= 3 && memo.order.len() == memo.len());
        }
        let now = t0 + Duration::from_secs(1);
        assert!(memo.is_live("c999", now) && memo.is_live("c997", now) && !memo.is_live("c996", now));
        memo.record("c997", a, now);
        memo.record("new", a, now);
        assert!(memo.is_live("c997", now), "re-recording moves a cluster to the back of the eviction order");
        assert!(!memo.is_live("c998", now));
    }

    #[test]
    fn invalidate_forgets_one_cluster() {
        let (a, _) = fingerprints();
        let t0 = Instant::now();
        let mut memo = UnchangedMemo::new(TTL, 10);
        memo.record("c1", a, t0);
        memo.record("c2", a, t0);
        assert!(memo.invalidate("c1"));
        assert!(!memo.invalidate("c1"));
        assert_eq!(memo.check("c1", &a, t0), MemoCheck::Missing);
        assert!(matches!(memo.check("c2", &a, t0), MemoCheck::Hit { .. }));
        assert_eq!((memo.len(), memo.order.len()), (1, 1));
    }
}
