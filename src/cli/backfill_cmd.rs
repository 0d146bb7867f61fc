//! `fleetgate backfill`: bring a whole fleet to gated deployment — bulk observation through Resource
//! Graph, then the per-cluster path for the clusters that need writes (`--mode direct`, paced by the
//! `[backfill]` budget) or one reconcile command per such cluster on the queue (`--mode enqueue`).

use std::sync::Arc;

use clap::{Args, ValueEnum};
use time::OffsetDateTime;

use super::Exit;
use super::cluster_cmd::engine;
use fleetgate::config::Settings;
use fleetgate::fleet::{Backfill, BackfillOptions, FicMode, FleetError, Mode, Progress, ProgressStyle, Selection, open_queue};

/// How the clusters that need changes are reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// This process reconciles them, paced by the per-subscription budget.
    Direct,
    /// One `io.fleetgate.reconcile` command per cluster goes to the queue for the workers.
    Enqueue,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A summary table on stdout (progress on stderr).
    Text,
    /// The JSON summary on stdout (progress on stderr).
    Json,
}

/// Arguments of `backfill`.
#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// Only this subscription (repeatable); each must be in scope.subscriptions. Default: all of them.
    #[arg(long = "subscription", value_name = "ID")]
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
    /// Process only the first N clusters (by resource ID).
    #[arg(long, value_name = "N")]
    max_clusters: Option<usize>,
    /// Output of the final summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
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
pub async fn run(args: BackfillArgs, settings: &Settings) -> anyhow::Result<Exit> {
    match backfill(args, settings).await {
        Err(e) if e.downcast_ref::<FleetError>().is_some_and(FleetError::is_usage) => {
            eprintln!("error: {e}");
            Ok(Exit::Usage)
        }
        other => other,
    }
}

async fn backfill(args: BackfillArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let selection = Selection::new(&settings.scope.subscriptions, &args.subscriptions, &args.management_groups)?;
    let mode = match args.mode {
        ModeArg::Direct => Mode::Direct,
        ModeArg::Enqueue => Mode::Enqueue,
    };
    if args.all && mode != Mode::Enqueue {
        eprintln!("error: --all is only for --mode enqueue (direct mode always observes in bulk first)");
        return Ok(Exit::Usage);
    }
    let run_id = args.run_id.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).unwrap_or_else(today);
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
    let backfill = Backfill::new(engine(settings)?, Arc::new(settings.clone()));
    let mut progress = Progress::new(ProgressStyle::detect());
    let report = backfill.run(&selection, &options, queue.as_ref(), &mut progress).await?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report.summary).unwrap_or_default()),
        OutputFormat::Text => print!("{}", report.render_text()),
    }
    Ok(if report.succeeded() { Exit::Success } else { Exit::Failure })
}

/// Today's UTC date, `YYYY-MM-DD`.
fn today() -> String {
    let d = OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}
