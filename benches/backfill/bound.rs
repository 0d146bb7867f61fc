//! The lower bound of a backfill: the fewest requests a correct run must make in each subscription,
//! paid for at ARM's bucket rates with the full burst credited, plus what cannot overlap with them.
//!
//! ```text
//! T_lb = T_graph + max over subscriptions s of max( (W_s − B_w)⁺ / r_w , (R_s − B_r)⁺ / r_r ) + T_lro
//! ```
//! - `W_s`: the distinct writes the bulk plans list whose resource lies in `s` (each subscription's
//!   Defender plan once; the AcrPull assignment counts in the registry's subscription).
//! - `R_s`: per cluster with changes in `s`, one cluster GET (the ETag for `If-Match`; Resource Graph
//!   has none and lags ARM) and at least one status poll per cluster PUT; plus one pricing GET for
//!   `s` when some plan needs its pricing (Resource Graph has no pricing table).
//! - `B_w, r_w` = 200, 10/s and `B_r, r_r` = 250, 25/s: ARM's per-subscription buckets.
//! - `T_graph = (⌈Q / 15⌉ − 1) × 5 s`: the bulk Resource Graph queries (`Q` pages) at 15 per 5 s;
//!   no cluster can be planned before every page is in (a kubelet's AcrPull row can be on any page).
//! - With minutes-long operations (`--only lro`) `R_s` counts the status polls the run actually made
//!   (journal: GETs of `…/operations/…`) instead of one per cluster PUT ([`Minimum::with_polls`]).
//! - `T_lro`: the cluster update's duration; the last write of the binding subscription is a
//!   cluster PUT (a cluster's identity, credential and grants precede it), which then runs this long.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fleetgate::core::{Action, Plan, PlanStatus};
use fleetgate::fleet::budget::subscription_of;

/// ARM's bucket of one kind.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// Burst (bucket size).
    pub burst: f64,
    /// Refill per second.
    pub rate: f64,
}

/// ARM's documented per-subscription buckets.
pub const WRITES: Bucket = Bucket { burst: 200.0, rate: 10.0 };
/// Reads.
pub const READS: Bucket = Bucket { burst: 250.0, rate: 25.0 };
/// Resource Graph queries per window, and the window.
pub const GRAPH_PER_WINDOW: f64 = 15.0;
/// Resource Graph window.
pub const GRAPH_WINDOW: Duration = Duration::from_secs(5);

/// Minimum requests in one subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Demand {
    /// Writes.
    pub writes: u64,
    /// Reads.
    pub reads: u64,
    /// Cluster PUTs (each counted with one status poll in `reads`).
    pub cluster_puts: u64,
}

/// What the bulk plans ask for.
#[derive(Debug, Clone, Default)]
pub struct Minimum {
    /// Per subscription (lower case).
    pub per_subscription: BTreeMap<String, Demand>,
    /// Clusters that need writes.
    pub clusters: u64,
    /// Cluster PUTs (long-running).
    pub cluster_puts: u64,
    /// All planned writes.
    pub writes: u64,
}

impl Minimum {
    /// Counts the minimum requests of the plans that need changes.
    pub fn of<'a>(plans: impl IntoIterator<Item = &'a Plan>) -> Self {
        let mut m = Self::default();
        let mut pricing = BTreeSet::new();
        for plan in plans.into_iter().filter(|p| p.status == PlanStatus::ChangesNeeded) {
            let cluster_sub = sub(plan.cluster.as_str());
            m.clusters += 1;
            m.per_subscription.entry(cluster_sub.clone()).or_default().reads += 1;
            for action in &plan.actions {
                let resource = action.resource();
                if let Action::EnableDefenderPlan { .. } = action
                    && !pricing.insert(resource.to_ascii_lowercase())
                {
                    continue;
                }
                m.writes += 1;
                m.per_subscription.entry(sub(&resource)).or_default().writes += 1;
                if matches!(action, Action::UpdateSecurityGating { .. } | Action::EnablePrerequisites { .. }) {
                    m.cluster_puts += 1;
                    let d = m.per_subscription.entry(cluster_sub.clone()).or_default();
                    (d.reads, d.cluster_puts) = (d.reads + 1, d.cluster_puts + 1);
                }
            }
            m.per_subscription.entry(cluster_sub).or_default();
        }
        m
    }

    /// Adds one pricing GET per subscription in `subscriptions`.
    pub fn with_pricing_reads(mut self, subscriptions: &[String]) -> Self {
        for s in subscriptions {
            self.per_subscription.entry(s.to_ascii_lowercase()).or_default().reads += 1;
        }
        self
    }

    /// The status polls a run actually made (per subscription, lower case) counted instead of one
    /// per cluster PUT: the bound of a run with minutes-long operations includes its poll reads.
    pub fn with_polls(mut self, polls: &BTreeMap<String, u64>) -> Self {
        for (s, d) in self.per_subscription.iter_mut() {
            d.reads += polls.get(s).copied().unwrap_or(0).saturating_sub(d.cluster_puts);
        }
        self
    }

    /// The bound for `graph_queries` bulk pages and an LRO of `lro`, with the binding subscription.
    pub fn bound(&self, graph_queries: u64, lro: Duration) -> (Duration, Option<String>) {
        let windows = ((graph_queries as f64) / GRAPH_PER_WINDOW).ceil().max(1.0) - 1.0;
        let graph = GRAPH_WINDOW.mul_f64(windows);
        let paced = |n: u64, b: Bucket| ((n as f64) - b.burst).max(0.0) / b.rate;
        let (floor, binding) = self
            .per_subscription
            .iter()
            .map(|(s, d)| (paced(d.writes, WRITES).max(paced(d.reads, READS)), s))
            .fold((-1.0, None), |best, (t, s)| if t > best.0 { (t, Some(s.clone())) } else { best });
        let lro = if self.cluster_puts > 0 { lro } else { Duration::ZERO };
        (graph + Duration::from_secs_f64(floor.max(0.0)) + lro, binding)
    }
}

fn sub(path: &str) -> String {
    subscription_of(path).unwrap_or("").to_ascii_lowercase()
}
