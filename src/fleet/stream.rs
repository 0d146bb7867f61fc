//! The cluster rows of the bulk observation as they stream in from Resource Graph, before planning:
//! each row already reduced to its typed [`ClusterRow`] (the JSON row is dropped in the page sink), and
//! [`Admission`], which lets every cluster through once and, under `--max-clusters N`, only the first
//! N by ID.
//!
//! Without a cap a row is admitted as soon as it arrives, so it can be planned and dropped at once:
//! memory holds the rows in flight, not the fleet. With a cap, the N smallest IDs seen so far are held
//! (the first N by ID cannot be known before the last row) and released, in ID order, at the end.

use std::collections::{BTreeMap, HashSet};

use crate::core::model::ClusterView;
use crate::id::ResourceId;

/// One cluster row of the [`CLUSTERS`](super::queries::CLUSTERS) query, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ClusterRow {
    /// The row parsed into the planner's view.
    Readable(Box<ClusterView>),
    /// The row did not parse: the cluster and why.
    Unreadable(ResourceId, String),
}

impl ClusterRow {
    /// The cluster.
    pub fn id(&self) -> &ResourceId {
        match self {
            Self::Readable(view) => &view.id,
            Self::Unreadable(id, _) => id,
        }
    }
}

/// Lets each cluster through once (repeats by ID are dropped) and, with a cap, only the first N by ID.
#[derive(Debug, Default)]
pub(super) struct Admission {
    /// Keys of the clusters let through (no cap).
    seen: HashSet<Box<str>>,
    /// With a cap: the N smallest IDs so far.
    cap: Option<usize>,
    held: BTreeMap<ResourceId, ClusterRow>,
}

impl Admission {
    /// An admission with an optional cap (`--max-clusters`).
    pub fn new(cap: Option<usize>) -> Self {
        Self { cap, ..Self::default() }
    }

    /// Returns the row when it can be planned now (no cap, first time seen); with a cap the row is
    /// held or dropped, and [`Admission::finish`] releases the kept ones.
    pub fn admit(&mut self, row: ClusterRow) -> Option<ClusterRow> {
        let Some(cap) = self.cap else {
            return self.seen.insert(row.id().key().into()).then_some(row);
        };
        if cap == 0 || self.held.contains_key(row.id()) {
            return None;
        }
        if self.held.len() == cap {
            let largest = self.held.last_key_value().map(|(id, _)| id)?;
            if row.id() > largest {
                return None;
            }
            self.held.pop_last();
        }
        self.held.insert(row.id().clone(), row);
        None
    }

    /// The held rows in ID order (empty without a cap).
    pub fn finish(self) -> impl Iterator<Item = ClusterRow> {
        self.held.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> ClusterRow {
        let id = format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
        );
        ClusterRow::Unreadable(ResourceId::parse(&id).unwrap(), "why".into())
    }

    fn names(rows: impl IntoIterator<Item = ClusterRow>) -> Vec<String> {
        rows.into_iter().map(|r| r.id().name().to_string()).collect()
    }

    #[test]
    fn without_a_cap_rows_pass_at_once_and_repeats_are_dropped() {
        let mut a = Admission::new(None);
        let passed: Vec<ClusterRow> = ["c2", "c1", "C2", "c3", "c1"].into_iter().filter_map(|n| a.admit(row(n))).collect();
        assert_eq!(names(passed), ["c2", "c1", "c3"], "IDs compare case-insensitively");
        assert_eq!(a.finish().count(), 0, "nothing is held");
    }

    #[test]
    fn a_cap_keeps_the_first_n_by_id_whatever_the_arrival_order() {
        let mut a = Admission::new(Some(3));
        for n in ["c5", "c2", "c9", "c1", "c2", "c7", "c3", "c4"] {
            assert!(a.admit(row(n)).is_none(), "capped rows are only released at the end");
        }
        assert_eq!(names(a.finish()), ["c1", "c2", "c3"]);
    }

    #[test]
    fn a_cap_of_zero_or_above_the_fleet() {
        let mut zero = Admission::new(Some(0));
        assert!(zero.admit(row("c1")).is_none());
        assert_eq!(zero.finish().count(), 0);
        let mut wide = Admission::new(Some(10));
        for n in ["c2", "c1", "C1"] {
            wide.admit(row(n));
        }
        assert_eq!(names(wide.finish()), ["c1", "c2"]);
    }
}
