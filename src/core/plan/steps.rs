//! The action steps, one function per kind, in plan order.

use std::collections::BTreeMap;

use super::Ctx;
use crate::config::IdentityStrategy;
use crate::core::action::Action;
use crate::core::gating::{GatingAddition, has_entry, registry_reference_value};
use crate::core::names::{
    self, CLUSTER_TAG, FIC_AUDIENCE, FIC_SUBJECT, KNOWN_AFTER_APPLY, MANAGED_BY_TAG, MANAGED_BY_VALUE, acr_pull_assignment_id,
};
use crate::core::pricing::missing_for_gating;
use crate::id::ResourceId;

/// All actions, in order.
pub(super) fn actions(ctx: &Ctx<'_>) -> Vec<Action> {
    let mut out = Vec::new();
    out.extend(prerequisites(ctx));
    out.extend(defender_plans(ctx));
    out.extend(create_identity(ctx));
    out.extend(federated_credential(ctx));
    out.extend(acr_pulls(ctx));
    out.extend(security_gating(ctx));
    out
}

fn prerequisites(ctx: &Ctx<'_>) -> Option<Action> {
    let c = ctx.cluster;
    let (oidc_issuer, workload_identity) = (!c.oidc_issuer_enabled, !c.workload_identity_enabled);
    (ctx.policy.enable_prerequisites && (oidc_issuer || workload_identity)).then(|| Action::EnablePrerequisites {
        resource: c.id.clone(),
        oidc_issuer,
        workload_identity,
    })
}

/// One action per subscription (the cluster's first, then the registries') whose plan is not ready.
fn defender_plans(ctx: &Ctx<'_>) -> Vec<Action> {
    let subscriptions = ctx.policy.pricing_subscriptions(&ctx.cluster.id, ctx.registries.iter().map(|r| &r.id));
    subscriptions
        .into_iter()
        .filter_map(|sub| {
            let observed = ctx.obs.pricing_for(&sub).and_then(|p| p.pricing.as_ref());
            let missing = missing_for_gating(observed);
            if missing.is_empty() {
                return None;
            }
            let resource = names::containers_pricing_id(&sub).ok()?;
            Some(Action::EnableDefenderPlan { resource, subscription: sub, missing: missing.into_iter().map(str::to_string).collect() })
        })
        .collect()
}

fn create_identity(ctx: &Ctx<'_>) -> Option<Action> {
    if ctx.policy.strategy != IdentityStrategy::Dedicated || ctx.identity.exists {
        return None;
    }
    let tags =
        BTreeMap::from([(MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()), (CLUSTER_TAG.to_string(), ctx.cluster.id.to_string())]);
    Some(Action::CreateIdentity { resource: ctx.identity.resource_id.clone()?, location: ctx.cluster.location.clone(), tags })
}

/// Planned only when the issuer URL is known (after `enable_prerequisites` the IO layer plans again).
fn federated_credential(ctx: &Ctx<'_>) -> Option<Action> {
    let identity = ctx.identity.resource_id.as_ref()?;
    let issuer = ctx.cluster.oidc_issuer_url.as_deref().filter(|_| ctx.cluster.oidc_issuer_enabled)?;
    let present = ctx.identity.exists && ctx.obs.federated_credentials.iter().any(|f| f.trusts(issuer, FIC_SUBJECT));
    if present {
        return None;
    }
    let name = names::fic_name(issuer);
    Some(Action::CreateFederatedCredential {
        resource: identity.child("federatedIdentityCredentials", &name).ok()?,
        identity: identity.clone(),
        name,
        issuer: issuer.to_string(),
        subject: FIC_SUBJECT.to_string(),
        audience: FIC_AUDIENCE.to_string(),
    })
}

/// One action per registry without AcrPull for the gating principal at exactly its scope.
fn acr_pulls(ctx: &Ctx<'_>) -> Vec<Action> {
    let principal = ctx.identity.principal_id.as_deref().filter(|_| ctx.identity.exists);
    ctx.registries
        .iter()
        .filter(|r| !principal.is_some_and(|p| ctx.obs.identity_acr_pulls.iter().any(|a| a.grants_acr_pull_at(p, &r.id))))
        .map(|r| Action::AssignAcrPull {
            resource: assignment_resource(&r.id, principal),
            registry: r.id.clone(),
            principal_id: principal.map(str::to_string),
        })
        .collect()
}

fn assignment_resource(registry: &ResourceId, principal: Option<&str>) -> String {
    match principal.map(|p| acr_pull_assignment_id(registry, p)) {
        Some(Ok(id)) => id.to_string(),
        _ => format!("{registry}/providers/Microsoft.Authorization/roleAssignments/{KNOWN_AFTER_APPLY}"),
    }
}

/// `enabled` off, or a registry without an entry for the gating identity. An identity still to be
/// created has no entries yet, whatever the document says.
fn security_gating(ctx: &Ctx<'_>) -> Option<Action> {
    let identity = ctx.identity.resource_id.as_ref()?;
    let entries = ctx.cluster.gating_entries();
    let (client, object) = (ctx.identity.client_id.as_deref(), ctx.identity.principal_id.as_deref());
    let add: Vec<GatingAddition> = ctx
        .registries
        .iter()
        .map(|r| GatingAddition {
            registry: r.id.clone(),
            login_server: r.login_server().map(str::to_string),
            azure_container_registry: registry_reference_value(ctx.policy.registry_reference, &r.id, r.login_server()),
        })
        .filter(|a| !(ctx.identity.exists && has_entry(entries, a, identity, client, object)))
        .collect();
    let enable = !ctx.cluster.gating_enabled();
    (enable || !add.is_empty()).then(|| Action::UpdateSecurityGating { resource: ctx.cluster.id.clone(), enable, add })
}
