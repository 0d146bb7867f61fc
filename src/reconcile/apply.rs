//! Apply: one action at a time, each idempotent. "Already there" answers (`RoleAssignmentExists`, an
//! existing FIC for the same issuer + subject, "security gating already exists", a 412 on a create-only
//! PUT — see `create`) count as success.

use serde_json::Value;

use super::cluster_write::is_already_exists;
use super::create::Created;
use super::{Engine, ReconcileError};
use crate::config::DefenderPlanMode;
use crate::core::bodies::{acr_pull_body, federated_credential_body, identity_body};
use crate::core::gating::{GatingIdentityRef, apply_prerequisites, apply_security_gating, desired_entries};
use crate::core::model::{FicView, IdentityView, PricingView};
use crate::core::names::{FIC_SUBJECT, acr_pull_assignment_id};
use crate::core::pricing::{is_gating_ready, merge_for_gating};
use crate::core::unchanged::Fingerprint;
use crate::core::{Action, AppliedAction, Outcome};
use crate::id::ResourceId;
use crate::telemetry::metrics;

/// What one action did.
pub(super) struct ActionResult {
    pub record: AppliedAction,
    /// The cluster changed in a way that needs a fresh observation before the next action.
    pub replan: bool,
}

pub(super) fn done(action: &Action, resource: String, outcome: Outcome, attempts: u32) -> ActionResult {
    if outcome == Outcome::Applied {
        metrics().write(action.kind().as_str());
    }
    ActionResult { record: AppliedAction { kind: action.kind(), resource, outcome, attempts }, replan: false }
}

impl Engine {
    /// Executes one action. `identity` carries the gating identity once it exists; `basis` is the
    /// fingerprint of the cluster the plan was made from (a cluster edit re-checks it on a fresh read).
    pub(super) async fn apply_action(
        &self,
        action: &Action,
        identity: &mut Option<GatingIdentityRef>,
        basis: &Fingerprint,
    ) -> Result<ActionResult, ReconcileError> {
        match action {
            Action::EnablePrerequisites { resource, oidc_issuer, workload_identity } => {
                let (oidc, wi) = (*oidc_issuer, *workload_identity);
                let w = self.edit_cluster(resource, basis, &|doc: &mut Value| apply_prerequisites(doc, oidc, wi)).await?;
                // The issuer URL only exists afterwards: always observe again.
                Ok(ActionResult { record: done(action, resource.to_string(), w.outcome, w.attempts).record, replan: true })
            }
            Action::EnableDefenderPlan { resource, .. } => {
                let (outcome, attempts) = self.enable_defender_plan(resource).await?;
                Ok(done(action, resource.to_string(), outcome, attempts))
            }
            Action::CreateIdentity { resource, location, tags } => {
                let body = identity_body(location, tags);
                let resp = match self.create_once(resource, &self.settings.azure.api_versions.managed_identity, &body).await? {
                    Created::New(resp) => resp,
                    // Another replica created it just now: observe again, so the planner checks it.
                    Created::Existing(_) => {
                        let record = done(action, resource.to_string(), Outcome::AlreadyPresent, 1).record;
                        return Ok(ActionResult { record, replan: true });
                    }
                };
                let view = IdentityView::from_json(&resp.body).map_err(|e| ReconcileError::model(resource, e))?;
                *identity = Some(GatingIdentityRef::from_identity(&view));
                Ok(done(action, resource.to_string(), Outcome::Applied, resp.attempts))
            }
            Action::CreateFederatedCredential { resource, identity: owner, issuer, .. } => {
                let (outcome, attempts) = self.create_fic(resource, owner, issuer).await?;
                Ok(done(action, resource.to_string(), outcome, attempts))
            }
            Action::AssignAcrPull { registry, principal_id, .. } => {
                let principal = principal_id.clone().or_else(|| identity.as_ref().map(|i| i.object_id.clone()));
                let principal = principal
                    .ok_or_else(|| ReconcileError::MissingIdentity { action: "assign_acr_pull", resource: registry.to_string() })?;
                let (id, outcome, attempts) = self.assign_acr_pull(registry, &principal).await?;
                Ok(done(action, id.to_string(), outcome, attempts))
            }
            Action::UpdateSecurityGating { resource, add, .. } => {
                let who = identity
                    .clone()
                    .ok_or_else(|| ReconcileError::MissingIdentity { action: "update_security_gating", resource: resource.to_string() })?;
                let desired = desired_entries(add, &who);
                let w = self.edit_cluster(resource, basis, &|doc: &mut Value| apply_security_gating(doc, &desired)).await?;
                let mut result = done(action, resource.to_string(), w.outcome, w.attempts);
                result.replan = !w.confirmed;
                Ok(result)
            }
        }
    }

