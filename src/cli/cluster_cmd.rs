//! `fleetgate plan --cluster ID` and `fleetgate apply --cluster ID`.

use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::Exit;
use fleetgate::arm::ArmClient;
use fleetgate::config::Settings;
use fleetgate::core::text::{render_apply, render_plan};
use fleetgate::core::{ApplyStatus, PlanStatus};
use fleetgate::id::ResourceId;
use fleetgate::reconcile::Engine;

/// Output format of `plan` and `apply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// terraform-plan-like text.
    Text,
    /// One JSON document (the documented shape).
    Json,
}

/// Arguments of `plan` and `apply`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The managed cluster's ARM resource ID.
    #[arg(long, value_name = "ARM_ID")]
    cluster: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

/// Builds the engine from settings (credential, ARM client, policy).
pub fn engine(settings: &Settings) -> anyhow::Result<Engine> {
    let arm = ArmClient::from_settings(&settings.azure, &settings.scope.subscriptions)?;
    Ok(Engine::new(arm, Arc::new(settings.clone()))?)
}

fn parse_cluster(raw: &str) -> Option<ResourceId> {
    match ResourceId::parse(raw) {
        Ok(id) if id.is_type("Microsoft.ContainerService/managedClusters") => Some(id),
        Ok(id) => {
            eprintln!("error: --cluster {id} is not a Microsoft.ContainerService/managedClusters resource ID");
            None
        }
        Err(e) => {
            eprintln!("error: --cluster: {e}");
            None
        }
    }
}

/// `fleetgate plan`: observes and plans; sends only GETs.
pub async fn plan(args: ClusterArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let Some(cluster) = parse_cluster(&args.cluster) else { return Ok(Exit::Usage) };
    let plan = engine(settings)?.plan(&cluster).await?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        OutputFormat::Text => print!("{}", render_plan(&plan)),
    }
    Ok(match plan.status {
        PlanStatus::Compliant | PlanStatus::ChangesNeeded => Exit::Success,
        PlanStatus::Blocked | PlanStatus::Excluded => Exit::Blocked,
    })
}

/// `fleetgate apply`: converges the cluster.
pub async fn apply(args: ClusterArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let Some(cluster) = parse_cluster(&args.cluster) else { return Ok(Exit::Usage) };
    let applied = engine(settings)?.apply(&cluster).await;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&applied.report)?),
        OutputFormat::Text => print!("{}", render_apply(&applied.report)),
    }
    if let Some(e) = &applied.error {
        eprintln!("error: {e}");
    }
    Ok(match applied.report.status {
        ApplyStatus::Converged => Exit::Success,
        ApplyStatus::Blocked | ApplyStatus::Excluded => Exit::Blocked,
        ApplyStatus::Failed => Exit::Failure,
    })
}
