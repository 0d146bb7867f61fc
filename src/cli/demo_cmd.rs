//! `fleetgate demo`: the simulator, real-shaped events and the real worker end to end (see
//! `fleetgate::worker::demo`). Exit 0 only if every convergeable cluster converged.

use clap::{Args, ValueEnum};

use super::exit::Exit;
use fleetgate::config::QueueAuthKind;
use fleetgate::worker::demo::{self, DemoOptions, DemoSpeed};

/// Simulator timing of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Speed {
    /// ARM-like latency, 3 s cluster updates, 5 s identity replication.
    Realistic,
    /// No simulated latency.
    Instant,
}

/// Service Bus authentication used by the demo's worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// Microsoft Entra bearer tokens (the default in production).
    Entra,
    /// A shared access signature.
    Sas,
}

/// Arguments of `fleetgate demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Simulator timing.
    #[arg(long, value_enum, default_value_t = Speed::Realistic)]
    speed: Speed,
    /// How the worker authenticates to the simulated Service Bus.
    #[arg(long, value_enum, default_value_t = Auth::Entra)]
    queue_auth: Auth,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<Exit> {
    let options = DemoOptions {
        speed: match args.speed {
            Speed::Realistic => DemoSpeed::Realistic,
            Speed::Instant => DemoSpeed::Instant,
        },
        queue_auth: match args.queue_auth {
            Auth::Entra => QueueAuthKind::Entra,
            Auth::Sas => QueueAuthKind::Sas,
        },
        ..DemoOptions::default()
    };
    let result = demo::run(options, &mut std::io::stdout()).await?;
    Ok(if result.ok() { Exit::Success } else { Exit::Failure })
}