    /// GET → merge → PUT the Containers pricing. "Security gating already exists" is success when a
    /// re-read shows the plan ready; otherwise the PUT is tried once more. Public so a backfill can
    /// enable each subscription's plan once before the clusters that share it.
    pub async fn enable_defender_plan(&self, pricing_id: &ResourceId) -> Result<(Outcome, u32), ReconcileError> {
        let version = &self.settings.azure.api_versions.pricings;
        let mut puts = 0;
        loop {
            let current = self.arm.get(pricing_id.as_str(), version).await?;
            if current.as_ref().is_some_and(|c| ready(&c.body)) {
                return Ok((Outcome::AlreadyPresent, puts.max(1)));
            }
            if self.policy.defender_plan == DefenderPlanMode::Extensions && !current.as_ref().is_some_and(|c| standard(&c.body)) {
                let subscription = pricing_id.subscription_id().to_string();
                return Err(ReconcileError::DefenderPlanOff { pricing: pricing_id.to_string(), subscription });
            }
            let body = merge_for_gating(current.as_ref().map(|c| &c.body));
            match self.arm.put(pricing_id.as_str(), version, &body, None).await {
                Ok(resp) => return Ok((Outcome::Applied, puts + resp.attempts)),
                Err(e) if is_already_exists(&e) && puts == 0 => puts += e.attempts(),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Creates the FIC (create-only), serialized per identity. A duplicate issuer + subject under another
    /// name is success; so is the same FIC created a moment ago by another replica. A FIC of that name
    /// that trusts something else is overwritten.
    async fn create_fic(&self, fic: &ResourceId, owner: &ResourceId, issuer: &str) -> Result<(Outcome, u32), ReconcileError> {
        let _guard = self.fic_locks.lock(owner.key()).await;
        let body = federated_credential_body(issuer);
        let version = &self.settings.azure.api_versions.managed_identity;
        let written = match self.create_once(fic, version, &body).await {
            Ok(Created::New(resp)) => Ok(resp),
            Ok(Created::Existing(resp)) if FicView::from_json(&resp.body).is_ok_and(|f| f.trusts(issuer, FIC_SUBJECT)) => {
                return Ok((Outcome::AlreadyPresent, 1));
            }
            Ok(Created::Existing(_)) => self.arm.put(fic.as_str(), version, &body, None).await.map_err(ReconcileError::from),
            Err(e) => Err(e),
        };
        match written {
            Ok(resp) => Ok((Outcome::Applied, resp.attempts)),
            Err(ReconcileError::Arm(e)) if e.status() == Some(400) && is_already_exists(&e) => Ok((Outcome::AlreadyPresent, 1)),
            Err(e) => Err(e),
        }
    }

    /// Creates the deterministic AcrPull assignment (create-only: its name is derived from the registry
    /// and the principal, so an existing one is the same grant). `RoleAssignmentExists` (same grant,
    /// another name) is success.
    async fn assign_acr_pull(&self, registry: &ResourceId, principal: &str) -> Result<(ResourceId, Outcome, u32), ReconcileError> {
        let id = acr_pull_assignment_id(registry, principal)
            .map_err(|e| ReconcileError::InvalidId { what: "role assignment", source: Box::new(e) })?;
        let body = acr_pull_body(registry, principal);
        match self.create_once(&id, &self.settings.azure.api_versions.role_assignments, &body).await {
            Ok(Created::New(resp)) => Ok((id, Outcome::Applied, resp.attempts)),
            Ok(Created::Existing(_)) => Ok((id, Outcome::AlreadyPresent, 1)),
            Err(ReconcileError::Arm(e)) if e.code().is_some_and(|c| c.eq_ignore_ascii_case("RoleAssignmentExists")) => {
                Ok((id, Outcome::AlreadyPresent, 1))
            }
            Err(e) => Err(e),
        }
    }
}

/// True when the pricing document is on the Standard tier (`extensions` mode writes only then).
fn standard(body: &Value) -> bool {
    PricingView::from_json(body).is_ok_and(|p| p.is_standard())
}

fn ready(body: &Value) -> bool {
    PricingView::from_json(body).is_ok_and(|p| is_gating_ready(&p))
}
