//! The planned path split at the cluster PUT: **submit** ([`Engine::submit_planned`]) runs a bulk
//! plan's actions up to the cluster PUT's answer and returns what following the operation needs
//! ([`Submitted`]: the operation handle, the written document, the edit, the actions so far), and
//! **finish** ([`Engine::finish_submitted`]) takes the operation's end: the read-back check of
//! `cluster_write` (`check_read_back`) — confirmed → converged; another writer's change → the full
//! [`Engine::apply`], as `apply_planned` does; a `Failed`/`Canceled` operation → `failed` with its error.
//!
//! Between the two nothing is held but the [`Submitted`] value, so a caller (the backfill) can follow
//! many operations without a concurrency slot each. A cluster found `Creating`/`Updating` is returned
//! as [`Submission::Busy`] instead of being waited for.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::apply::{ActionResult, done};
use super::cluster_write::Put;
use super::{Applied, Engine, ReconcileError, failed};
use crate::arm::{ArmError, ArmResponse, OperationHandle};
use crate::core::gating::{DesiredEntry, apply_security_gating};
use crate::core::model::ClusterView;
use crate::core::unchanged::Fingerprint;
use crate::core::{Action, AppliedAction, ApplyReport, ApplyStatus, Outcome, Plan};
use crate::id::ResourceId;

/// A cluster PUT answered 2xx whose operation is not followed yet.
pub(super) struct Accepted {
    pub response: ArmResponse,
    pub written: Value,
    pub desired: Vec<DesiredEntry>,
}

/// Where the planned path stopped (see `planned`).
pub(super) enum Converging {
    /// Finished (converged, failed, handed over and finished).
    Done(Box<Applied>),
    /// The final cluster PUT was accepted; the actions done so far (the PUT included).
    Accepted(Box<Accepted>, Vec<AppliedAction>),
    /// The cluster is in this transitional `provisioningState`; nothing was written.
    Busy(String),
}

impl Converging {
    pub(super) fn done(applied: Applied) -> Self {
        Self::Done(Box::new(applied))
    }
}

/// The gating edit up to the PUT's answer.
pub(super) enum Submit {
    /// Nothing written (already present), or another answer that ends the action.
    Done(ActionResult),
    /// Accepted: the action's record and what follows it.
    Accepted(AppliedAction, Box<Accepted>),
}

/// A cluster whose PUT was accepted and whose operation is running: all that finishing it needs. The
/// written document is kept as compact JSON text (a parsed cluster document is several times larger,
/// and a backfill holds one per operation it awaits).
#[derive(Debug)]
pub struct Submitted {
    cluster: ResourceId,
    operation: OperationHandle,
    written: Box<str>,
    desired: Vec<DesiredEntry>,
    actions: Vec<AppliedAction>,
    accepted_at: Instant,
}

impl Submitted {
    /// The cluster written.
    pub fn cluster(&self) -> &ResourceId {
        &self.cluster
    }

    /// The operation to follow.
    pub fn operation(&self) -> &OperationHandle {
        &self.operation
    }

    /// How long ago the PUT was accepted.
    pub fn running_for(&self) -> Duration {
        self.accepted_at.elapsed()
    }
}

/// What [`Engine::submit_planned`] got to.
#[derive(Debug)]
pub enum Submission {
    /// Finished without an operation to follow.
    Done(Box<Applied>),
    /// The cluster PUT was accepted: follow its operation, then [`Engine::finish_submitted`].
    Accepted(Box<Submitted>),
    /// The cluster is `Creating`/`Updating` (this state): nothing was written; try again when terminal.
    Busy(String),
}

impl Engine {
    /// [`Engine::apply_planned`] without waiting: a busy cluster is returned as [`Submission::Busy`], and
    /// a plan whose last action is the cluster's gating edit returns once that PUT is accepted. Other
    /// cluster edits (prerequisites, which need a re-plan) still run to the end here.
    pub async fn submit_planned(&self, plan: &Plan, seen: &ClusterView, enabled: &[ResourceId]) -> Submission {
        let cluster = &plan.cluster;
        let (accepted, mut actions) = match self.converge_planned(plan, seen, enabled, true).await {
            Converging::Done(applied) => return Submission::Done(applied),
            Converging::Busy(state) => return Submission::Busy(state),
            Converging::Accepted(accepted, actions) => (*accepted, actions),
        };
        match self.arm.operation(&accepted.response) {
            Ok(Some(operation)) => Submission::Accepted(Box::new(Submitted {
                cluster: cluster.clone(),
                operation,
                written: serde_json::to_string(&accepted.written).unwrap_or_default().into_boxed_str(),
                desired: accepted.desired,
                actions,
                accepted_at: Instant::now(),
            })),
            Ok(None) => Submission::Done(Box::new(self.finish_now(cluster, accepted, actions).await)),
            Err(e) => {
                mark_last_failed(&mut actions);
                Submission::Done(Box::new(failed(cluster, actions, e.into())))
            }
        }
    }

