//! Naming what a command acts on: one cluster by `--cluster ID` or `--subscription S -g RG -n NAME`
//! (as `az aks` does), and subscriptions by ID or by display name. Names are resolved by reading each
//! subscription in `scope.subscriptions` (`GET /subscriptions/{id}`), never a tenant-wide list:
//! nothing outside the scope is read.

use clap::Args;

use super::exit::Exit;
use fleetgate::arm::ArmClient;
use fleetgate::fleet::{NameMatch, match_subscription_name};
use fleetgate::id::{ResourceId, is_guid};

/// api-version of `GET /subscriptions/{id}` (Microsoft.Resources).
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";

/// One managed cluster: `--cluster ID`, or `--subscription -g -n`.
#[derive(Debug, Args)]
pub struct ClusterTarget {
    /// The managed cluster's ARM resource ID (or use --subscription, -g and -n).
    #[arg(long, value_name = "ARM_ID", conflicts_with_all = ["subscription", "resource_group", "name"])]
    cluster: Option<String>,
    /// The cluster's subscription: ID or display name (with -g and -n).
    #[arg(long, value_name = "ID_OR_NAME", requires = "name")]
    subscription: Option<String>,
    /// The cluster's resource group (with --subscription and -n).
    #[arg(short = 'g', long = "resource-group", value_name = "RG", requires = "name")]
    resource_group: Option<String>,
    /// The cluster's name (with --subscription and -g).
    #[arg(short = 'n', long = "name", value_name = "NAME", requires_all = ["subscription", "resource_group"])]
    name: Option<String>,
}

/// A target that cannot be resolved, with the exit code it means.
#[derive(Debug)]
pub struct TargetError {
    /// What to print.
    pub message: String,
    /// 2 (usage) or 4 (nothing in scope by that name).
    pub exit: Exit,
}

impl TargetError {
    fn usage(message: String) -> Self {
        Self { message, exit: Exit::Usage }
    }
}

impl ClusterTarget {
    /// The cluster's ID; a subscription given by name is resolved against `scope`.
    pub async fn resolve(&self, arm: &ArmClient, scope: &[String]) -> Result<ResourceId, TargetError> {
        let raw = match (&self.cluster, &self.subscription, &self.resource_group, &self.name) {
            (Some(id), ..) => id.clone(),
            (None, Some(sub), Some(rg), Some(name)) => {
                let sub = resolve_subscription(arm, scope, sub).await?;
                format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}")
            }
            _ => return Err(TargetError::usage("name the cluster with --cluster ID, or with --subscription, -g and -n".into())),
        };
        let flag = if self.cluster.is_some() { "--cluster" } else { "--subscription/-g/-n" };
        match ResourceId::parse(&raw) {
            Ok(id) if id.is_type("Microsoft.ContainerService/managedClusters") => Ok(id),
            Ok(id) => Err(TargetError::usage(format!("{flag} {id} is not a Microsoft.ContainerService/managedClusters resource ID"))),
            Err(e) => Err(TargetError::usage(format!("{flag}: {e}"))),
        }
    }
}

/// A `--subscription` value as an ID: a GUID as given, a display name looked up among `scope`.
pub async fn resolve_subscription(arm: &ArmClient, scope: &[String], raw: &str) -> Result<String, TargetError> {
    let value = raw.trim();
    if is_guid(value) {
        return Ok(value.to_string());
    }
    if scope.is_empty() {
        return Err(TargetError {
            message: format!(
                "--subscription {value:?} is a name, and scope.subscriptions is empty, so there is nothing to look it up in; set scope.subscriptions (FLEETGATE__SCOPE__SUBSCRIPTIONS)"
            ),
            exit: Exit::NotFound,
        });
    }
    let mut known = Vec::new();
    for id in scope {
        match arm.get(&format!("/subscriptions/{id}"), SUBSCRIPTIONS_API).await {
            Ok(Some(resp)) => {
                let name = resp.body.get("displayName").and_then(|n| n.as_str()).unwrap_or_default().to_string();
                known.push((id.clone(), name));
            }
            Ok(None) => known.push((id.clone(), "<not found>".into())),
            Err(e) => {
                return Err(TargetError {
                    message: format!("--subscription {value:?}: reading subscription {id} to match its name failed: {e}"),
                    exit: Exit::Failure,
                });
            }
        }
    }
    match match_subscription_name(value, &known) {
        NameMatch::One(id) => Ok(id),
        NameMatch::Ambiguous(ids) => Err(TargetError::usage(format!(
            "--subscription {value:?} is ambiguous: subscriptions {} all have that name; pass the subscription ID instead",
            ids.join(", ")
        ))),
        NameMatch::None(all) => Err(TargetError {
            message: format!(
                "--subscription {value:?}: no subscription in scope.subscriptions has that name (fleetgate only looks inside the scope); in scope: {}",
                all.join(", ")
            ),
            exit: Exit::NotFound,
        }),
    }
}

/// Every `--subscription` value as an ID (see [`resolve_subscription`]).
pub async fn resolve_subscriptions(arm: &ArmClient, scope: &[String], raw: &[String]) -> Result<Vec<String>, TargetError> {
    let mut out = Vec::with_capacity(raw.len());
    for value in raw {
        out.push(resolve_subscription(arm, scope, value).await?);
    }
    Ok(out)
}

impl ClusterTarget {
    /// A usage error unless `--cluster` or `-n` (with `--subscription` and `-g`) was given.
    pub fn check(&self) -> Result<(), TargetError> {
        if self.cluster.is_none() && self.name.is_none() {
            return Err(TargetError::usage("name the cluster with --cluster ID, or with --subscription, -g and -n".into()));
        }
        Ok(())
    }
}
