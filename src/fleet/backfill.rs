//! The backfill runner: enumerate → bulk observe and plan → the per-cluster path for the clusters that
//! need writes (`direct`, bounded concurrency under the [`Budget`]) or one reconcile command per such
//! cluster on the queue (`enqueue`). `dry_run` stops after planning.
//!
//! Direct mode keeps each such cluster's view (its bulk plan is rebuilt, identical, when its job
//! starts: see `pending`) and hands the plan to
//! [`Engine::apply_planned`](crate::reconcile::Engine::apply_planned): one cluster GET (its ETag, and
//! a check against what Resource Graph showed) plus the writes, instead of a full observation before
//! and after. Clusters are taken round-robin over their subscriptions, so every subscription's budget
//! is drawn on at once instead of one subscription after another.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, stream};
use time::OffsetDateTime;

use super::budget::{Budget, BudgetLimits};
use super::commands::backfill_message;
use super::inventory::FicMode;
use super::load::enumerate_clusters;
use super::observe::{BulkEntry, BulkOptions, Verdict, bulk_observe};
use super::pending::{Applying, PendingPlan, Planned, interleave};
use super::progress::Progress;
use super::summary::{ClusterResult, ClusterStatus, Mode, RunReport, Summary};
use super::{FleetError, Selection};
use crate::arm::ArmStats;
use crate::config::Settings;
use crate::core::{ApplyReport, ApplyStatus, Outcome, PlanStatus};
use crate::id::ResourceId;
use crate::queue::ServiceBusQueue;
use crate::reconcile::Engine;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillOptions {
    /// Direct or enqueue.
    pub mode: Mode,
    /// Plan only; write and send nothing.
    pub dry_run: bool,
    /// Only the first N clusters (by ID).
    pub max_clusters: Option<usize>,
    /// Federated credentials: trust the gating entries, or list them.
    pub fic_mode: FicMode,
    /// Run ID: with the cluster, the enqueued message's `MessageId` (re-runs with the same ID dedupe).
    pub run_id: String,
    /// Enqueue mode: a command for every cluster, without the bulk observation.
    pub all: bool,
}

/// A backfill over one engine; its [`Budget`] paces every ARM request of the engine's client.
#[derive(Debug)]
pub struct Backfill {
    engine: Engine,
    settings: Arc<Settings>,
    budget: Arc<Budget>,
}

impl Backfill {
    /// Installs a budget from `[backfill]` on the engine's ARM client (if it has no hook yet).
    pub fn new(engine: Engine, settings: Arc<Settings>) -> Self {
        let budget = Arc::new(Budget::new(BudgetLimits::from(&settings.backfill)));
        if !engine.arm().set_request_hook(budget.clone()) {
            tracing::warn!("the ARM client already has a request hook; this backfill is not paced by its own budget");
        }
        Self { engine, settings, budget }
    }

    /// The budget (request counts by kind).
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Runs one backfill. `queue` is required in enqueue mode unless `dry_run`.
    pub async fn run(
        &self,
        selection: &Selection,
        options: &BackfillOptions,
        queue: Option<&ServiceBusQueue>,
        progress: &mut Progress,
    ) -> Result<RunReport, FleetError> {
        let started = Instant::now();
        let (stats_before, kinds_before, paced_before) = (self.engine.arm().stats(), self.budget.requests_by_kind(), self.budget.paced());
        let (mut results, mut warnings, mut planned) = match options.mode {
            Mode::Enqueue if options.all => (self.all_clusters(selection, options).await?, Vec::new(), Planned::default()),
            _ => self.bulk_results(selection, options).await?,
        };
        let mut applied_writes = 0;
        match options.mode {
            Mode::Direct => {
                let (mut credit, mut enabled) = (HashMap::new(), Vec::new());
                if !options.dry_run {
                    enabled = self.enable_plans(&planned.pricing, progress, &mut warnings).await;
                    applied_writes += enabled.len() as u64;
                    credit = planned.credit(&enabled);
                }
                let plans = std::mem::take(&mut planned.plans);
                let with = Applying { plans, replanner: planned.replanner.as_ref(), enabled: &enabled, credit: &credit };
                applied_writes += self.reconcile(&mut results, options, with, progress).await;
            }
            Mode::Enqueue => self.enqueue(&mut results, options, queue, progress).await?,
        }
        results.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        let after = self.engine.arm().stats();
        let mut summary = Summary::count(&results, options.mode, options.dry_run);
        summary.writes = after.writes - stats_before.writes;
        summary.arm_requests = requests(&after) - requests(&stats_before);
        summary.throttled = after.throttled - stats_before.throttled;
        summary.duration_s = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let mut requests_by_kind = self.budget.requests_by_kind();
        for (kind, n) in requests_by_kind.iter_mut() {
            *n -= kinds_before.get(kind).copied().unwrap_or(0);
        }
        requests_by_kind.retain(|_, n| *n > 0);
        Ok(RunReport {
            mode: options.mode,
            dry_run: options.dry_run,
            summary,
            clusters: results,
            requests_by_kind,
            reads: after.reads - stats_before.reads,
            retries: after.retries - stats_before.retries,
            planned_writes: planned.writes,
            applied_writes,
            paced_s: self.budget.paced().saturating_sub(paced_before).as_secs_f64(),
            warnings,
        })
    }

