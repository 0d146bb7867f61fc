//! The backfill runner, in two phases so a command can show what will happen and ask before any
//! write: [`Backfill::prepare`] enumerates and bulk-observes (reads only) and says what would be
//! written ([`Prepared::changes`]); [`Backfill::execute`] runs the per-cluster path for the clusters
//! that need writes (`direct`, bounded concurrency under the [`Budget`], see `direct`) or sends one
//! reconcile command per such cluster (`enqueue`). `dry_run` stops after planning.
//!
//! With a saved plan ([`SavedPlan`], `backfill --plan FILE`) only the clusters of the plan are taken,
//! each only if it is unchanged since (fingerprint and plan, see `fleet::saved`); the others are
//! reported `changed_since_plan` and get no write.
//!
//! An interrupt ([`Shutdown`]) stops starting clusters (or batches); clusters in flight get the grace
//! period to finish; the rest are reported `not_reached` / `interrupted`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::budget::{Budget, BudgetLimits};
use super::changes::{Changes, SubscriptionChange};
use super::commands::backfill_message;
use super::inventory::FicMode;
use super::load::enumerate_clusters;
use super::observe::{BulkEntry, BulkOptions, Verdict, bulk_observe};
use super::pending::{Applying, Planned};
use super::progress::Progress;
use super::saved::{SavedCluster, SavedPlan};
use super::summary::{ClusterResult, ClusterStatus, Mode, RunReport, Summary};
use super::{FleetError, Selection};
use crate::arm::ArmStats;
use crate::config::Settings;
use crate::core::unchanged::Fingerprint;
use crate::core::{Action, Outcome, PlanStatus};
use crate::queue::ServiceBusQueue;
use crate::reconcile::Engine;
use crate::worker::Shutdown;

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
    pub(super) engine: Engine,
    pub(super) settings: Arc<Settings>,
    budget: Arc<Budget>,
}

/// The first phase's result: everything observed and planned, nothing written yet.
#[derive(Debug)]
pub struct Prepared {
    started: Instant,
    stats_before: ArmStats,
    kinds_before: BTreeMap<String, u64>,
    paced_before: Duration,
    results: Vec<ClusterResult>,
    warnings: Vec<String>,
    planned: Planned,
    /// What [`Backfill::execute`] would write: clusters and, separately, subscription-wide changes.
    pub changes: Changes,
    /// The plan to save (`--out`), when asked for.
    pub saved: Option<SavedPlan>,
    /// A saved plan is being applied (`--plan`).
    applying_saved: bool,
}

impl Prepared {
    /// Per-cluster results so far (`changes_needed` = to be written).
    pub fn results(&self) -> &[ClusterResult] {
        &self.results
    }

    /// Reads that failed without stopping the run.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Clusters that would be written (or enqueued).
    pub fn to_write(&self) -> usize {
        self.results.iter().filter(|r| r.status == ClusterStatus::ChangesNeeded).count()
    }
}

