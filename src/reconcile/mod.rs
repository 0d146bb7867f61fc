//! The reconcile engine: **observe** one cluster through ARM, **plan** with the pure core, **apply**
//! the actions in order, then observe again until the plan is empty.
//!
//! - `observe`: reads everything the planner needs (never outside `scope.subscriptions`).
//! - `apply`: executes one action idempotently ("already exists" answers are success).
//! - `cluster_write`: the cluster PUT with or without an eTag (fresh read, `If-Match: *`, the
//!   unconditional hedge, read-back verification).
//! - `create`: create-only PUTs (`If-None-Match: *`), so replicas racing on one cluster write once.
//! - `error`: [`ReconcileError`], which knows whether a retry later can help.
//! - `locks`: per-key async locks (FIC writes per identity, one reconcile per cluster).
//! - `planned`: [`Engine::apply_planned`], converging from a plan made from a bulk observation (a
//!   backfill), reading only the cluster (for its ETag, and again before the PUT when it has none) and
//!   an identity about to be created.
//! - `pending`: deferring mode ([`Engine::deferring`], the Service Bus worker's): never wait on Azure's
//!   clock; a busy cluster or an accepted cluster PUT ends the reconcile with a [`Pending`].
//! - `submitted`: the planned path split at the cluster PUT — [`Engine::submit_planned`] (up to the
//!   PUT's answer, or [`Submission::Busy`]) and [`Engine::finish_submitted`] (the read-back after the
//!   operation), so a caller can follow the operation without holding a slot.
//! - `wait`: waiting for a terminal `provisioningState`; the scope / opt-out checks of every cluster
//!   read that precedes a write.

mod apply;
mod cluster_write;
mod create;
mod error;
pub mod locks;
mod observe;
mod pending;
mod planned;
mod submitted;
mod wait;

use std::sync::Arc;
use std::time::Instant;

use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::unchanged::Fingerprint;
use crate::core::{self, AppliedAction, ApplyReport, ApplyStatus, Observation, Plan, Policy, PolicyError};
use crate::id::ResourceId;

pub use error::ReconcileError;
pub use locks::KeyedLocks;
pub use pending::Pending;
pub use planned::same_cluster;
pub use submitted::{Submission, Submitted};

/// Label prefix of the `reason` of an event answered from the unchanged-cluster memo.
pub const MEMO_REASON: &str = "confirmed_from_memo";

/// Observe → plan → apply rounds before giving up on a cluster that keeps changing under us.
const MAX_ROUNDS: usize = 4;

/// The reconcile engine for one fleet configuration. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    arm: ArmClient,
    settings: Arc<Settings>,
    policy: Arc<Policy>,
    fic_locks: KeyedLocks,
    /// Deferring mode: never wait on Azure's clock (see `pending`).
    defer: bool,
}

/// The result of [`Engine::apply`]: the report, and the error behind a `failed` status.
#[derive(Debug)]
pub struct Applied {
    /// The `apply --output json` report.
    pub report: ApplyReport,
    /// Why it failed, when it did (tells the worker whether to retry).
    pub error: Option<ReconcileError>,
    /// Set when the final observation planned nothing: the cluster's compliance fingerprint and when
    /// it was read (what the event path's unchanged-cluster memo remembers).
    pub compliant: Option<CompliantAt>,
    /// Deferring engines only: the reconcile stopped because an AKS operation is running (the report
    /// says `failed` with no error; the caller re-checks later).
    pub pending: Option<Pending>,
}

/// A full observation that found the cluster compliant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompliantAt {
    /// The compliance fingerprint of the cluster document that observation read.
    pub fingerprint: Fingerprint,
    /// When that observation started.
    pub observed_at: Instant,
}

impl Engine {
    /// Builds an engine; fails when the gating settings are unusable.
    pub fn new(arm: ArmClient, settings: Arc<Settings>) -> Result<Self, PolicyError> {
        let policy = Policy::new(&settings.gating, &settings.scope)?;
        Ok(Self { arm, settings, policy: Arc::new(policy), fic_locks: KeyedLocks::new(), defer: false })
    }

    /// The ARM client (for its statistics).
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Observes and plans; never writes.
    pub async fn plan(&self, cluster: &ResourceId) -> Result<Plan, ReconcileError> {
        let obs = self.observe(cluster).await?;
        Ok(core::plan(&obs, &self.policy))
    }

