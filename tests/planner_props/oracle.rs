//! An end-state oracle written independently of the planner's own matching code: when the planner says
//! `compliant`, the world really holds what gated deployment needs.

use fleetgate::config::IdentityStrategy;
use fleetgate::core::model::PricingView;
use fleetgate::core::names::{ACR_PULL_ROLE_GUID, FIC_SUBJECT};
use fleetgate::core::pricing::is_gating_ready;
use fleetgate::core::{Plan, Policy};
use fleetgate::id::ResourceId;
use serde_json::Value;

use super::edits::entries;
use super::world::World;

fn eq_ci(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

/// True when `value` names `registry` by name, login server or ARM ID.
fn names(value: &str, registry: &ResourceId) -> bool {
    let login = format!("{}.azurecr.io", registry.name());
    value.eq_ignore_ascii_case(registry.name())
        || value.eq_ignore_ascii_case(&login)
        || ResourceId::parse(value).is_ok_and(|v| &v == registry)
}

/// True when the entry's identity fields that are present all name the gating identity (at least one).
fn entry_is_ours(entry: &Value, (id, client, object): (&ResourceId, &str, &str)) -> bool {
    let field = |k: &str| entry.pointer(&format!("/identity/{k}")).and_then(Value::as_str);
    let checks = [
        field("resourceId").map(|r| ResourceId::parse(r).is_ok_and(|r| &r == id)),
        field("clientId").map(|c| c.eq_ignore_ascii_case(client)),
        field("objectId").map(|o| o.eq_ignore_ascii_case(object)),
    ];
    checks.contains(&Some(true)) && !checks.contains(&Some(false))
}

/// Panics unless a `compliant` plan is backed by the world's state.
pub fn check_compliant_world(world: &World, plan: &Plan, policy: &Policy) {
    let doc = world.cluster.as_ref().expect("a compliant cluster exists");
    let who = &plan.identity;
    let (Some(id), Some(client), Some(object)) = (&who.resource_id, &who.client_id, &who.principal_id) else {
        panic!("compliant without a known gating identity: {who:?}")
    };
    assert_eq!(doc.pointer("/properties/securityProfile/defender/securityGating/enabled"), Some(&Value::Bool(true)));
    let issuer = doc.pointer("/properties/oidcIssuerProfile/issuerURL").and_then(Value::as_str).expect("an issuer URL");
    let fic_ok = world.fics.iter().any(|(owner, f)| {
        owner == id && eq_ci(f.pointer("/properties/subject").and_then(Value::as_str), FIC_SUBJECT) && f["properties"]["issuer"] == issuer
    });
    assert!(fic_ok, "no federated credential for {issuer} on {id}");
    if policy.strategy == IdentityStrategy::Dedicated {
        assert!(world.identities.iter().any(|d| ResourceId::parse(d["id"].as_str().unwrap_or_default()).is_ok_and(|d| &d == id)));
    }
    let gating = entries(doc);
    for registry in &plan.registries {
        let entry_ok = gating
            .iter()
            .any(|e| e["azureContainerRegistry"].as_str().is_some_and(|v| names(v, registry)) && entry_is_ours(e, (id, client, object)));
        assert!(entry_ok, "no gating entry for {registry} and {id}: {gating:#?}");
        let pull_ok = world.assignments.iter().any(|a| {
            let p = &a["properties"];
            eq_ci(p["principalId"].as_str(), object)
                && p["roleDefinitionId"].as_str().is_some_and(|r| r.to_ascii_lowercase().ends_with(ACR_PULL_ROLE_GUID))
                && p["scope"].as_str().and_then(|s| ResourceId::parse(s).ok()).as_ref() == Some(registry)
        });
        assert!(pull_ok, "no AcrPull for {object} on {registry}");
    }
    if policy.manage_defender_plan {
        let ids: Vec<ResourceId> = plan.registries.clone();
        for sub in policy.pricing_subscriptions(&plan.cluster, ids.iter()) {
            let doc = world.pricings.iter().find(|(s, _)| s.eq_ignore_ascii_case(&sub)).map(|(_, d)| d);
            let ready = doc.and_then(|d| PricingView::from_json(d).ok()).is_some_and(|p| is_gating_ready(&p));
            assert!(ready, "the Containers plan of {sub} is not ready");
        }
    }
}
