//! Direct mode's per-cluster path: every `ChangesNeeded` cluster, `backfill.concurrency` at a time,
//! round-robin over subscriptions — [`Engine::submit_planned`](crate::reconcile::Engine::submit_planned)
//! from its bulk plan, or [`Engine::apply`](crate::reconcile::Engine::apply) when it has none
//! (unreadable in Resource Graph).
//!
//! **Long operations**: a job ends when its cluster PUT is accepted; the operation goes to the run's
//! one shared poller (`poller`, outside the concurrency limit) and the next cluster starts. When the
//! operation ends the cluster is finished ([`Engine::finish_submitted`](crate::reconcile::Engine::finish_submitted):
//! read-back; `converged` only if it succeeded and the read-back is compliant; `Failed`/`Canceled` →
//! `failed` with the operation's error, not retried in this run). A cluster found `Creating`/`Updating`
//! when reached is parked in the poller, without a slot, and its job starts again once it is terminal.
//!
//! **A saved plan** (`strict`): each cluster is read from ARM first; one whose document differs from
//! what the plan was made from (Resource Graph lags ARM, or it changed since) is refused —
//! `changed_since_plan`, nothing written — instead of being reconciled afresh.
//!
//! **Interrupt**: once `stop` is requested no further cluster is started (the job stream ends); the
//! clusters in flight get `grace` to finish, then are dropped (their writes so far stand — every
//! write is idempotent, so a re-run finishes them). Never-started clusters are `not_reached`, dropped
//! ones `interrupted`; a cluster whose PUT was accepted but whose operation was still running is
//! `interrupted` with a detail saying so (a re-run verifies it); a parked busy one is `not_reached`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;

use super::backfill::{Backfill, BackfillOptions};
use super::pending::{Applying, PendingPlan, interleave};
use super::planner::Replanner;
use super::poller::{Ended, Poller};
use super::progress::Progress;
use super::summary::{ClusterResult, ClusterStatus, result_note};
use crate::core::model::ClusterView;
use crate::core::{ApplyReport, ApplyStatus, Outcome};
use crate::id::ResourceId;
use crate::reconcile::{Applied, Submission, Submitted, same_cluster};
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
        let jobs: VecDeque<JobSpec> = interleave(&pending, |i| results[i].cluster.subscription_id())
            .into_iter()
            .map(|i| (i, results[i].cluster.clone(), with.plans.remove(&results[i].cluster)))
            .collect();
        let run = Run { enabled: with.enabled, replanner: with.replanner, strict: with.strict };
        let concurrency = self.settings.backfill.concurrency.max(1);
        let azure = &self.settings.azure;
        let mut poller = Poller::new(self.engine.arm(), &azure.api_versions.managed_clusters, azure.operation_timeout);
        let mut writes: FuturesUnordered<LocalBoxFuture<'_, (usize, Job)>> = FuturesUnordered::new();
        let (mut queue, mut stages, mut finished) = (jobs, HashMap::new(), HashSet::new());
        let deadline = async {
            stop.requested().await;
            tokio::time::sleep(grace).await;
        };
        tokio::pin!(deadline);
        let mut applied = 0;
        loop {
            while writes.len() < concurrency && !stop.is_requested() {
                let Some(spec) = queue.pop_front() else { break };
                stages.insert(spec.0, Stage::Writing);
                writes.push(Box::pin(self.job(spec, run)));
            }
            progress.set_in_flight(writes.len());
            progress.set_awaiting(poller.len());
            if writes.is_empty() && poller.is_empty() {
                break;
            }
            let event = tokio::select! {
                biased;
                Some((i, job)) = writes.next(), if !writes.is_empty() => Event::Job(i, job),
                Some(ended) = poller.next(), if !poller.is_empty() => Event::Ended(ended),
                () = &mut deadline => break,
            };
            // What finished is out of both sets already: the counters are right when it is reported.
            progress.set_in_flight(writes.len());
            progress.set_awaiting(poller.len());
            let (i, job) = match event {
                Event::Job(i, job) => (i, job),
                Event::Ended(Ended::Operation(i, submitted, ended)) => {
                    writes.push(Box::pin(async move { (i, Job::Done(Box::new(self.engine.finish_submitted(*submitted, ended).await))) }));
                    continue;
                }
                Event::Ended(Ended::Settled(i, cluster, planned, Ok(()))) => {
                    queue.push_front((i, cluster, planned));
                    continue;
                }
                Event::Ended(Ended::Settled(i, cluster, _, Err(e))) => {
                    let why = format!("was busy when reached and waiting for its operation to end failed: {e}; a re-run takes it");
                    let result = ClusterResult::new(cluster, ClusterStatus::Failed, Some(why));
                    self.record(results, progress, &mut finished, i, result);
                    continue;
                }
            };
            let outcome = match job {
                Job::Done(outcome) => outcome,
                Job::Refused => {
                    let why = "its ARM document differs from what the saved plan was made from (it changed since, or Resource Graph lagged); nothing was written. Make a new plan and apply that";
                    let result = ClusterResult::new(results[i].cluster.clone(), ClusterStatus::ChangedSincePlan, Some(why.into()));
                    self.record(results, progress, &mut finished, i, result);
                    continue;
                }
                Job::Accepted(submitted) => {
                    stages.insert(i, Stage::Awaiting);
                    poller.follow(i, submitted);
                    continue;
                }
                Job::Busy(state, cluster, planned) => {
                    tracing::info!(%cluster, state, "cluster operation in progress; waiting for it without a slot");
                    stages.insert(i, Stage::Parked(state));
                    poller.park(i, cluster, planned);
                    continue;
                }
            };
            let mut result = applied_result(&outcome.report);
            if let Some(&n) = with.credit.get(&result.cluster).filter(|_| result.status == ClusterStatus::Compliant) {
                (result.status, result.writes) = (ClusterStatus::Converged, n);
            }
            applied += outcome.report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count() as u64;
            self.record(results, progress, &mut finished, i, result);
        }
        drop(writes);
        drop(poller);
        for &i in &pending {
            if finished.contains(&i) {
                continue;
            }
            let (status, detail) = unfinished(stages.get(&i), grace);
            (results[i].status, results[i].detail) = (status, Some(detail));
        }
        progress.finish();
        applied
    }

    /// Records a cluster's result.
    fn record(
        &self,
        results: &mut [ClusterResult],
        progress: &mut Progress,
        finished: &mut HashSet<usize>,
        i: usize,
        result: ClusterResult,
    ) {
        progress.note(&result_note(&result));
        results[i] = result;
        finished.insert(i);
        progress.advance();
    }

    /// One cluster's job: submit its plan (up to the cluster PUT's answer), or the full apply when it
    /// has none.
    async fn job(&self, (i, cluster, planned): JobSpec, run: Run<'_>) -> (usize, Job) {
        let outcome = match (planned, run.replanner) {
            (Some(seen), _) if run.strict && !self.unchanged_in_arm(&cluster, &seen).await => Job::Refused,
            (Some(seen), Some(replanner)) => {
                let plan = replanner.plan(&seen, self.engine.policy());
                match self.engine.submit_planned(&plan, &seen, run.enabled).await {
                    Submission::Done(applied) => Job::Done(applied),
                    Submission::Accepted(submitted) => Job::Accepted(submitted),
                    Submission::Busy(state) => Job::Busy(state, cluster, Some(seen)),
                }
            }
            _ => Job::Done(Box::new(self.engine.apply(&cluster).await)),
        };
        (i, outcome)
    }
}

