//! Blockers: conditions under which nothing is written.

use super::Ctx;
use crate::config::DefenderPlanMode;
use crate::core::blocker::Blocker;
use crate::core::names::{FIC_SUBJECT, MAX_FICS_PER_IDENTITY};

/// Every blocker for the cluster, in a fixed order; `identity` is the identity resolution's own blocker.
pub(super) fn blockers(ctx: &Ctx<'_>, identity: Option<Blocker>) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = document(ctx).into_iter().collect();
    out.extend(prerequisites(ctx));
    out.extend(kubelet(ctx));
    out.extend(version(ctx));
    out.extend(identity);
    out.extend(identity_scope(ctx));
    out.extend(registries(ctx));
    out.extend(fic_limit(ctx));
    out.extend(defender_plan_off(ctx));
    out
}

/// A document the edits cannot be applied to: refused before any write, never after.
fn document(ctx: &Ctx<'_>) -> Option<Blocker> {
    let issue = ctx.cluster.document_issue.as_deref()?;
    Some(Blocker::unsupported_cluster_document(&ctx.cluster.id, issue))
}

/// The gating identity must be inside scope: its federated credential (and, for the kubelet identity,
/// everything around it) would be written in its subscription.
fn identity_scope(ctx: &Ctx<'_>) -> Option<Blocker> {
    let id = ctx.identity.resource_id.as_ref().filter(|id| !ctx.policy.allows(id))?;
    Some(Blocker::identity_out_of_scope(id, &ctx.cluster.id))
}

/// `extensions` mode: every subscription whose plan was observed off (Free, or no pricing at all). An
/// unobserved plan is not a blocker here; the pricing action re-reads it and refuses to switch it on.
fn defender_plan_off(ctx: &Ctx<'_>) -> Vec<Blocker> {
    if ctx.policy.defender_plan != DefenderPlanMode::Extensions {
        return Vec::new();
    }
    let subscriptions = ctx.policy.pricing_subscriptions(&ctx.cluster.id, ctx.registries.iter().map(|r| &r.id));
    subscriptions
        .into_iter()
        .filter(|sub| ctx.obs.pricing_for(sub).is_some_and(|p| !p.pricing.as_ref().is_some_and(|v| v.is_standard())))
        .map(|sub| Blocker::defender_plan_off(&ctx.cluster.id, &sub))
        .collect()
}

/// OIDC issuer and workload identity (reported only when fleetgate may not enable them).
fn prerequisites(ctx: &Ctx<'_>) -> Vec<Blocker> {
    let c = ctx.cluster;
    let mut out = Vec::new();
    if !c.oidc_issuer_enabled && !ctx.policy.enable_prerequisites {
        out.push(Blocker::oidc_issuer_disabled(&c.id));
    }
    if c.oidc_issuer_enabled && c.oidc_issuer_url.is_none() {
        out.push(Blocker::oidc_issuer_url_missing(&c.id));
    }
    if !c.workload_identity_enabled && !ctx.policy.enable_prerequisites {
        out.push(Blocker::workload_identity_disabled(&c.id));
    }
    out
}

fn kubelet(ctx: &Ctx<'_>) -> Option<Blocker> {
    ctx.cluster.kubelet_identity.is_none().then(|| Blocker::no_kubelet_identity(&ctx.cluster.id))
}

fn version(ctx: &Ctx<'_>) -> Option<Blocker> {
    let v = ctx.cluster.effective_kubernetes_version();
    let ok = v.is_some_and(|v| ctx.policy.supports_version(v));
    (!ok).then(|| Blocker::kubernetes_version_unsupported(&ctx.cluster.id, v, ctx.policy.min_kubernetes_version))
}

/// Registries outside the allowed subscriptions, and in-scope registries that could not be read.
fn registries(ctx: &Ctx<'_>) -> Vec<Blocker> {
    let cluster = &ctx.cluster.id;
    ctx.registries
        .iter()
        .filter_map(|r| {
            if !ctx.policy.allows(&r.id) {
                Some(Blocker::registry_out_of_scope(cluster, &r.id))
            } else if r.view.is_none() {
                let found_in: Vec<&str> = r.sources.iter().map(|s| s.describe()).collect();
                Some(Blocker::registry_not_found(cluster, &r.id, &found_in.join(" and ")))
            } else {
                None
            }
        })
        .collect()
}

/// The identity is full of credentials and ours is not among them.
fn fic_limit(ctx: &Ctx<'_>) -> Option<Blocker> {
    let id = ctx.identity.resource_id.as_ref()?;
    let issuer = ctx.cluster.oidc_issuer_url.as_deref()?;
    let fics = &ctx.obs.federated_credentials;
    let present = fics.iter().any(|f| f.trusts(issuer, FIC_SUBJECT));
    (ctx.identity.exists && !present && fics.len() >= MAX_FICS_PER_IDENTITY).then(|| Blocker::federated_credential_limit(id, fics.len()))
}
