//! `fleetgate report`: the fleet's gated-deployment status per cluster (status, registries wired /
//! missing, identity, blockers with their fix), rolled up per subscription, from bulk reads only —
//! never a write. `--status` and `--resource-group` filter the rows; `-o html` is one self-contained
//! page; `--out FILE` writes the report to a file instead of stdout.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::cluster_cmd::engine;
use super::exit::Exit;
use super::output::document;
use super::target::resolve_subscriptions;
use fleetgate::config::Settings;
use fleetgate::fleet::{
    BulkOptions, FicMode, FleetError, FleetReport, ReportFilter, ReportFormat, ReportStatus, Selection, bulk_plan_map, render_report,
    report_row,
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
    /// The roll-up and a Markdown table.
    Markdown,
    /// One self-contained HTML page: a stacked bar per subscription, the blocked clusters with their
    /// fixes, the sortable fleet table.
    Html,
}

/// `--status` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Gated deployment fully in place.
    Compliant,
    /// fleetgate would make changes.
    #[value(name = "changes_needed", aliases = ["changes-needed", "needs_changes"])]
    ChangesNeeded,
    /// Something fleetgate must not fix is in the way.
    Blocked,
    /// Opted out by tag.
    Excluded,
    /// Its row could not be read.
    #[value(alias = "failed")]
    Unreadable,
}

impl StatusArg {
    fn status(self) -> ReportStatus {
        match self {
            Self::Compliant => ReportStatus::Compliant,
            Self::ChangesNeeded => ReportStatus::ChangesNeeded,
            Self::Blocked => ReportStatus::Blocked,
            Self::Excluded => ReportStatus::Excluded,
            Self::Unreadable => ReportStatus::Unreadable,
        }
    }
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
    /// Only clusters with this status (repeatable or comma-separated).
    #[arg(long = "status", value_enum, value_delimiter = ',', value_name = "STATUS")]
    statuses: Vec<StatusArg>,
    /// Only clusters in this resource group (repeatable or comma-separated; case-insensitive).
    #[arg(short = 'g', long = "resource-group", value_delimiter = ',', value_name = "NAME")]
    resource_groups: Vec<String>,
    /// Write the report to FILE instead of stdout (e.g. `-o html --out fleet.html`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
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
    let filter =
        ReportFilter { statuses: args.statuses.iter().map(|s| s.status()).collect(), resource_groups: args.resource_groups.clone() };
    let report = FleetReport::from_rows(bulk.items, bulk.warnings).filtered(&filter);
    let text = match args.format {
        FormatArg::Json => {
            let doc = document("report", &report);
            serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"cannot render the output: {e}\"}}")) + "\n"
        }
        FormatArg::Table => render_report(&report, ReportFormat::Table),
        FormatArg::Csv => render_report(&report, ReportFormat::Csv),
        FormatArg::Markdown => render_report(&report, ReportFormat::Markdown),
        FormatArg::Html => render_report(&report, ReportFormat::Html),
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write the report to {}: {e}; check the directory exists and is writable", path.display());
                return Ok(Exit::Failure);
            }
        }
        None => print!("{text}"),
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
