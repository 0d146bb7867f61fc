//! Saved plans: `plan --out FILE` / `backfill --dry-run --out FILE` write what would be done, per
//! cluster with the compliance [`Fingerprint`] of the cluster document it was planned from;
//! `apply --plan FILE` / `backfill --plan FILE` apply exactly that, refusing every cluster that changed
//! since — its fingerprint differs, or planning it again gives other actions (something around it
//! changed: an identity, a role assignment, the Defender plan, the configuration).
//!
//! The file is JSON (`docs/schemas/plan-file.schema.json`); it holds resource IDs and the planned
//! request details, never a secret.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::changes::SubscriptionChange;
use crate::core::unchanged::Fingerprint;
use crate::core::{Action, Blocker, Plan, PlanStatus};
use crate::id::ResourceId;

/// `kind` of a plan file.
pub const PLAN_FILE_KIND: &str = "fleetgate-plan";
/// The plan-file format version this build writes and reads.
pub const PLAN_FILE_VERSION: u32 = 1;

/// One cluster as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCluster {
    /// The cluster.
    pub cluster: ResourceId,
    /// Its plan's verdict.
    pub status: PlanStatus,
    /// The compliance fingerprint (hex) of the cluster document planned from; `null` when there was none
    /// (not found, out of scope).
    pub fingerprint: Option<String>,
    /// The planned actions, in order.
    pub actions: Vec<Action>,
    /// The blockers.
    pub blockers: Vec<Blocker>,
}

impl SavedCluster {
    /// A cluster's plan and the fingerprint of the document it was made from.
    pub fn new(plan: &Plan, fingerprint: Option<&Fingerprint>) -> Self {
        Self {
            cluster: plan.cluster.clone(),
            status: plan.status,
            fingerprint: fingerprint.map(Fingerprint::to_hex),
            actions: plan.actions.clone(),
            blockers: plan.blockers.clone(),
        }
    }

    /// `Ok` when `plan` (made just now from a document with `fingerprint`) is the saved plan; otherwise
    /// what changed, for the refusal message.
    pub fn check(&self, plan: &Plan, fingerprint: Option<&Fingerprint>) -> Result<(), String> {
        if self.fingerprint.as_deref() != fingerprint.map(Fingerprint::to_hex).as_deref() {
            return Err("the cluster document changed since the plan was made (its compliance fingerprint differs)".into());
        }
        if self.status != plan.status {
            return Err(format!("it is now {} (planned: {})", status_name(plan.status), status_name(self.status)));
        }
        if self.actions != plan.actions {
            return Err(format!(
                "planning it again gives other actions ({} now, {} saved): something around it changed (identity, role assignments, Defender plan or configuration)",
                plan.actions.len(),
                self.actions.len()
            ));
        }
        Ok(())
    }
}

fn status_name(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Compliant => "compliant",
        PlanStatus::ChangesNeeded => "changes_needed",
        PlanStatus::Blocked => "blocked",
        PlanStatus::Excluded => "excluded",
    }
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`PLAN_FILE_VERSION`].
    pub schema_version: u32,
    /// [`PLAN_FILE_KIND`].
    pub kind: String,
    /// `plan` or `backfill`.
    pub command: String,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
    /// The fleetgate version that made it.
    pub fleetgate_version: String,
    /// Subscription-wide changes (the Defender for Containers plans), listed once each.
    pub subscription_changes: Vec<SubscriptionChange>,
    /// Every cluster planned, in ID order.
    pub clusters: Vec<SavedCluster>,
}

/// A plan file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file does not exist or cannot be read.
    #[error("plan file {path}: cannot read it ({error}); pass the file written by `fleetgate plan --out` or `backfill --dry-run --out`")]
    Read {
        /// The path.
        path: String,
        /// Why.
        error: String,
    },
    /// It is not a fleetgate plan of a version this build reads.
    #[error("plan file {path}: {what}; make a new one with `fleetgate plan --out` or `backfill --dry-run --out`")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// It cannot be written.
    #[error("plan file {path}: cannot write it ({error}); check the directory exists and is writable")]
    Write {
        /// The path.
        path: String,
        /// Why.
        error: String,
    },
}

