//! Direct mode's per-cluster path: every `ChangesNeeded` cluster, `backfill.concurrency` at a time,
//! round-robin over subscriptions — [`Engine::apply_planned`](crate::reconcile::Engine::apply_planned)
//! from its bulk plan, or [`Engine::apply`](crate::reconcile::Engine::apply) when it has none
//! (unreadable in Resource Graph).
//!
//! **A saved plan** (`strict`): each cluster is read from ARM first; one whose document differs from
//! what the plan was made from (Resource Graph lags ARM, or it changed since) is refused —
//! `changed_since_plan`, nothing written — instead of being reconciled afresh.
//!
//! **Interrupt**: once `stop` is requested no further cluster is started (the job stream ends); the
//! clusters in flight get `grace` to finish, then are dropped (their writes so far stand — every
//! write is idempotent, so a re-run finishes them). Never-started clusters are `not_reached`, dropped
//! ones `interrupted`.

use std::cell::RefCell;
use std::time::Duration;

use futures::{StreamExt, stream};

use super::backfill::{Backfill, BackfillOptions};
use super::pending::{Applying, PendingPlan, interleave};
use super::progress::Progress;
use super::summary::{ClusterResult, ClusterStatus, result_note};
use crate::core::model::ClusterView;
use crate::core::{ApplyReport, ApplyStatus, Outcome};
use crate::id::ResourceId;
use crate::reconcile::{Applied, same_cluster};
use crate::worker::Shutdown;

impl Backfill {
    /// Runs the per-cluster path (see the module docs). Returns the actions applied.
    pub(super) async fn reconcile(
        &self,
        results: &mut [ClusterResult],
        options: &BackfillOptions,
        mut with: Applying<'_>,
        progress: &mut Progress,
        stop: &Shutdown,
        grace: Duration,
    ) -> u64 {
        let pending: Vec<usize> = (0..results.len()).filter(|&i| results[i].status == ClusterStatus::ChangesNeeded).collect();
        progress.begin(results.len(), results.len() - pending.len());
        if options.dry_run {
            for &i in &pending {
                progress.note(&format!("would change {} ({})", results[i].cluster, results[i].detail.as_deref().unwrap_or("")));
                progress.advance();
            }
            progress.finish();
            return 0;
        }
        let jobs: Vec<(usize, ResourceId, Option<PendingPlan>)> = interleave(&pending, |i| results[i].cluster.subscription_id())
            .into_iter()
            .map(|i| (i, results[i].cluster.clone(), with.plans.remove(&results[i].cluster)))
            .collect();
        let (enabled, replanner, strict) = (with.enabled, with.replanner, with.strict);
        let started = RefCell::new(Vec::new());
        let mut done = stream::iter(jobs)
            .take_while(|_| std::future::ready(!stop.is_requested()))
            .inspect(|(i, ..)| started.borrow_mut().push(*i))
            .map(|(i, cluster, planned)| async move {
                let outcome = match (planned, replanner) {
                    (Some(seen), _) if strict && !self.unchanged_in_arm(&cluster, &seen).await => Job::Refused,
                    (Some(seen), Some(replanner)) => {
                        let plan = replanner.plan(&seen, self.engine.policy());
                        Job::Done(Box::new(self.engine.apply_planned(&plan, &seen, enabled).await))
                    }
                    _ => Job::Done(Box::new(self.engine.apply(&cluster).await)),
                };
                (i, outcome)
            })
            .buffer_unordered(self.settings.backfill.concurrency.max(1));
        let deadline = async {
            stop.requested().await;
            tokio::time::sleep(grace).await;
        };
        tokio::pin!(deadline);
        let (mut applied, mut finished) = (0, Vec::new());
        loop {
            let (i, job) = tokio::select! {
                biased;
                next = done.next() => match next {
                    Some(item) => item,
                    None => break,
                },
                () = &mut deadline => break,
            };
            progress.set_in_flight(started.borrow().len().saturating_sub(finished.len() + 1));
            let outcome = match job {
                Job::Done(outcome) => outcome,
                Job::Refused => {
                    let why = "its ARM document differs from what the saved plan was made from (it changed since, or Resource Graph lagged); nothing was written. Make a new plan and apply that";
                    let result = ClusterResult::new(results[i].cluster.clone(), ClusterStatus::ChangedSincePlan, Some(why.into()));
                    progress.note(&result_note(&result));
                    results[i] = result;
                    finished.push(i);
                    progress.advance();
                    continue;
                }
            };
            let mut result = applied_result(&outcome.report);
            if let Some(&n) = with.credit.get(&result.cluster).filter(|_| result.status == ClusterStatus::Compliant) {
                (result.status, result.writes) = (ClusterStatus::Converged, n);
            }
            applied += outcome.report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count() as u64;
            progress.note(&result_note(&result));
            results[i] = result;
            finished.push(i);
            progress.advance();
        }
        drop(done);
        let started = started.into_inner();
        for &i in &pending {
            if finished.contains(&i) {
                continue;
            }
            let r = &mut results[i];
            if started.contains(&i) {
                r.status = ClusterStatus::Interrupted;
                r.detail = Some(format!(
                    "in flight when interrupted and abandoned after {} s; writes made so far stand, a re-run finishes it",
                    grace.as_secs()
                ));
            } else {
                r.status = ClusterStatus::NotReached;
                r.detail = Some("not started: the run was interrupted; a re-run takes it".into());
            }
        }
        progress.finish();
        applied
    }
}

/// What one job did.
enum Job {
    /// Applied (or tried).
    Done(Box<Applied>),
    /// Strict mode: refused, the cluster is not as planned.
    Refused,
}

impl Backfill {
    /// Strict mode: true when ARM shows the cluster as the plan saw it (a failed read counts as
    /// unchanged: the per-cluster path reads again and reports the failure).
    async fn unchanged_in_arm(&self, cluster: &ResourceId, seen: &ClusterView) -> bool {
        let version = &self.settings.azure.api_versions.managed_clusters;
        match self.engine.arm().get(cluster.as_str(), version).await {
            Ok(Some(resp)) => ClusterView::from_json(&resp.body).is_ok_and(|now| same_cluster(&now, seen)),
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

/// A cluster's result from its per-cluster apply.
fn applied_result(report: &ApplyReport) -> ClusterResult {
    let writes = report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count();
    let (status, detail) = match report.status {
        ApplyStatus::Converged if writes > 0 => (ClusterStatus::Converged, None),
        ApplyStatus::Converged => (ClusterStatus::Compliant, None),
        ApplyStatus::Blocked => (ClusterStatus::Blocked, report.blockers.first().map(|b| format!("{}: {}", b.code, b.message))),
        ApplyStatus::Excluded => (ClusterStatus::Excluded, None),
        ApplyStatus::Failed => (ClusterStatus::Failed, report.error.clone()),
    };
    let mut result = ClusterResult::new(report.cluster.clone(), status, detail);
    result.actions = report.actions.iter().map(|a| a.kind).collect();
    result.writes = writes;
    result.blockers = report.blockers.clone();
    result
}
