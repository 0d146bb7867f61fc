//! Command line: `fleetgate <command>`. Each command lives in its own module; this one parses
//! arguments, loads configuration and maps results to exit codes.
//!
//! Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 blocked or excluded.

mod backfill_cmd;
mod cluster_cmd;
mod config_cmd;
mod demo_cmd;
mod doctor_cmd;
mod report_cmd;
mod run_cmd;
mod sim_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use fleetgate::config::{self, ConfigSource, Settings, TelemetrySettings};
use fleetgate::telemetry;

/// Defender for Containers gated deployment, automated for AKS fleets.
#[derive(Debug, Parser)]
#[command(name = "fleetgate", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file layered over the built-in defaults (also FLEETGATE_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded Azure simulator (ARM, Entra token endpoints, Resource Graph) on loopback.
    Sim(sim_cmd::SimArgs),
    /// Inspect configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Show what `apply` would change on one cluster (sends only GETs).
    Plan(cluster_cmd::ClusterArgs),
    /// Converge one cluster: enable gated deployment, changing nothing else.
    Apply(cluster_cmd::ClusterArgs),
    /// Check configuration, credential, ARM reachability and the managed-cluster api-version.
    Doctor,
    /// The event worker: Service Bus until SIGTERM/SIGINT, or a JSON-lines file (`--source file:PATH`).
    Run(run_cmd::RunArgs),
    /// End to end on one machine: simulator, real-shaped events, the real worker, fleet before/after
    /// (self-contained: ignores --config and FLEETGATE__* settings).
    Demo(demo_cmd::DemoArgs),
    /// Bring the whole fleet in scope to gated deployment (bulk observe, then reconcile or enqueue).
    Backfill(backfill_cmd::BackfillArgs),
    /// Report every cluster's gated-deployment status from bulk reads (no writes).
    Report(report_cmd::ReportArgs),
}

/// How a command ended; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0
    Success,
    /// 1
    Failure,
    /// 2
    Usage,
    /// 3
    Blocked,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Blocked => 3,
        })
    }
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match init_telemetry(cli.config.clone()) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Usage.into();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let result = runtime.block_on(run(cli));
    if let Err(e) = telemetry.shutdown() {
        tracing::warn!("{e}");
    }
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Failure.into()
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Sim(args) => sim_cmd::run(args).await,
        Command::Demo(args) => demo_cmd::run(args).await,
        command => {
            let Some(settings) = load_settings(cli.config)? else { return Ok(Exit::Usage) };
            match command {
                Command::Config(cmd) => config_cmd::run(cmd, &settings),
                Command::Plan(args) => cluster_cmd::plan(args, &settings).await,
                Command::Apply(args) => cluster_cmd::apply(args, &settings).await,
                Command::Doctor => doctor_cmd::run(&settings).await,
                Command::Run(args) => run_cmd::run(args, &settings).await,
                Command::Backfill(args) => backfill_cmd::run(args, &settings).await,
                Command::Report(args) => report_cmd::run(args, &settings).await,
                Command::Sim(_) | Command::Demo(_) => unreachable!("handled above"),
            }
        }
    }
}

/// Loads the configuration; a configuration error is printed and reported as `None` (exit code 2).
fn load_settings(file: Option<PathBuf>) -> anyhow::Result<Option<Settings>> {
    match config::load(&ConfigSource::from_process(file)) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(None)
        }
    }
}

/// Logs, and OTLP traces and metrics when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, from `[telemetry]`.
/// A configuration that does not load falls back to warnings-only text logs here; the command then
/// reports the configuration error itself. Only an invalid log filter stops the program (exit 2).
fn init_telemetry(file: Option<PathBuf>) -> Result<telemetry::TelemetryGuard, telemetry::TelemetryError> {
    let settings = config::load(&ConfigSource::from_process(file)).map(|s| s.telemetry).unwrap_or_else(|_| TelemetrySettings {
        log_format: config::LogFormat::Text,
        log_level: "warn".into(),
        service_name: "fleetgate".into(),
    });
    telemetry::init(&settings)
}
