//! Converging a cluster from a plan made elsewhere — a backfill's bulk observation through Resource
//! Graph — reading from ARM only what the writes need, instead of a full observation before and after.
//!
//! 1. **One cluster GET** (waiting while an operation runs; scope and the opt-out tag re-checked): its
//!    ETag guards the cluster PUT, and its content must match what the bulk observation saw
//!    ([`same_cluster`]); Resource Graph lags ARM, so a cluster that changed since is handed to the full
//!    [`Engine::apply`]. A cluster tagged with the opt-out tag since stops here (`excluded`).
//! 2. **The plan's actions in order**, each idempotent as in `apply`. Creating the gating identity reads
//!    it first (Resource Graph may not show an identity created moments ago, and a PUT over an existing
//!    one would replace its tags). Defender plans the caller already enabled are skipped. The cluster
//!    edit uses the GET of step 1 when it carries an ETag; without one (real GA clusters) the cluster is
//!    read again right before the PUT (`If-Match: *`, see `cluster_write`), and that read must still
//!    show what step 1 saw.
//! 3. **Verification without a re-observation**: every write answered 2xx (or "already there"), and the
//!    cluster as its update left it (the LRO's final read) holds the edit with nothing else the planner
//!    reads changed.
//!
//! With `defer` (the backfill, through `Engine::submit_planned` in `submitted`) a busy cluster is
//! not waited for and the final cluster PUT ends the call once accepted; its operation is followed
//! by the caller.
//!
//! Anything unexpected — an edit that asks for a fresh plan (412, prerequisites changed), an operation in
//! progress, a verification that fails — continues with the full `apply`, which observes everything
//! again; the actions done so far stay in the report.

use serde_json::Value;

use super::apply::{ActionResult, done};
use super::submitted::{Accepted, Converging, Submit};
use super::{Applied, Engine, ReconcileError, failed};
use crate::arm::ArmResponse;
use crate::core::gating::{DesiredEntry, GatingIdentityRef, apply_security_gating, desired_entries};
use crate::core::model::{ClusterView, IdentityView};
use crate::core::unchanged::Fingerprint;
use crate::core::{Action, AppliedAction, ApplyReport, ApplyStatus, Outcome, Plan};
use crate::id::ResourceId;

/// Why the planned path handed over to the full reconcile.
pub(super) enum Handover {
    /// The cluster must be observed again (the actions done so far are kept).
    Replan(&'static str),
    /// A write failed.
    Failed(ReconcileError),
}

impl Engine {
    /// Converges the cluster of `plan` (`ChangesNeeded`, made from a bulk observation in which the
    /// cluster looked like `seen`), skipping `EnableDefenderPlan` for the pricing resources in
    /// `enabled` (already written by the caller). See the module docs for what is read.
    pub async fn apply_planned(&self, plan: &Plan, seen: &ClusterView, enabled: &[ResourceId]) -> Applied {
        match self.converge_planned(plan, seen, enabled, false).await {
            Converging::Done(applied) => *applied,
            Converging::Accepted(accepted, actions) => self.wait_accepted(&plan.cluster, *accepted, actions).await,
            Converging::Busy(_) => self.apply(&plan.cluster).await,
        }
    }

    /// [`Engine::apply_planned`]; with `defer`, a cluster found busy is not waited for
    /// ([`Converging::Busy`]) and a cluster PUT that is the plan's last action ends the call when it is
    /// accepted ([`Converging::Accepted`]).
    pub(super) async fn converge_planned(&self, plan: &Plan, seen: &ClusterView, enabled: &[ResourceId], defer: bool) -> Converging {
        let cluster = &plan.cluster;
        let actions: Vec<&Action> = plan.actions.iter().filter(|a| !is_enabled_plan(a, enabled)).collect();
        if actions.is_empty() {
            let report = ApplyReport {
                cluster: cluster.clone(),
                status: ApplyStatus::Converged,
                actions: Vec::new(),
                blockers: Vec::new(),
                error: None,
            };
            return Converging::done(Applied { report, error: None, compliant: None, pending: None });
        }
        let read = if defer { self.read_unless_busy(cluster).await } else { self.read_settled(cluster).await.map(Ok) };
        let (current, now) = match read {
            Ok(Ok(read)) => read,
            Ok(Err(state)) => return Converging::Busy(state),
            Err(e) => return Converging::done(failed(cluster, Vec::new(), e)),
        };
        if !same_cluster(&now, seen) {
            tracing::debug!(%cluster, "the cluster changed since the bulk observation; reconciling it fully");
            return Converging::done(self.apply(cluster).await);
        }
        let basis = self.basis_of(&now);
        let mut done_actions = Vec::new();
        match self.run_planned(plan, &actions, current, &basis, &mut done_actions, defer).await {
            Ok(None) => {
                let report = ApplyReport {
                    cluster: cluster.clone(),
                    status: ApplyStatus::Converged,
                    actions: done_actions,
                    blockers: Vec::new(),
                    error: None,
                };
                Converging::done(Applied { report, error: None, compliant: None, pending: None })
            }
            Ok(Some(accepted)) => Converging::Accepted(Box::new(accepted), done_actions),
            Err(Handover::Failed(e)) => Converging::done(failed(cluster, done_actions, e)),
            Err(Handover::Replan(why)) => {
                tracing::debug!(%cluster, why, "planned path handed over to a full reconcile");
                let mut full = self.apply(cluster).await;
                done_actions.append(&mut full.report.actions);
                full.report.actions = done_actions;
                Converging::done(full)
            }
        }
    }

