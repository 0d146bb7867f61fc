//! `fleetgate config show`.

use clap::Subcommand;

use super::exit::Exit;
use fleetgate::config::{Settings, redacted_toml};

/// `fleetgate config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults ← file ← environment), secrets redacted.
    Show,
}

/// Runs a config subcommand.
pub fn run(cmd: ConfigCommand, settings: &Settings) -> anyhow::Result<Exit> {
    match cmd {
        ConfigCommand::Show => {
            print!("{}", redacted_toml(settings));
            Ok(Exit::Success)
        }
    }
}
