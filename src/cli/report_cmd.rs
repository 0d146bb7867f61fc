//! `fleetgate report`: the fleet's gated-deployment status per cluster (status, registries wired /
//! missing, identity, blockers with their fix) and totals, from bulk reads only — never a write.

use clap::{Args, ValueEnum};

use super::Exit;
use super::cluster_cmd::engine;
use fleetgate::config::Settings;
use fleetgate::fleet::{BulkOptions, FicMode, FleetError, FleetReport, ReportFormat, Selection, bulk_plan_map, render_report, report_row};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Aligned columns, then each blocker's fix.
    Table,
    /// `{"clusters": […], "totals": {…}, "warnings": […]}`.
    Json,
    /// One CSV row per cluster.
    Csv,
    /// A Markdown table and totals.
    Markdown,
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Only this subscription (repeatable); each must be in scope.subscriptions.
    #[arg(long = "subscription", value_name = "ID")]
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
    let selection = match Selection::new(&settings.scope.subscriptions, &args.subscriptions, &args.management_groups) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(Exit::Usage);
        }
    };
    let engine = engine(settings)?;
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
    let format = match args.format {
        FormatArg::Table => ReportFormat::Table,
        FormatArg::Json => ReportFormat::Json,
        FormatArg::Csv => ReportFormat::Csv,
        FormatArg::Markdown => ReportFormat::Markdown,
    };
    print!("{}", render_report(&FleetReport::from_rows(bulk.items, bulk.warnings), format));
    Ok(Exit::Success)
}
