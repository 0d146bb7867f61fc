//! `fleetgate sim --listen 127.0.0.1:PORT --fleet FILE`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::exit::Exit;
use fleetgate::sim::{Fleet, run_cli};
use fleetgate::worker::demo::DEMO_FLEET;

/// Arguments of `fleetgate sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Loopback address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8585")]
    listen: SocketAddr,
    /// Fleet file (TOML or JSON) seeding the simulated Azure; default: config/demo-fleet.toml built in.
    #[arg(long, value_name = "FILE")]
    fleet: Option<PathBuf>,
}

/// Runs the simulator until Ctrl-C / SIGTERM.
pub async fn run(args: SimArgs) -> anyhow::Result<Exit> {
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "--listen {} is not a loopback address; the simulator serves plain HTTP and only binds 127.0.0.1 or [::1]",
            args.listen
        );
    }
    let fleet = match &args.fleet {
        Some(path) => Fleet::from_path(path)?,
        None => Fleet::from_toml_str(DEMO_FLEET).context("built-in demo fleet")?,
    };
    run_cli(args.listen, fleet).await?;
    Ok(Exit::Success)
}