    /// Bulk-plans; clusters that need the per-cluster path come back `ChangesNeeded`.
    async fn bulk_results(
        &self,
        selection: &Selection,
        options: &BackfillOptions,
    ) -> Result<(Vec<ClusterResult>, Vec<String>, Planned), FleetError> {
        let bulk_options =
            BulkOptions { fic_mode: options.fic_mode, max_clusters: options.max_clusters, concurrency: self.settings.backfill.concurrency };
        let mut planned = Planned::default();
        let keep_plans = options.mode == Mode::Direct && !options.dry_run;
        let (arm, policy) = (self.engine.arm(), self.engine.policy());
        let (bulk, replanner) = bulk_observe(arm, &self.settings, policy, selection, bulk_options, |entry| {
            planned.add(&entry);
            let result = bulk_result(&entry);
            if keep_plans
                && result.status == ClusterStatus::ChangesNeeded
                && let Verdict::Planned { seen, .. } = entry.verdict
            {
                // The plan is dropped here and rebuilt when the cluster's job starts (`pending`).
                planned.plans.insert(entry.cluster, seen);
            }
            result
        })
        .await?;
        if keep_plans {
            planned.replanner = Some(replanner);
        }
        planned.pricing.sort();
        Ok((bulk.items, bulk.warnings, planned))
    }

    /// Enables each subscription's Defender plan once, before the clusters that share it (so two
    /// clusters never both write it). Failures are left for those clusters to report. Returns the
    /// pricing resources written.
    async fn enable_plans(&self, pricing: &[ResourceId], progress: &mut Progress, warnings: &mut Vec<String>) -> Vec<ResourceId> {
        let mut applied = Vec::new();
        for id in pricing {
            match self.engine.enable_defender_plan(id).await {
                Ok((Outcome::Applied, _)) => {
                    applied.push(id.clone());
                    progress.note(&format!("enabled the Defender for Containers plan pieces at {id}"));
                }
                Ok(_) => {}
                Err(e) => warnings.push(format!("enabling {id} failed (its clusters will retry and report it): {e}")),
            }
        }
        applied
    }

    /// Every cluster of the selection, `ChangesNeeded` (enqueue `--all`).
    async fn all_clusters(&self, selection: &Selection, options: &BackfillOptions) -> Result<Vec<ClusterResult>, FleetError> {
        let mut ids = enumerate_clusters(self.engine.arm(), selection).await?;
        ids.truncate(options.max_clusters.unwrap_or(usize::MAX));
        Ok(ids
            .into_iter()
            .map(|cluster| ClusterResult { cluster, status: ClusterStatus::ChangesNeeded, actions: 0, detail: None })
            .collect())
    }

    /// Direct mode: every `ChangesNeeded` cluster, `backfill.concurrency` at a time, round-robin over
    /// subscriptions — `Engine::apply_planned` from its bulk plan, or `Engine::apply` when it has none
    /// (unreadable in Resource Graph). Returns the actions applied.
    async fn reconcile(
        &self,
        results: &mut [ClusterResult],
        options: &BackfillOptions,
        mut with: Applying<'_>,
        progress: &mut Progress,
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
        let (enabled, replanner) = (with.enabled, with.replanner);
        let mut done = stream::iter(jobs)
            .map(|(i, cluster, planned)| async move {
                let outcome = match (planned, replanner) {
                    (Some(seen), Some(replanner)) => {
                        let plan = replanner.plan(&seen, self.engine.policy());
                        self.engine.apply_planned(&plan, &seen, enabled).await
                    }
                    _ => self.engine.apply(&cluster).await,
                };
                (i, outcome)
            })
            .buffer_unordered(self.settings.backfill.concurrency.max(1));
        let mut applied = 0;
        while let Some((i, outcome)) = done.next().await {
            let mut result = applied_result(&outcome.report);
            if let Some(&n) = with.credit.get(&result.cluster).filter(|_| result.status == ClusterStatus::Compliant) {
                (result.status, result.actions) = (ClusterStatus::Converged, n);
            }
            applied += outcome.report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count() as u64;
            progress.note(&note(&result));
            results[i] = result;
            progress.advance();
        }
        progress.finish();
        applied
    }