/// A job to start: the result index, the cluster, its pending bulk view.
type JobSpec = (usize, ResourceId, Option<PendingPlan>);

/// What every job of a run shares.
#[derive(Clone, Copy)]
struct Run<'a> {
    enabled: &'a [ResourceId],
    replanner: Option<&'a Replanner>,
    strict: bool,
}

/// Where a started cluster is.
enum Stage {
    /// Its job runs (reads, writes).
    Writing,
    /// Its cluster PUT was accepted; the poller follows the operation.
    Awaiting,
    /// It was found in this transitional state; the poller waits for it to end.
    Parked(String),
}

/// What woke the loop.
enum Event {
    Job(usize, Job),
    Ended(Ended<Option<PendingPlan>>),
}

/// The status and detail of a cluster the run did not finish.
fn unfinished(stage: Option<&Stage>, grace: Duration) -> (ClusterStatus, String) {
    match stage {
        None => (ClusterStatus::NotReached, "not started: the run was interrupted; a re-run takes it".into()),
        Some(Stage::Writing) => (
            ClusterStatus::Interrupted,
            format!("in flight when interrupted and abandoned after {} s; writes made so far stand, a re-run finishes it", grace.as_secs()),
        ),
        Some(Stage::Awaiting) => (
            ClusterStatus::Interrupted,
            "its cluster PUT was accepted and the operation was still running when the run was interrupted; the writes stand, a re-run verifies it".into(),
        ),
        Some(Stage::Parked(state)) => (
            ClusterStatus::NotReached,
            format!("was {state} when reached (nothing written) and the run was interrupted while waiting; a re-run takes it"),
        ),
    }
}

/// What one job did.
enum Job {
    /// Applied (or tried).
    Done(Box<Applied>),
    /// Strict mode: refused, the cluster is not as planned.
    Refused,
    /// The cluster PUT was accepted: its operation goes to the poller.
    Accepted(Box<Submitted>),
    /// The cluster is in this transitional state: parked in the poller, started again when terminal.
    Busy(String, ResourceId, Option<PendingPlan>),
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
