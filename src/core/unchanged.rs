//! The unchanged-cluster memo's pure half: a **compliance fingerprint** of a cluster document, and a
//! bounded memo of "this fingerprint was found compliant by a full check at time T".
//!
//! The event path uses it to answer a cluster-write event for a cluster that a full observation found
//! compliant moments ago with one cluster GET instead of a full observation: when the fresh document's
//! fingerprint equals the remembered one and the entry is younger than `gating.unchanged_cluster_ttl`,
//! nothing the planner reads from the cluster has changed. Drift outside the cluster document (a
//! deleted federated credential, a removed role assignment) is not seen by the fingerprint; the TTL
//! bounds how long it can go unnoticed by events, and the resync loop (full observations) repairs it.
//!
//! - `fingerprint`: [`Fingerprint`], a SHA-256 over exactly the cluster fields the planner reads.
//! - `memo`: [`UnchangedMemo`], TTL + capacity bounded, with the clock passed in (no IO, no sleeps).

mod fingerprint;
mod memo;

pub use fingerprint::Fingerprint;
pub use memo::{MemoCheck, UnchangedMemo};
