//! The unchanged-cluster memo on the event path (`gating.unchanged_cluster_ttl`).
//!
//! A **cluster-write event** for a cluster that a full observation found compliant less than the TTL
//! ago costs one cluster GET: when the fresh document's compliance fingerprint
//! ([`crate::core::unchanged::Fingerprint`]) equals the remembered one, the event is `compliant` with
//! the reason `confirmed_from_memo: …`. The cluster is always read; the event payload is never trusted.
//!
//! Everything else takes the full path (observe → plan → apply): registry-attached events (they change
//! role assignments, not the cluster), `io.fleetgate.reconcile` commands (resync, backfill enqueue,
//! manual), and every CLI command (they use the engine directly). A full reconcile first forgets the
//! cluster's entry, so an entry only exists after a full check that planned nothing; failures, blockers,
//! exclusions and writes in flight all leave it forgotten. A cluster delete forgets it too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Dispatcher, Handled, MessageOutcome};
use crate::config::Settings;
use crate::core::unchanged::{Fingerprint, MemoCheck, UnchangedMemo};
use crate::id::ResourceId;
use crate::reconcile::{Applied, MEMO_REASON, ReconcileError};
use crate::telemetry::metrics;

/// Clusters remembered at most per worker (about 250 bytes each: memory stays flat past this).
pub const MEMO_CAPACITY: usize = 16_384;

/// The memo shared by every clone of a dispatcher, and its hit counter.
#[derive(Debug)]
pub(super) struct SharedMemo {
    memo: Mutex<UnchangedMemo>,
    hits: AtomicU64,
    exclude_tag: String,
}

impl SharedMemo {
    pub(super) fn from_settings(settings: &Settings) -> Self {
        Self {
            memo: Mutex::new(UnchangedMemo::new(settings.gating.unchanged_cluster_ttl, MEMO_CAPACITY)),
            hits: AtomicU64::new(0),
            exclude_tag: settings.scope.exclude_tag.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, UnchangedMemo> {
        // The memo holds no invariant a panic elsewhere could break half-way: keep using it.
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Dispatcher {
    /// Events answered from the memo since this dispatcher was built.
    pub fn memo_hits(&self) -> u64 {
        self.memo.hits.load(Ordering::Relaxed)
    }

    /// Clusters currently remembered as compliant (expired entries included until looked at).
    pub fn memo_len(&self) -> usize {
        self.memo.lock().len()
    }

    /// For a cluster-write event (the caller holds the cluster's lock): `Some` when one GET settles it —
    /// a memo hit, or a GET that failed — and `None` when the full path must run.
    pub(super) async fn confirm_unchanged(&self, cluster: &ResourceId) -> Option<Handled> {
        let (enabled, live) = {
            let memo = self.memo.lock();
            (memo.is_enabled(), memo.is_live(cluster.key(), Instant::now()))
        };
        if !live {
            if enabled {
                metrics().memo_lookup("none");
            }
            return None;
        }
        let version = &self.settings.azure.api_versions.managed_clusters;
        let doc = match self.engine.arm().get(cluster.as_str(), version).await {
            Ok(Some(resp)) => resp.body,
            Ok(None) => return None,
            Err(e) => return Some(Handled::reconcile_failed(cluster, &ReconcileError::from(e))),
        };
        let fingerprint = Fingerprint::of_document(&doc, &self.memo.exclude_tag).ok()?;
        let check = self.memo.lock().check(cluster.key(), &fingerprint, Instant::now());
        match check {
            MemoCheck::Hit { age } => {
                self.memo.hits.fetch_add(1, Ordering::Relaxed);
                metrics().memo_lookup("hit");
                tracing::debug!(%cluster, age_ms = age.as_millis() as u64, "cluster unchanged since a full check; confirmed from the memo");
                Some(Handled::done(MessageOutcome::Compliant, cluster, Some(hit_reason(age))))
            }
            other => {
                metrics().memo_lookup(if other == MemoCheck::Changed { "changed" } else { "none" });
                tracing::debug!(%cluster, ?other, "memo miss; observing the cluster fully");
                None
            }
        }
    }

    /// Forgets the cluster (before a full reconcile, which may write, fail or block; after a delete).
    pub(super) fn forget(&self, cluster: &ResourceId) {
        self.memo.lock().invalidate(cluster.key());
    }

    /// Remembers a full reconcile whose final observation planned nothing.
    pub(super) fn remember(&self, cluster: &ResourceId, applied: &Applied) {
        if let (None, Some(c)) = (&applied.error, applied.compliant) {
            self.memo.lock().record(cluster.key(), c.fingerprint, c.observed_at);
        }
    }
}

/// `confirmed_from_memo: …` with the age of the full check.
fn hit_reason(age: Duration) -> String {
    format!("{MEMO_REASON}: cluster GET unchanged since a full check {:.1} s ago", age.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_reason_starts_with_the_stable_label() {
        let r = hit_reason(Duration::from_millis(1234));
        assert!(r.starts_with("confirmed_from_memo: ") && r.ends_with("1.2 s ago"), "{r}");
    }
}