    /// Observes and plans for `apply`: a cluster in a transitional state (still being created, or another
    /// operation running) is waited for first, so a half-provisioned cluster (no issuer URL yet) is never
    /// reported blocked. Also returns the fingerprint of the cluster the plan was made from (the basis
    /// its cluster edits re-check).
    async fn plan_settled(&self, cluster: &ResourceId) -> Result<(Plan, Option<CompliantAt>, Option<Fingerprint>), ReconcileError> {
        let mut observed_at = Instant::now();
        let mut obs = self.observe(cluster).await?;
        if obs.cluster_view().is_some_and(|v| v.is_busy()) {
            tracing::info!(%cluster, "cluster operation in progress; waiting for a terminal provisioningState before planning");
            self.wait_cluster_terminal(cluster).await?;
            observed_at = Instant::now();
            obs = self.observe(cluster).await?;
        }
        let plan = core::plan(&obs, &self.policy);
        let compliant = self.compliant_at(&obs, &plan, observed_at);
        let basis = obs.cluster_view().map(|v| self.basis_of(v));
        Ok((plan, compliant, basis))
    }

    /// The fingerprint of an observation whose plan is `compliant` (nothing to write, nothing blocking).
    fn compliant_at(&self, obs: &Observation, plan: &Plan, observed_at: Instant) -> Option<CompliantAt> {
        let view = obs.cluster_view().filter(|_| plan.is_compliant())?;
        Some(CompliantAt { fingerprint: Fingerprint::of(view, &self.policy.exclude_tag), observed_at })
    }

    /// Converges one cluster: rounds of observe → plan → apply until the plan is empty.
    pub async fn apply(&self, cluster: &ResourceId) -> Applied {
        let mut done: Vec<AppliedAction> = Vec::new();
        let mut last_plan = None;
        for _ in 0..MAX_ROUNDS {
            let (plan, compliant, basis) = match self.plan_settled(cluster).await {
                Ok(planned) => planned,
                Err(e) => return failed(cluster, done, e),
            };
            if let Some(mut report) = ApplyReport::without_writes(&plan) {
                report.actions = done;
                return Applied { report, error: None, compliant, pending: None };
            }
            let Some(basis) = basis else {
                let e = ReconcileError::ClusterGone { cluster: cluster.to_string() };
                return failed(cluster, done, e);
            };
            if let Err(e) = self.apply_round(&plan, &basis, &mut done).await {
                return failed(cluster, done, e);
            }
            last_plan = Some(plan);
        }
        let remaining = last_plan.map(|p| p.actions.iter().map(|a| a.kind().as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_default();
        failed(cluster, done, ReconcileError::NotConverging { cluster: cluster.to_string(), rounds: MAX_ROUNDS, remaining })
    }

    /// Applies a plan's actions in order. Returns early (Ok) when the cluster must be observed again.
    async fn apply_round(&self, plan: &Plan, basis: &Fingerprint, done: &mut Vec<AppliedAction>) -> Result<(), ReconcileError> {
        let mut identity = plan.identity.gating_ref();
        for action in &plan.actions {
            match self.apply_action(action, &mut identity, basis).await {
                Ok(result) => {
                    let replan = result.replan;
                    done.push(result.record);
                    if replan {
                        return Ok(());
                    }
                }
                Err(e) if e.needs_replan() => {
                    tracing::debug!(cluster = %plan.cluster, reason = %e, "planning again");
                    self.settle_after(&e, plan).await?;
                    return Ok(());
                }
                Err(e) if e.is_opt_out() || e.pending().is_some() => return Err(e),
                Err(e) => {
                    done.push(AppliedAction {
                        kind: action.kind(),
                        resource: action.resource(),
                        outcome: core::Outcome::Failed,
                        attempts: e.attempts(),
                    });
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// The result of a reconcile that stopped on `e`: `failed`, or `excluded` when a read that preceded a
/// write found the opt-out tag (the actions done before stay in the report).
fn failed(cluster: &ResourceId, done: Vec<AppliedAction>, e: ReconcileError) -> Applied {
    if e.is_opt_out() {
        let report =
            ApplyReport { cluster: cluster.clone(), status: ApplyStatus::Excluded, actions: done, blockers: Vec::new(), error: None };
        return Applied { report, error: None, compliant: None, pending: None };
    }
    if let ReconcileError::Deferred(pending) = e {
        let report = ApplyReport::failed(cluster.clone(), done, "deferred: an AKS operation is in progress".into());
        return Applied { report, error: None, compliant: None, pending: Some(*pending) };
    }
    let mut report = ApplyReport::failed(cluster.clone(), done, e.to_string());
    report.status = ApplyStatus::Failed;
    Applied { report, error: Some(e), compliant: None, pending: None }
}
