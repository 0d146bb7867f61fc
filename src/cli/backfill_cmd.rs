//! `fleetgate backfill`: bring a whole fleet to gated deployment — bulk observation through Resource
//! Graph, then (after showing what will change and asking, like `terraform apply`) the per-cluster path
//! for the clusters that need writes (`--mode direct`, paced by the `[backfill]` budget) or one
//! reconcile command per such cluster on the queue (`--mode enqueue`).
//!
//! `--dry-run --out FILE` saves the plan; `--plan FILE` applies exactly it (no question: the file is
//! the approval), refusing clusters that changed since. The first SIGINT/SIGTERM stops starting
//! clusters and lets in-flight ones finish within `shutdown.grace`; the summary then says
//! `interrupted` and lists the clusters not reached (exit 130). A second signal exits at once.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use super::cluster_cmd::engine;
use super::confirm::{Decision, confirm, no_terminal_message};
use super::exit::Exit;
use super::output::{Output, Ui, print_json};
use super::render::fleet_changes;
use super::signals;
use super::target::resolve_subscriptions;
use fleetgate::config::Settings;
use fleetgate::fleet::{
    Backfill, BackfillOptions, ClusterStatus, FicMode, FleetError, Mode, PlanFile, Prepared, Progress, RunReport, SavedPlan, Selection,
    open_queue,
};
use fleetgate::worker::Shutdown;

/// How the clusters that need changes are reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// This process reconciles them, paced by the per-subscription budget.
    Direct,
    /// One `io.fleetgate.reconcile` command per cluster goes to the queue for the workers.
    Enqueue,
}

/// Arguments of `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Only this subscription, by ID or display name (repeatable); each must be in scope.subscriptions.
    /// Default: all of them.
    #[arg(long = "subscription", value_name = "ID_OR_NAME")]
    subscriptions: Vec<String>,
    /// Enumerate clusters over this management group (repeatable); only clusters of the selected
    /// subscriptions are processed.
    #[arg(long = "management-group", value_name = "ID")]
    management_groups: Vec<String>,
    /// direct: reconcile here; enqueue: send reconcile commands to the queue.
    #[arg(long, value_enum, default_value_t = ModeArg::Direct)]
    mode: ModeArg,
    /// Plan only: no writes, no messages.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: save the plan to FILE, for `fleetgate backfill --plan FILE`.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    out: Option<PathBuf>,
    /// Apply exactly this saved plan (direct mode); clusters that changed since are refused.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "all", "max_clusters"])]
    plan: Option<PathBuf>,
    /// Write without asking (needed without a terminal).
    #[arg(short = 'y', long, visible_alias = "auto-approve")]
    yes: bool,
    /// Process only the first N clusters (by resource ID).
    #[arg(long, value_name = "N")]
    max_clusters: Option<usize>,
    /// Output of the final summary.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// List each compliant-looking cluster's federated credentials (one read each) instead of trusting
    /// its gating entry as evidence that the credential exists.
    #[arg(long)]
    verify_fics: bool,
    /// Run ID of enqueued commands (MessageId = cluster + run ID, so a re-run with the same ID dedupes).
    /// Default: today's UTC date.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Enqueue mode: a command for every cluster, without the bulk observation (workers check each fully).
    #[arg(long)]
    all: bool,
}

/// Runs `backfill`.
pub async fn run(args: BackfillArgs, settings: &Settings, ui: Ui) -> anyhow::Result<Exit> {
    match backfill(args, settings, ui).await {
        Err(e) => match e.downcast_ref::<FleetError>() {
            Some(FleetError::NoScope) => {
                eprintln!("error: {e}");
                Ok(Exit::NotFound)
            }
            Some(f) if f.is_usage() => {
                eprintln!("error: {e}");
                Ok(Exit::Usage)
            }
            _ => Err(e),
        },
        ok => ok,
    }
}

fn usage(message: &str) -> anyhow::Result<Exit> {
    eprintln!("error: {message}");
    Ok(Exit::Usage)
}