/// How the bulk observation treats plans: save them (`--out`), check against a saved one (`--plan`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanFile<'a> {
    /// Keep every cluster's plan and fingerprint in [`Prepared::saved`].
    pub save: bool,
    /// Take only this plan's clusters, each only if unchanged.
    pub apply: Option<&'a SavedPlan>,
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

    /// Runs one backfill without asking and without an interrupt. `queue` is required in enqueue mode
    /// unless `dry_run`.
    pub async fn run(
        &self,
        selection: &Selection,
        options: &BackfillOptions,
        queue: Option<&ServiceBusQueue>,
        progress: &mut Progress,
    ) -> Result<RunReport, FleetError> {
        let prepared = self.prepare(selection, options, PlanFile::default()).await?;
        self.execute(prepared, options, queue, progress, &Shutdown::new(), Duration::ZERO).await
    }

    /// Phase one: enumerate and observe in bulk, plan, and say what would be written. Reads only.
    pub async fn prepare(&self, selection: &Selection, options: &BackfillOptions, file: PlanFile<'_>) -> Result<Prepared, FleetError> {
        let (started, stats_before) = (Instant::now(), self.engine.arm().stats());
        let (kinds_before, paced_before) = (self.budget.requests_by_kind(), self.budget.paced());
        let mut prepared = Prepared {
            started,
            stats_before,
            kinds_before,
            paced_before,
            results: Vec::new(),
            warnings: Vec::new(),
            planned: Planned::default(),
            changes: Changes::default(),
            saved: file.save.then(|| SavedPlan::new("backfill")),
            applying_saved: file.apply.is_some(),
        };
        match options.mode {
            Mode::Enqueue if options.all => {
                let mut ids = enumerate_clusters(self.engine.arm(), selection).await?;
                ids.truncate(options.max_clusters.unwrap_or(usize::MAX));
                for cluster in ids {
                    prepared.changes.add(&cluster, Vec::new(), []);
                    prepared.results.push(ClusterResult::new(cluster, ClusterStatus::ChangesNeeded, None));
                }
            }
            _ => self.bulk(selection, options, file.apply, &mut prepared).await?,
        }
        prepared.changes.sort();
        if let Some(saved) = &mut prepared.saved {
            saved.subscription_changes = prepared.changes.subscriptions.clone();
            saved.clusters.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        }
        Ok(prepared)
    }

    /// Bulk-plans; clusters that need the per-cluster path come back `ChangesNeeded`.
    async fn bulk(
        &self,
        selection: &Selection,
        options: &BackfillOptions,
        apply: Option<&SavedPlan>,
        out: &mut Prepared,
    ) -> Result<(), FleetError> {
        let bulk_options =
            BulkOptions { fic_mode: options.fic_mode, max_clusters: options.max_clusters, concurrency: self.settings.backfill.concurrency };
        let keep_plans = options.mode == Mode::Direct && !options.dry_run;
        let (arm, policy) = (self.engine.arm(), self.engine.policy());
        let exclude_tag = policy.exclude_tag.clone();
        let (planned, changes, saved) = (&mut out.planned, &mut out.changes, &mut out.saved);
        let mut left_alone = 0usize;
        let (bulk, replanner) = bulk_observe(arm, &self.settings, policy, selection, bulk_options, |entry| {
            let fingerprint = seen_fingerprint(&entry, &exclude_tag);
            if let (Some(saved), Some(plan)) = (saved.as_mut(), entry.plan()) {
                saved.clusters.push(SavedCluster::new(plan, fingerprint.as_ref()));
            }
            let mut result = bulk_result(&entry);
            if let Some(file) = apply {
                match check_saved(file, &entry, fingerprint.as_ref()) {
                    SavedCheck::NotInPlan => {
                        left_alone += 1;
                        return None;
                    }
                    SavedCheck::Changed(why) => {
                        result.status = ClusterStatus::ChangedSincePlan;
                        result.detail = Some(format!(
                            "{why}; nothing was written. Make a new plan (`fleetgate backfill --dry-run --out FILE`) and apply that"
                        ));
                        return Some(result);
                    }
                    SavedCheck::Same => {}
                }
            }
            if result.status == ClusterStatus::ChangesNeeded {
                planned.add(&entry);
                match entry.plan() {
                    Some(plan) => changes.add_plan(plan),
                    None => changes.add(&entry.cluster, Vec::new(), []),
                }
                if keep_plans && let Verdict::Planned { seen, .. } = entry.verdict {
                    // The plan is dropped here and rebuilt when the cluster's job starts (`pending`).
                    planned.plans.insert(entry.cluster, seen);
                }
            }
            Some(result)
        })
        .await?;
        if keep_plans {
            out.planned.replanner = Some(replanner);
        }
        out.planned.pricing.sort();
        out.results = bulk.items.into_iter().flatten().collect();
        out.warnings = bulk.warnings;
        if left_alone > 0 {
            out.warnings.push(format!(
                "{left_alone} clusters in scope are not in the saved plan and were left alone; make a new plan to include them"
            ));
        }
        if let Some(file) = apply {
            for missing in file.clusters.iter().filter(|c| c.status == PlanStatus::ChangesNeeded) {
                if !out.results.iter().any(|r| r.cluster == missing.cluster) {
                    let why =
                        "the saved plan has it but it was not found now (deleted, moved, or out of the selection); nothing was written";
                    out.results.push(ClusterResult::new(missing.cluster.clone(), ClusterStatus::ChangedSincePlan, Some(why.into())));
                }
            }
        }
        Ok(())
    }

    /// Phase two: the writes (direct) or the commands (enqueue), unless `dry_run`. A first request on
    /// `stop` stops starting clusters; in-flight ones get `grace` to finish.
    pub async fn execute(
        &self,
        prepared: Prepared,
        options: &BackfillOptions,
        queue: Option<&ServiceBusQueue>,
        progress: &mut Progress,
        stop: &Shutdown,
        grace: Duration,
    ) -> Result<RunReport, FleetError> {
        let Prepared {
            started,
            stats_before,
            kinds_before,
            paced_before,
            mut results,
            mut warnings,
            mut planned,
            changes,
            applying_saved,
            ..
        } = prepared;
        let mut applied_writes = 0;
        progress.watch_arm(self.engine.arm());
        match options.mode {
            Mode::Direct => {
                let (mut credit, mut enabled) = (Default::default(), Vec::new());
                if !options.dry_run && !stop.is_requested() {
                    enabled = self.enable_plans(&planned.pricing, progress, &mut warnings).await;
                    applied_writes += enabled.len() as u64;
                    credit = planned.credit(&enabled);
                }
                let plans = std::mem::take(&mut planned.plans);
                let with =
                    Applying { plans, replanner: planned.replanner.as_ref(), enabled: &enabled, credit: &credit, strict: applying_saved };
                applied_writes += self.reconcile(&mut results, options, with, progress, stop, grace).await;
            }
            Mode::Enqueue => self.enqueue(&mut results, options, queue, progress, stop).await?,
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
        let interrupted = results.iter().any(|r| matches!(r.status, ClusterStatus::NotReached | ClusterStatus::Interrupted));
        Ok(RunReport {
            interrupted: interrupted || (stop.is_requested() && !options.dry_run),
            changes,
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

    /// Enables each subscription's Defender plan once, before the clusters that share it (so two
    /// clusters never both write it). Failures are left for those clusters to report. Returns the
    /// pricing resources written.
    async fn enable_plans(
        &self,
        pricing: &[crate::id::ResourceId],
        progress: &mut Progress,
        warnings: &mut Vec<String>,
    ) -> Vec<crate::id::ResourceId> {
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

    /// Enqueue mode: one command per `ChangesNeeded` cluster, in batches of `backfill.batch_size`; an
    /// interrupt stops between batches.
    async fn enqueue(
        &self,
        results: &mut [ClusterResult],
        options: &BackfillOptions,
        queue: Option<&ServiceBusQueue>,
        progress: &mut Progress,
        stop: &Shutdown,
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
            if stop.is_requested() {
                chunk.iter().for_each(|&i| results[i].status = ClusterStatus::NotReached);
                continue;
            }
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

/// The fingerprint of the cluster document a bulk verdict was made from.
fn seen_fingerprint(entry: &BulkEntry, exclude_tag: &str) -> Option<Fingerprint> {
    match &entry.verdict {
        Verdict::Planned { seen, .. } => Some(Fingerprint::of(seen, exclude_tag)),
        Verdict::Unreadable { .. } => None,
    }
}

enum SavedCheck {
    Same,
    Changed(String),
    NotInPlan,
}

/// A cluster of the bulk observation against the saved plan.
fn check_saved(file: &SavedPlan, entry: &BulkEntry, fingerprint: Option<&Fingerprint>) -> SavedCheck {
    let Some(saved) = file.find(&entry.cluster) else { return SavedCheck::NotInPlan };
    match entry.plan() {
        Some(plan) => saved.check(plan, fingerprint).map_or_else(SavedCheck::Changed, |()| SavedCheck::Same),
        None => SavedCheck::Changed("its Resource Graph row cannot be read now".into()),
    }
}

/// A cluster's result from its bulk verdict.
fn bulk_result(entry: &BulkEntry) -> ClusterResult {
    let mut result = ClusterResult::new(entry.cluster.clone(), ClusterStatus::ChangesNeeded, None);
    match &entry.verdict {
        Verdict::Unreadable { error } => result.detail = Some(format!("unreadable in Resource Graph: {error}")),
        Verdict::Planned { plan, .. } => {
            result.actions = plan.actions.iter().map(Action::kind).collect();
            result.blockers = plan.blockers.clone();
            result.status = match plan.status {
                PlanStatus::Compliant => ClusterStatus::Compliant,
                PlanStatus::Excluded => ClusterStatus::Excluded,
                PlanStatus::Blocked => ClusterStatus::Blocked,
                PlanStatus::ChangesNeeded => ClusterStatus::ChangesNeeded,
            };
            result.detail = match plan.status {
                PlanStatus::Blocked => plan.blockers.first().map(|b| format!("{}: {}", b.code, b.message)),
                PlanStatus::ChangesNeeded => {
                    let pricing: Vec<String> =
                        plan.actions.iter().filter_map(SubscriptionChange::from_action).map(|c| c.describe()).collect();
                    let kinds: Vec<&str> = plan.actions.iter().map(|a| a.kind().as_str()).collect();
                    Some(if pricing.is_empty() { kinds.join(", ") } else { format!("{} ({})", kinds.join(", "), pricing.join("; ")) })
                }
                _ => None,
            };
        }
    }
    result
}