    /// Runs the actions; `current` is the cluster GET whose ETag (if any) the cluster edit uses, `basis`
    /// its fingerprint.
    async fn run_planned(
        &self,
        plan: &Plan,
        actions: &[&Action],
        current: ArmResponse,
        basis: &Fingerprint,
        out: &mut Vec<AppliedAction>,
        defer: bool,
    ) -> Result<Option<Accepted>, Handover> {
        let mut identity = plan.identity.gating_ref();
        let mut current = Some(current);
        for (n, action) in actions.iter().enumerate() {
            let result = match action {
                Action::CreateIdentity { resource, .. } => self.create_identity_once(action, resource, &mut identity, basis).await,
                Action::UpdateSecurityGating { resource, add, .. } => match (current.take(), identity.clone()) {
                    (Some(got), Some(who)) if defer && n + 1 == actions.len() => {
                        let desired = desired_entries(add, &who);
                        match self.submit_gating_edit(action, resource, got, basis, desired).await {
                            Ok(Submit::Accepted(record, accepted)) => {
                                out.push(record);
                                return Ok(Some(*accepted));
                            }
                            Ok(Submit::Done(r)) => Ok(r),
                            Err(e) => Err(e),
                        }
                    }
                    (Some(got), Some(who)) => self.gating_edit(action, resource, got, basis, &desired_entries(add, &who)).await,
                    _ => return Err(Handover::Replan("a second cluster edit, or no gating identity")),
                },
                _ => self.apply_action(action, &mut identity, basis).await,
            };
            match result {
                Ok(r) => {
                    let replan = r.replan;
                    out.push(r.record);
                    if replan {
                        return Err(Handover::Replan("the action changed the cluster"));
                    }
                }
                Err(e) if e.needs_replan() => {
                    self.settle_after(&e, plan).await.map_err(Handover::Failed)?;
                    return Err(Handover::Replan("ARM asked for a fresh plan"));
                }
                Err(e) if e.is_opt_out() => return Err(Handover::Failed(e)),
                Err(e) => {
                    out.push(AppliedAction {
                        kind: action.kind(),
                        resource: action.resource(),
                        outcome: Outcome::Failed,
                        attempts: e.attempts(),
                    });
                    return Err(Handover::Failed(e));
                }
            }
        }
        Ok(None)
    }

    /// GETs the identity first; creates it only when absent.
    async fn create_identity_once(
        &self,
        action: &Action,
        resource: &ResourceId,
        identity: &mut Option<GatingIdentityRef>,
        basis: &Fingerprint,
    ) -> Result<ActionResult, ReconcileError> {
        let version = &self.settings.azure.api_versions.managed_identity;
        match self.arm.get(resource.as_str(), version).await? {
            Some(resp) => {
                let view = IdentityView::from_json(&resp.body).map_err(|e| ReconcileError::model(resource, e))?;
                *identity = Some(GatingIdentityRef::from_identity(&view));
                Ok(done(action, resource.to_string(), Outcome::AlreadyPresent, resp.attempts))
            }
            None => self.apply_action(action, identity, basis).await,
        }
    }

    /// The gating edit from the GET already made (its ETag guards the PUT; without one the cluster is
    /// read again first); the cluster the update left must confirm it (verification).
    async fn gating_edit(
        &self,
        action: &Action,
        cluster: &ResourceId,
        current: ArmResponse,
        basis: &Fingerprint,
        desired: &[DesiredEntry],
    ) -> Result<ActionResult, ReconcileError> {
        let edit = |doc: &mut Value| apply_security_gating(doc, desired);
        let w = self.write_cluster(cluster, basis, Some(current), &edit).await?;
        let mut result = done(action, cluster.to_string(), w.outcome, w.attempts);
        result.replan = !w.confirmed;
        Ok(result)
    }
}

fn is_enabled_plan(action: &Action, enabled: &[ResourceId]) -> bool {
    matches!(action, Action::EnableDefenderPlan { resource, .. } if enabled.contains(resource))
}

/// True when ARM's cluster is the one the plan was made from (the ETag aside: Resource Graph has none).
pub fn same_cluster(now: &ClusterView, seen: &ClusterView) -> bool {
    let strip = |v: &ClusterView| ClusterView { etag: None, ..v.clone() };
    strip(now) == strip(seen)
}