    /// Enqueue mode: one command per `ChangesNeeded` cluster, in batches of `backfill.batch_size`.
    async fn enqueue(
        &self,
        results: &mut [ClusterResult],
        options: &BackfillOptions,
        queue: Option<&ServiceBusQueue>,
        progress: &mut Progress,
    ) -> Result<(), FleetError> {
        let pending: Vec<usize> = (0..results.len()).filter(|&i| results[i].status == ClusterStatus::ChangesNeeded).collect();
        progress.begin(results.len(), results.len() - pending.len());
        if options.dry_run {
            progress.finish();
            return Ok(());
        }
        let queue = queue.ok_or_else(|| FleetError::QueueSettings("enqueue mode needs [queue] namespace/name (or endpoint)".into()))?;
        let now = OffsetDateTime::now_utc();
        let mut sent = 0;
        for chunk in pending.chunks(self.settings.backfill.batch_size.max(1)) {
            let messages: Vec<_> = chunk.iter().map(|&i| backfill_message(&results[i].cluster, &options.run_id, now)).collect();
            queue.send_batch(&messages).await.map_err(|e| FleetError::Enqueue {
                sent,
                total: pending.len(),
                run_id: options.run_id.clone(),
                error: Box::new(e),
            })?;
            sent += chunk.len();
            for &i in chunk {
                results[i].status = ClusterStatus::Enqueued;
                progress.advance();
            }
        }
        progress.finish();
        Ok(())
    }
}

fn requests(s: &ArmStats) -> u64 {
    s.reads + s.writes
}

/// A cluster's result from its bulk verdict.
fn bulk_result(entry: &BulkEntry) -> ClusterResult {
    let (status, actions, detail) = match &entry.verdict {
        Verdict::Unreadable { error } => (ClusterStatus::ChangesNeeded, 0, Some(format!("unreadable in Resource Graph: {error}"))),
        Verdict::Planned { plan, .. } => {
            let first_blocker = plan.blockers.first().map(|b| format!("{}: {}", b.code, b.message));
            match plan.status {
                PlanStatus::Compliant => (ClusterStatus::Compliant, 0, None),
                PlanStatus::Excluded => (ClusterStatus::Excluded, 0, None),
                PlanStatus::Blocked => (ClusterStatus::Blocked, 0, first_blocker),
                PlanStatus::ChangesNeeded => {
                    let kinds: Vec<&str> = plan.actions.iter().map(|a| a.kind().as_str()).collect();
                    (ClusterStatus::ChangesNeeded, plan.actions.len(), Some(kinds.join(", ")))
                }
            }
        }
    };
    ClusterResult { cluster: entry.cluster.clone(), status, actions, detail }
}

/// A cluster's result from its per-cluster apply.
fn applied_result(report: &ApplyReport) -> ClusterResult {
    let applied = report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count();
    let (status, detail) = match report.status {
        ApplyStatus::Converged if applied > 0 => (ClusterStatus::Converged, None),
        ApplyStatus::Converged => (ClusterStatus::Compliant, None),
        ApplyStatus::Blocked => (ClusterStatus::Blocked, report.blockers.first().map(|b| format!("{}: {}", b.code, b.message))),
        ApplyStatus::Excluded => (ClusterStatus::Excluded, None),
        ApplyStatus::Failed => (ClusterStatus::Failed, report.error.clone()),
    };
    ClusterResult { cluster: report.cluster.clone(), status, actions: applied, detail }
}

fn note(r: &ClusterResult) -> String {
    let status = serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    match &r.detail {
        Some(d) => format!("{status} {} ({} writes): {d}", r.cluster, r.actions),
        None => format!("{status} {} ({} writes)", r.cluster, r.actions),
    }
}