    /// Finishes a submitted cluster once its operation ended: `Ok` with the final document (the
    /// operation succeeded), or the operation's (or its polls') error.
    pub async fn finish_submitted(&self, submitted: Submitted, ended: Result<Value, ArmError>) -> Applied {
        let Submitted { cluster, written, desired, actions, .. } = submitted;
        // Our own serialization of a JSON value: parsing it back cannot fail; if it did, the read-back
        // check would reject `Null` as a cluster document and the cluster would be reported failed.
        let written: Value = serde_json::from_str(&written).unwrap_or(Value::Null);
        self.finish(&cluster, &written, &desired, actions, ended.map_err(ReconcileError::from)).await
    }

    /// The old path for an accepted PUT: wait for its operation here.
    pub(super) async fn wait_accepted(&self, cluster: &ResourceId, accepted: Accepted, actions: Vec<AppliedAction>) -> Applied {
        let ended = match self.arm.wait_for_lro(&accepted.response).await {
            Ok(lro) if lro.polls > 0 => Ok(lro.body),
            Ok(_) => return self.finish_now(cluster, accepted, actions).await,
            Err(e) => Err(e.into()),
        };
        self.finish(cluster, &accepted.written, &accepted.desired, actions, ended).await
    }

    /// A PUT that was not long-running: its answer is not a read, so the cluster is read.
    async fn finish_now(&self, cluster: &ResourceId, accepted: Accepted, actions: Vec<AppliedAction>) -> Applied {
        let version = &self.settings.azure.api_versions.managed_clusters;
        let after = match self.arm.get(cluster.as_str(), version).await {
            Ok(Some(read)) => Ok(read.body),
            Ok(None) => Err(ReconcileError::ClusterGone { cluster: cluster.to_string() }),
            Err(e) => Err(e.into()),
        };
        self.finish(cluster, &accepted.written, &accepted.desired, actions, after).await
    }

    async fn finish(
        &self,
        cluster: &ResourceId,
        written: &Value,
        desired: &[DesiredEntry],
        mut actions: Vec<AppliedAction>,
        ended: Result<Value, ReconcileError>,
    ) -> Applied {
        let after = match ended {
            Ok(after) => after,
            Err(e) => {
                mark_last_failed(&mut actions);
                return failed(cluster, actions, e);
            }
        };
        let edit = |doc: &mut Value| apply_security_gating(doc, desired);
        match self.read_back_confirms(cluster, written, &after, &edit) {
            Ok(true) => {
                let report =
                    ApplyReport { cluster: cluster.clone(), status: ApplyStatus::Converged, actions, blockers: Vec::new(), error: None };
                Applied { report, error: None, compliant: None, pending: None }
            }
            Ok(false) => {
                let mut full = self.apply(cluster).await;
                actions.append(&mut full.report.actions);
                full.report.actions = actions;
                full
            }
            Err(e) => failed(cluster, actions, e),
        }
    }

    /// One cluster GET (guarded): `Ok(Err(state))` when an operation is running on it.
    pub(super) async fn read_unless_busy(
        &self,
        cluster: &ResourceId,
    ) -> Result<Result<(ArmResponse, ClusterView), String>, ReconcileError> {
        let version = &self.settings.azure.api_versions.managed_clusters;
        let resp =
            self.arm.get(cluster.as_str(), version).await?.ok_or_else(|| ReconcileError::ClusterGone { cluster: cluster.to_string() })?;
        let view = self.guard_read(cluster, &resp)?;
        if view.is_busy() {
            return Ok(Err(resp.provisioning_state().unwrap_or_default().to_string()));
        }
        Ok(Ok((resp, view)))
    }

    /// The gating edit up to the PUT's answer (see `cluster_write`).
    pub(super) async fn submit_gating_edit(
        &self,
        action: &Action,
        cluster: &ResourceId,
        current: ArmResponse,
        basis: &Fingerprint,
        desired: Vec<DesiredEntry>,
    ) -> Result<Submit, ReconcileError> {
        let edit = |doc: &mut Value| apply_security_gating(doc, &desired);
        match self.put_cluster(cluster, basis, Some(current), &edit).await? {
            Put::Done(w) => {
                let mut result = done(action, cluster.to_string(), w.outcome, w.attempts);
                result.replan = !w.confirmed;
                Ok(Submit::Done(result))
            }
            Put::Accepted { response, written } => {
                let record = done(action, cluster.to_string(), Outcome::Applied, response.attempts).record;
                Ok(Submit::Accepted(record, Box::new(Accepted { response: *response, written, desired })))
            }
        }
    }
}

/// The cluster PUT (the last action) did not take effect.
fn mark_last_failed(actions: &mut [AppliedAction]) {
    if let Some(last) = actions.last_mut() {
        last.outcome = Outcome::Failed;
    }
}
