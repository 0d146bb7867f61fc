//! `fleetgate config show [-o text|json]`.

use clap::{Args, Subcommand};

use super::exit::Exit;
use super::output::{Output, document, print_json};
use fleetgate::config::{Settings, redacted_toml};

/// `fleetgate config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults ← file ← environment), secrets redacted.
    Show(ShowArgs),
}

/// Arguments of `config show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// text: TOML (with which secret variables are set); json: `{"schema_version", "command", "settings"}`.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Runs a config subcommand.
pub fn run(cmd: ConfigCommand, settings: &Settings) -> anyhow::Result<Exit> {
    match cmd {
        ConfigCommand::Show(args) => {
            let text = redacted_toml(settings);
            match args.output {
                Output::Text => print!("{text}"),
                Output::Json => {
                    // The same redacted view, as JSON.
                    let settings: toml::Value = toml::from_str(&text)?;
                    print_json(&document("config", &serde_json::json!({ "settings": settings })));
                }
            }
            Ok(Exit::Success)
        }
    }
}
