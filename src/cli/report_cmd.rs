//! `fleetgate report`: the fleet's gated-deployment status per cluster (status, registries wired /
//! missing, identity, blockers with their fix) and totals, from bulk reads only — never a write.

use clap::{Args, ValueEnum};

use super::cluster_cmd::engine;
use super::exit::Exit;
use super::output::{document, print_json};
use super::target::resolve_subscriptions;
use fleetgate::config::Settings;
use fleetgate::fleet::{
    BulkOptions, FicMode, FleetError, FleetReport, ReportFormat, ReportStatus, Selection, bulk_plan_map, render_report, report_row,
};

/// `-o/--output` (alias `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned columns, then each blocker's fix.
    #[value(alias = "text")]
    Table,
    /// `{"schema_version", "command", "clusters": […], "totals": {…}, "warnings": […]}`.
    Json,
    /// One CSV row per cluster.
    Csv,
    /// A Markdown table and totals.
    Markdown,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format (`text` = `table`).
    #[arg(short = 'o', long = "output", visible_alias = "format", value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Only this subscription, by ID or display name (repeatable); each must be in scope.subscriptions.
    #[arg(long = "subscription", value_name = "ID_OR_NAME")]
    subscriptions: Vec<String>,
    /// Enumerate clusters over this management group (repeatable).
    #[arg(long = "management-group", value_name = "ID")]
    management_groups: Vec<String>,
    /// List federated credentials of compliant-looking clusters (one read each) instead of trusting
    /// their gating entries.
    #[arg(long)]
    verify_fics: bool,
}

/// Runs `report`.
pub async fn run(args: ReportArgs, settings: &Settings) -> anyhow::Result<Exit> {
    if settings.scope.subscriptions.is_empty() {
        eprintln!("error: {}", FleetError::NoScope);
        return Ok(Exit::NotFound);
    }
    let engine = engine(settings)?;
    let subscriptions = match resolve_subscriptions(engine.arm(), &settings.scope.subscriptions, &args.subscriptions).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message);
            return Ok(e.exit);
        }
    };
    let selection = match Selection::new(&settings.scope.subscriptions, &subscriptions, &args.management_groups) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
    };
    let options = BulkOptions {
        fic_mode: if args.verify_fics { FicMode::Verify } else { FicMode::Trust },
        max_clusters: None,
        concurrency: settings.backfill.concurrency,
    };
    let bulk = match bulk_plan_map(engine.arm(), settings, engine.policy(), &selection, options, report_row).await {
        Ok(b) => b,
        Err(e) if FleetError::is_usage(&e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    let report = FleetReport::from_rows(bulk.items, bulk.warnings);
    match args.format {
        FormatArg::Json => print_json(&document("report", &report)),
        FormatArg::Table => print!("{}", render_report(&report, ReportFormat::Table)),
        FormatArg::Csv => print!("{}", render_report(&report, ReportFormat::Csv)),
        FormatArg::Markdown => print!("{}", render_report(&report, ReportFormat::Markdown)),
    }
    Ok(exit_of(&report))
}

/// 1 when a row is unreadable, 3 when something is blocked or excluded, 4 for an empty fleet, else 0
/// (changes needed is a plan, like `plan`'s).
fn exit_of(report: &FleetReport) -> Exit {
    let t = &report.totals;
    let unreadable = report.clusters.iter().any(|r| r.status == ReportStatus::Unreadable);
    if unreadable {
        Exit::Failure
    } else if t.blocked > 0 || t.excluded > 0 {
        Exit::Blocked
    } else if t.clusters == 0 {
        Exit::NotFound
    } else {
        Exit::Success
    }
}
