//! `fleetgate plan` and `fleetgate apply` for one cluster (`--cluster ID` or `--subscription -g -n`).
//!
//! `plan` observes and plans (GETs only); `--out FILE` saves the plan. `apply` shows the plan, asks
//! (terraform-style; `--yes` without a terminal), then converges; `apply --plan FILE` applies a saved
//! plan without asking — it was the approval — and refuses when the cluster changed since.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::confirm::{Decision, confirm, no_terminal_message};
use super::exit::Exit;
use super::output::{Output, Ui, document, print_json};
use super::render::subscription_changes;
use super::signals;
use super::target::{ClusterTarget, TargetError};
use fleetgate::arm::ArmClient;
use fleetgate::config::Settings;
use fleetgate::core::text::{render_apply, render_plan};
use fleetgate::core::unchanged::Fingerprint;
use fleetgate::core::{ApplyReport, ApplyStatus, BlockerCode, Plan, PlanStatus, plan as plan_of};
use fleetgate::fleet::{SavedCluster, SavedPlan, SubscriptionChange};
use fleetgate::id::ResourceId;
use fleetgate::reconcile::Engine;
use fleetgate::worker::Shutdown;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    target: ClusterTarget,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Also save the plan to FILE, for `fleetgate apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    target: ClusterTarget,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Apply without asking (needed without a terminal).
    #[arg(short = 'y', long, visible_alias = "auto-approve")]
    yes: bool,
    /// Apply exactly this saved plan (`fleetgate plan --out FILE`); refuses if the cluster changed since.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cluster", "subscription", "resource_group", "name"])]
    plan: Option<PathBuf>,
}

/// Builds the engine from settings (credential, ARM client, policy).
pub fn engine(settings: &Settings) -> anyhow::Result<Engine> {
    let arm = ArmClient::from_settings(&settings.azure, &settings.scope.subscriptions)?;
    Ok(Engine::new(arm, Arc::new(settings.clone()))?)
}

/// `plan --output json`: the plan's fields plus these.
#[derive(Serialize)]
struct PlanOutput<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    /// One line: the first blocker or the actions.
    detail: Option<String>,
    /// The compliance fingerprint of the cluster document planned from.
    fingerprint: Option<String>,
    /// Subscription-wide changes among the actions.
    subscription_changes: Vec<SubscriptionChange>,
}

/// `apply --output json`: the report's fields plus a one-line detail.
#[derive(Serialize)]
struct ApplyOutput<'a> {
    #[serde(flatten)]
    report: &'a ApplyReport,
    detail: Option<String>,
}

/// A plan and the fingerprint of the document it was made from.
struct Planned {
    plan: Plan,
    fingerprint: Option<Fingerprint>,
}

async fn observe_and_plan(engine: &Engine, cluster: &ResourceId) -> anyhow::Result<Planned> {
    let obs = engine.observe(cluster).await?;
    let plan = plan_of(&obs, engine.policy());
    let fingerprint = obs.cluster_view().map(|v| Fingerprint::of(v, &engine.policy().exclude_tag));
    Ok(Planned { plan, fingerprint })
}

fn changes_of(plan: &Plan) -> Vec<SubscriptionChange> {
    plan.actions.iter().filter_map(SubscriptionChange::from_action).collect()
}

fn plan_detail(plan: &Plan) -> Option<String> {
    match plan.status {
        PlanStatus::Blocked => plan.blockers.first().map(|b| format!("{}: {}", b.code, b.message)),
        PlanStatus::ChangesNeeded => Some(fleetgate::fleet::action_summary(&plan.actions.iter().map(|a| a.kind()).collect::<Vec<_>>())),
        PlanStatus::Compliant => Some("nothing to do".into()),
        PlanStatus::Excluded => Some("carries the exclude tag".into()),
    }
}

/// The plan as text (terraform-like) with the subscription-wide section.
fn plan_text(planned: &Planned, ui: &Ui) -> String {
    render_plan(&planned.plan, &ui.stdout_style()) + &subscription_changes(&changes_of(&planned.plan), ui)
}

/// 4 when the cluster is not there or not in scope, 3 when blocked or excluded, else `ok`.
fn plan_exit(plan: &Plan, ok: Exit) -> Exit {
    let gone = plan.blockers.iter().any(|b| matches!(b.code, BlockerCode::ClusterNotFound | BlockerCode::ClusterOutOfScope));
    match plan.status {
        _ if gone => Exit::NotFound,
        PlanStatus::Blocked | PlanStatus::Excluded => Exit::Blocked,
        PlanStatus::Compliant | PlanStatus::ChangesNeeded => ok,
    }
}

async fn resolve(target: &ClusterTarget, engine: &Engine, settings: &Settings) -> Result<ResourceId, TargetError> {
    target.resolve(engine.arm(), &settings.scope.subscriptions).await
}

fn target_failed(e: TargetError) -> anyhow::Result<Exit> {
    eprintln!("error: {}", e.message);
    Ok(e.exit)
}

/// `fleetgate plan`: observes and plans; sends only GETs.
pub async fn plan(args: PlanArgs, settings: &Settings, ui: Ui) -> anyhow::Result<Exit> {
    if let Err(e) = args.target.check() {
        return target_failed(e);
    }
    let engine = engine(settings)?;
    let cluster = match resolve(&args.target, &engine, settings).await {
        Ok(c) => c,
        Err(e) => return target_failed(e),
    };
    let planned = observe_and_plan(&engine, &cluster).await?;
    match args.output {
        Output::Json => print_json(&document("plan", &plan_output(&planned))),
        Output::Text => print!("{}", plan_text(&planned, &ui)),
    }
    if let Some(path) = &args.out {
        let mut saved = SavedPlan::new("plan");
        saved.subscription_changes = changes_of(&planned.plan);
        saved.clusters.push(SavedCluster::new(&planned.plan, planned.fingerprint.as_ref()));
        if let Err(e) = saved.write(path) {
            eprintln!("error: {e}");
            return Ok(Exit::Failure);
        }
        if !ui.quiet {
            eprintln!("Saved the plan to {}. Apply exactly this plan with: fleetgate apply --plan {}", path.display(), path.display());
        }
    }
    Ok(plan_exit(&planned.plan, Exit::Success))
}

fn plan_output(planned: &Planned) -> PlanOutput<'_> {
    PlanOutput {
        plan: &planned.plan,
        detail: plan_detail(&planned.plan),
        fingerprint: planned.fingerprint.map(|f| f.to_hex()),
        subscription_changes: changes_of(&planned.plan),
    }
}

/// `fleetgate apply`: shows the plan, asks, converges.
pub async fn apply(args: ApplyArgs, settings: &Settings, ui: Ui) -> anyhow::Result<Exit> {
    let saved = match &args.plan {
        Some(path) => match SavedPlan::read(path) {
            Ok(saved) => Some(saved),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(Exit::Usage);
            }
        },
        None => {
            if let Err(e) = args.target.check() {
                return target_failed(e);
            }
            None
        }
    };
    let engine = engine(settings)?;
    let cluster = match &saved {
        Some(file) => match file.clusters.as_slice() {
            [one] => one.cluster.clone(),
            many => {
                eprintln!(
                    "error: plan file {} holds {} clusters; apply a fleet plan with `fleetgate backfill --plan FILE`",
                    args.plan.as_deref().unwrap_or_else(|| std::path::Path::new("")).display(),
                    many.len()
                );
                return Ok(Exit::Usage);
            }
        },
        None => match resolve(&args.target, &engine, settings).await {
            Ok(c) => c,
            Err(e) => return target_failed(e),
        },
    };
    let stop = Shutdown::new();
    let signals = signals::forward(stop.clone(), "interrupted; stopping".into(), "second signal — exiting now");
    let result = apply_cluster(&args, saved.as_ref(), &engine, &cluster, &ui, &stop).await;
    signals.abort();
    result
}

async fn apply_cluster(
    args: &ApplyArgs,
    saved: Option<&SavedPlan>,
    engine: &Engine,
    cluster: &ResourceId,
    ui: &Ui,
    stop: &Shutdown,
) -> anyhow::Result<Exit> {
    let planned = observe_and_plan(engine, cluster).await?;
    if let Some(file) = saved {
        let entry = file.find(cluster).ok_or_else(|| anyhow::anyhow!("the plan file does not name {cluster}"))?;
        if let Err(why) = entry.check(&planned.plan, planned.fingerprint.as_ref()) {
            eprintln!(
                "error: refusing to apply the saved plan to {cluster}: {why}. Nothing was written; make a new plan (`fleetgate plan --cluster {cluster} --out FILE`) and apply that"
            );
            return Ok(Exit::Failure);
        }
    } else if !(ui.quiet && args.output == Output::Json) {
        let text = plan_text(&planned, ui);
        if args.output == Output::Json { eprint!("{text}") } else { print!("{text}") }
    }
    // The plan on screen already said why nothing will be written (no changes, blocked, excluded).
    let shown = saved.is_none() && args.output == Output::Text;
    let report = match ApplyReport::without_writes(&planned.plan) {
        Some(report) if shown => return Ok(apply_exit(&report, &planned.plan)),
        Some(report) => report,
        None => {
            if saved.is_none() {
                let billing = changes_of(&planned.plan).iter().any(|c| c.starts_billing);
                let what = if billing {
                    format!(
                        "fleetgate will perform the actions above on {cluster}, including a subscription-wide change that starts billing."
                    )
                } else {
                    format!("fleetgate will perform the actions above on {cluster}.")
                };
                match confirm(args.yes, &what, stop).await {
                    Decision::Approved => {}
                    Decision::NoTerminal => {
                        eprintln!("error: {}", no_terminal_message("apply"));
                        return Ok(Exit::Usage);
                    }
                    Decision::Declined => {
                        eprintln!("Apply cancelled; nothing was written.");
                        return Ok(Exit::Failure);
                    }
                    Decision::Interrupted => {
                        eprintln!("Apply cancelled by a signal; nothing was written.");
                        return Ok(Exit::Interrupted);
                    }
                }
            }
            let applied = engine.apply(cluster).await;
            if let Some(e) = &applied.error {
                eprintln!("error: {e}");
            }
            applied.report
        }
    };
    match args.output {
        Output::Json => print_json(&document("apply", &ApplyOutput { detail: apply_detail(&report), report: &report })),
        Output::Text => print!("{}", render_apply(&report, &ui.stdout_style())),
    }
    Ok(apply_exit(&report, &planned.plan))
}

fn apply_exit(report: &ApplyReport, plan: &Plan) -> Exit {
    match report.status {
        ApplyStatus::Converged => Exit::Success,
        ApplyStatus::Failed => Exit::Failure,
        ApplyStatus::Blocked | ApplyStatus::Excluded => plan_exit(plan, Exit::Blocked),
    }
}

fn apply_detail(report: &ApplyReport) -> Option<String> {
    if let Some(e) = &report.error {
        return Some(e.clone());
    }
    if let Some(b) = report.blockers.first() {
        return Some(format!("{}: {}", b.code, b.message));
    }
    let applied = report.actions.iter().filter(|a| a.outcome == fleetgate::core::Outcome::Applied).count();
    Some(format!("{applied} applied, {} already present", report.actions.len() - applied))
}