async fn backfill(args: BackfillArgs, settings: &Settings, ui: Ui) -> anyhow::Result<Exit> {
    let mode = match args.mode {
        ModeArg::Direct => Mode::Direct,
        ModeArg::Enqueue => Mode::Enqueue,
    };
    if args.all && mode != Mode::Enqueue {
        return usage("--all is only for --mode enqueue (direct mode always observes in bulk first)");
    }
    if args.plan.is_some() && mode != Mode::Direct {
        return usage(
            "--plan applies a saved plan in direct mode only (enqueued commands are re-planned by the workers); drop --mode enqueue",
        );
    }
    let saved = match &args.plan {
        Some(path) => match SavedPlan::read(path) {
            Ok(saved) => Some(saved),
            Err(e) => return usage(&e.to_string()),
        },
        None => None,
    };
    if settings.scope.subscriptions.is_empty() {
        return Err(FleetError::NoScope.into());
    }
    let engine = engine(settings)?;
    let mut subscriptions = match resolve_subscriptions(engine.arm(), &settings.scope.subscriptions, &args.subscriptions).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return Ok(e.exit);
        }
    };
    if let Some(file) = &saved {
        let planned = file.subscriptions();
        subscriptions = if subscriptions.is_empty() {
            planned
        } else {
            subscriptions.into_iter().filter(|s| planned.iter().any(|p| p.eq_ignore_ascii_case(s))).collect()
        };
    }
    let selection = Selection::new(&settings.scope.subscriptions, &subscriptions, &args.management_groups)?;
    let run_id = args.run_id.clone().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(today);
    let options = BackfillOptions {
        mode,
        dry_run: args.dry_run,
        max_clusters: args.max_clusters,
        fic_mode: if args.verify_fics { FicMode::Verify } else { FicMode::Trust },
        run_id,
        all: args.all,
    };
    let queue = match mode {
        Mode::Enqueue if !args.dry_run => Some(open_queue(settings, std::env::var("FLEETGATE_SAS_KEY").ok())?),
        _ => None,
    };
    let backfill = Backfill::new(engine, Arc::new(settings.clone()));
    let stop = Shutdown::new();
    let grace = settings.shutdown.grace;
    let first = format!(
        "interrupted — no further clusters are started; those in flight get up to {} s to finish (shutdown.grace). Signal again to exit now.",
        grace.as_secs()
    );
    let signals = signals::forward(stop.clone(), first, "second signal — exiting now; a re-run finishes what was in flight");
    let file = PlanFile { save: args.out.is_some(), apply: saved.as_ref() };
    let prepared = tokio::select! {
        prepared = backfill.prepare(&selection, &options, file) => prepared?,
        () = stop.requested() => {
            eprintln!("fleetgate: interrupted while observing the fleet; nothing was written");
            signals.abort();
            return Ok(Exit::Interrupted);
        }
    };
    if let Some(path) = &args.out {
        save_plan(&prepared, path, &ui)?;
    }
    let exit = match approve(&args, &prepared, saved.is_some(), &ui, &stop).await {
        Some(refused) => refused,
        None => {
            let mut progress = Progress::new(ui.progress());
            let report = backfill.execute(prepared, &options, queue.as_ref(), &mut progress, &stop, grace).await?;
            if !args.all {
                fleetgate::telemetry::metrics().fleet_clusters(&report.cluster_counts());
            }
            match args.output {
                Output::Json => print_json(&report.json_document()),
                Output::Text => print!("{}", report.render_text()),
            }
            exit_of(&report)
        }
    };
    signals.abort();
    Ok(exit)
}

fn save_plan(prepared: &Prepared, path: &std::path::Path, ui: &Ui) -> anyhow::Result<()> {
    let saved = prepared.saved.as_ref().ok_or_else(|| anyhow::anyhow!("the plan was not kept"))?;
    saved.write(path)?;
    if !ui.quiet {
        eprintln!(
            "Saved the plan of {} clusters ({} to change) to {}. Apply exactly this plan with: fleetgate backfill --plan {}",
            saved.clusters.len(),
            prepared.to_write(),
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Shows what will change (a dry run too: on stdout in text mode, so `backfill --dry-run > plan.txt`
/// keeps the per-cluster list) and asks (not for a dry run, nothing to write, or a saved plan).
/// `Some(exit)` when the run must stop here.
async fn approve(args: &BackfillArgs, prepared: &Prepared, saved: bool, ui: &Ui, stop: &Shutdown) -> Option<Exit> {
    if prepared.to_write() == 0 {
        return None;
    }
    let count = |s: ClusterStatus| prepared.results().iter().filter(|r| r.status == s).count();
    let left = [
        ("compliant", count(ClusterStatus::Compliant)),
        ("blocked", count(ClusterStatus::Blocked)),
        ("excluded", count(ClusterStatus::Excluded)),
        ("changed since the plan (refused)", count(ClusterStatus::ChangedSincePlan)),
    ];
    if !(ui.quiet && args.output == Output::Json) {
        let unplanned = if args.all {
            "a reconcile command: the worker observes and plans it"
        } else {
            "unreadable in Resource Graph: read and planned from ARM first"
        };
        let text = fleet_changes(&prepared.changes, &left, unplanned, ui);
        if args.output == Output::Json { eprint!("{text}") } else { print!("{text}") }
    }
    if saved || args.dry_run {
        return None;
    }
    let verb = if args.mode == ModeArg::Enqueue { "enqueue a reconcile command for" } else { "write to" };
    let billing = if prepared.changes.starts_billing() { ", including subscription-wide changes that start billing" } else { "" };
    let what = format!("fleetgate will {verb} the {} clusters above{billing}.", prepared.to_write());
    match confirm(args.yes, &what, stop).await {
        Decision::Approved => None,
        Decision::NoTerminal => {
            eprintln!("error: {}", no_terminal_message("backfill"));
            Some(Exit::Usage)
        }
        Decision::Declined => {
            eprintln!("Backfill cancelled; nothing was written.");
            Some(Exit::Failure)
        }
        Decision::Interrupted => {
            eprintln!("Backfill cancelled by a signal; nothing was written.");
            Some(Exit::Interrupted)
        }
    }
}

/// The exit code of a finished run (README "Exit codes").
fn exit_of(report: &RunReport) -> Exit {
    let s = &report.summary;
    if report.interrupted {
        Exit::Interrupted
    } else if s.failed > 0 || report.count(ClusterStatus::ChangedSincePlan) > 0 {
        Exit::Failure
    } else if s.blocked > 0 || s.excluded > 0 {
        Exit::Blocked
    } else if s.clusters == 0 {
        Exit::NotFound
    } else {
        Exit::Success
    }
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let d = OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