impl SavedPlan {
    /// An empty plan made now by `command`.
    pub fn new(command: &str) -> Self {
        Self {
            schema_version: PLAN_FILE_VERSION,
            kind: PLAN_FILE_KIND.into(),
            command: command.into(),
            created: OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default(),
            fleetgate_version: env!("CARGO_PKG_VERSION").into(),
            subscription_changes: Vec::new(),
            clusters: Vec::new(),
        }
    }

    /// The saved cluster (IDs compare case-insensitively).
    pub fn find(&self, cluster: &ResourceId) -> Option<&SavedCluster> {
        self.clusters.iter().find(|c| &c.cluster == cluster)
    }

    /// The subscriptions of the saved clusters (lower case, deduplicated, in order).
    pub fn subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = Vec::new();
        for c in &self.clusters {
            let sub = c.cluster.subscription_id().to_ascii_lowercase();
            if !subs.contains(&sub) {
                subs.push(sub);
            }
        }
        subs
    }

    /// Writes the plan as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let err = |e: String| SavedPlanError::Write { path: path.display().to_string(), error: e };
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| err(e.to_string()))
    }

    /// Reads and checks a plan file.
    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| SavedPlanError::Read { path: path.display().to_string(), error: e.to_string() })?;
        Self::parse(&text).map_err(|what| SavedPlanError::Invalid { path: path.display().to_string(), what })
    }

    /// Parses a plan file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        if value.get("kind").and_then(|k| k.as_str()) != Some(PLAN_FILE_KIND) {
            return Err(format!("not a fleetgate plan (its \"kind\" is not \"{PLAN_FILE_KIND}\")"));
        }
        let version = value.get("schema_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(PLAN_FILE_VERSION)) {
            return Err(format!("schema_version {version:?} is not {PLAN_FILE_VERSION}, the version this fleetgate reads"));
        }
        serde_json::from_value(value).map_err(|e| format!("unexpected content ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityStrategy;
    use crate::core::PlanIdentity;

    fn plan(actions: Vec<Action>) -> Plan {
        let cluster = ResourceId::parse(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
        )
        .unwrap();
        let identity =
            PlanIdentity { strategy: IdentityStrategy::Dedicated, resource_id: None, principal_id: None, client_id: None, exists: false };
        let status = if actions.is_empty() { PlanStatus::Compliant } else { PlanStatus::ChangesNeeded };
        Plan { cluster: cluster.clone(), status, identity, registries: vec![], blockers: vec![], actions }
    }

    fn fingerprint(tag: &str) -> Fingerprint {
        let doc = serde_json::json!({"id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
            "location": "westeurope", "tags": {"x": tag}, "properties": {"kubernetesVersion": tag}});
        Fingerprint::of_document(&doc, "").unwrap()
    }

    #[test]
    fn round_trip_and_checks() {
        let p = plan(vec![Action::UpdateSecurityGating { resource: plan(vec![]).cluster, enable: true, add: vec![] }]);
        let mut saved = SavedPlan::new("plan");
        saved.clusters.push(SavedCluster::new(&p, Some(&fingerprint("1.31"))));
        let text = serde_json::to_string(&saved).unwrap();
        let back = SavedPlan::parse(&text).unwrap();
        assert_eq!(back, saved);
        let c = back.find(&p.cluster).unwrap();
        assert!(c.check(&p, Some(&fingerprint("1.31"))).is_ok());
        assert!(c.check(&p, Some(&fingerprint("1.32"))).unwrap_err().contains("fingerprint"));
        assert!(c.check(&plan(vec![]), Some(&fingerprint("1.31"))).unwrap_err().contains("now compliant"));
        assert_eq!(back.subscriptions(), ["00000000-0000-0000-0000-000000000001"]);
    }

    #[test]
    fn foreign_or_future_files_are_refused_with_the_reason() {
        assert!(SavedPlan::parse("[]").unwrap_err().contains("not a fleetgate plan"));
        assert!(SavedPlan::parse("{").unwrap_err().contains("not JSON"));
        let future = r#"{"kind": "fleetgate-plan", "schema_version": 99}"#;
        assert!(SavedPlan::parse(future).unwrap_err().contains("schema_version Some(99)"));
        let e = SavedPlan::read(Path::new("/nonexistent/plan.json")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/plan.json") && e.contains("plan --out"), "{e}");
    }
}
