//! Command line: `fleetgate <command>`. Each command lives in its own module; this one parses
//! arguments (global `--config`, `-q`, `-v`), sets up logging, loads configuration and maps results to
//! exit codes (the one table in [`exit`]).
//!
//! - `cluster_cmd` (`plan`, `apply`), `backfill_cmd`, `report_cmd`, `run_cmd`, `doctor_cmd`,
//!   `config_cmd`, `sim_cmd`, `demo_cmd`, `docs_cmd` (`completions`, `man`): the commands.
//! - `output` (`-o/--output`, the JSON envelope, terminal settings), `render` (text of what will
//!   change), `confirm` (terraform-style approval), `target` (cluster and subscription names),
//!   `signals` (SIGINT/SIGTERM), `version` (`--version`), `exit` (exit codes).

mod backfill_cmd;
mod cluster_cmd;
mod config_cmd;
mod confirm;
mod demo_cmd;
mod docs_cmd;
pub mod doctor_cmd;
mod exit;
mod output;
mod render;
mod report_cmd;
mod run_cmd;
mod signals;
mod sim_cmd;
mod target;
mod version;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

pub use exit::Exit;
use fleetgate::config::{self, ConfigSource, Settings, TelemetrySettings};
use fleetgate::telemetry::{self, TelemetryEnv};
use output::Ui;

/// Defender for Containers gated deployment, automated for AKS fleets.
#[derive(Debug, Parser)]
#[command(name = "fleetgate", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file layered over the built-in defaults (also FLEETGATE_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Less output: no progress, only errors in the logs.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More logs on stderr: -v info, -vv debug, -vvv trace (wins over FLEETGATE_LOG).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
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
    /// Show what `apply` would change on one cluster (sends only GETs); --out saves the plan.
    Plan(cluster_cmd::PlanArgs),
    /// Converge one cluster after showing the plan and asking (--yes without a terminal, or --plan FILE).
    Apply(cluster_cmd::ApplyArgs),
    /// Check configuration, network, credential, ARM access, the api-version, Service Bus and Event Grid.
    Doctor(doctor_cmd::DoctorArgs),
    /// The event worker: Service Bus until SIGTERM/SIGINT, or a JSON-lines file (`--source file:PATH`).
    Run(run_cmd::RunArgs),
    /// End to end on one machine: simulator, real-shaped events, the real worker, fleet before/after
    /// (self-contained: ignores --config and FLEETGATE__* settings).
    Demo(demo_cmd::DemoArgs),
    /// Bring the whole fleet in scope to gated deployment (bulk observe, show, ask, then reconcile or enqueue).
    Backfill(backfill_cmd::BackfillArgs),
    /// Report every cluster's gated-deployment status from bulk reads (no writes).
    Report(report_cmd::ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs_cmd::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with --out-dir.
    Man(docs_cmd::ManArgs),
}

impl Command {
    /// Services log at `telemetry.log_level` (`info` by default); one-shot commands at `warn`.
    fn is_service(&self) -> bool {
        matches!(self, Self::Run(_) | Self::Sim(_))
    }
}

/// The clap command with `--version` showing the commit and the default api-version.
fn command() -> clap::Command {
    let line: &'static str = Box::leak(version::version_line().into_boxed_str());
    Cli::command().version(line)
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let ui = Ui { quiet: cli.quiet, verbose: cli.verbose };
    let telemetry = match init_telemetry(&cli) {
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
    let result = runtime.block_on(run(cli, ui));
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

async fn run(cli: Cli, ui: Ui) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Sim(args) => sim_cmd::run(args).await,
        Command::Demo(args) => demo_cmd::run(args).await,
        Command::Completions(args) => docs_cmd::completions(args, command()),
        Command::Man(args) => docs_cmd::man(args, command()),
        command => {
            let Some(settings) = load_settings(cli.config) else { return Ok(Exit::Usage) };
            match command {
                Command::Config(cmd) => config_cmd::run(cmd, &settings),
                Command::Plan(args) => cluster_cmd::plan(args, &settings, ui).await,
                Command::Apply(args) => cluster_cmd::apply(args, &settings, ui).await,
                Command::Doctor(args) => doctor_cmd::run(args, &settings).await,
                Command::Run(args) => run_cmd::run(args, &settings).await,
                Command::Backfill(args) => backfill_cmd::run(args, &settings, ui).await,
                Command::Report(args) => report_cmd::run(args, &settings).await,
                Command::Sim(_) | Command::Demo(_) | Command::Completions(_) | Command::Man(_) => unreachable!("handled above"),
            }
        }
    }
}

/// Loads the configuration; a configuration error is printed and reported as `None` (exit code 2).
fn load_settings(file: Option<PathBuf>) -> Option<Settings> {
    match config::load(&ConfigSource::from_process(file)) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

/// The log filter: `-q` → `error`, `-v`… → `info`/`debug`/`trace` (flags win), else `FLEETGATE_LOG`,
/// else `telemetry.log_level` for the services (`run`, `sim`) and `warn` for one-shot commands.
fn log_filter(quiet: bool, verbose: u8, env: Option<String>, service: bool, configured: &str) -> (Option<String>, String) {
    let flag = match (quiet, verbose) {
        (true, _) => Some("error"),
        (_, 0) => None,
        (_, 1) => Some("info"),
        (_, 2) => Some("debug"),
        _ => Some("trace"),
    };
    let level = if service { configured.to_string() } else { "warn".to_string() };
    (flag.map(str::to_string).or(env), level)
}

/// Logs, and OTLP traces and metrics when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, from `[telemetry]`.
/// A configuration that does not load falls back to text logs here; the command then reports the
/// configuration error itself. Only an invalid log filter stops the program (exit 2).
fn init_telemetry(cli: &Cli) -> Result<telemetry::TelemetryGuard, telemetry::TelemetryError> {
    let mut settings = config::load(&ConfigSource::from_process(cli.config.clone())).map(|s| s.telemetry).unwrap_or_else(|_| {
        TelemetrySettings { log_format: config::LogFormat::Text, log_level: "warn".into(), service_name: "fleetgate".into() }
    });
    let mut env = TelemetryEnv::from_process();
    let (filter, level) = log_filter(cli.quiet, cli.verbose, env.log_filter.take(), cli.command.is_service(), &settings.log_level);
    env.log_filter = filter;
    settings.log_level = level;
    telemetry::init_with(&settings, &env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_commands_log_at_warn_and_flags_win() {
        assert_eq!(log_filter(false, 0, None, false, "info"), (None, "warn".into()));
        assert_eq!(log_filter(false, 0, None, true, "info"), (None, "info".into()), "the worker keeps its level");
        assert_eq!(log_filter(false, 0, Some("trace".into()), false, "info").0.as_deref(), Some("trace"));
        assert_eq!(log_filter(true, 0, Some("trace".into()), false, "info").0.as_deref(), Some("error"));
        assert_eq!(log_filter(false, 2, None, false, "info").0.as_deref(), Some("debug"));
    }

    #[test]
    fn the_command_definitions_are_consistent() {
        command().debug_assert();
    }
}
