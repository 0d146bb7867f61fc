//! Planner tests. `fresh()` is a healthy cluster with two attached registries (one in another
//! subscription) and nothing done yet; `compliant()` is the same cluster fully wired.

mod actions;
mod blockers;
mod partial;
mod shape;

use serde_json::{Value, json};

use super::*;
use crate::config::{GatingSettings, ScopeSettings};
use crate::core::action::ActionKind;
use crate::core::blocker::BlockerCode;
use crate::core::model::{FicView, IdentityView, PricingView, RegistryView, RoleAssignmentView};
use crate::core::names::{ACR_PULL_ROLE_GUID, FIC_SUBJECT};
use crate::core::pricing::merge_for_gating;
use crate::core::testutil::{SUB1, SUB2, policy_settings};

pub(super) const ISSUER: &str = "https://oidc.prod-aks.azure.com/tenant/issuer-1/";
pub(super) const PRINCIPAL: &str = "aaaaaaaa-0000-0000-0000-000000000001";
pub(super) const CLIENT: &str = "cccccccc-0000-0000-0000-000000000001";
pub(super) const KUBELET_OID: &str = "bbbbbbbb-0000-0000-0000-000000000001";
pub(super) const KUBELET_CLIENT: &str = "dddddddd-0000-0000-0000-000000000001";

pub(super) fn cluster_id() -> ResourceId {
    id(&format!("/subscriptions/{SUB1}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"))
}

pub(super) fn identity_id() -> ResourceId {
    id(&format!("/subscriptions/{SUB1}/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-defender-gating"))
}

pub(super) fn kubelet_id() -> ResourceId {
    id(&format!(
        "/subscriptions/{SUB1}/resourceGroups/MC_rg1_c1_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool"
    ))
}

pub(super) fn acr(sub: &str, name: &str) -> ResourceId {
    id(&format!("/subscriptions/{sub}/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/{name}"))
}

pub(super) fn id(s: &str) -> ResourceId {
    ResourceId::parse(s).unwrap()
}

/// A healthy cluster document: 1.31, OIDC issuer + workload identity on, kubelet identity, no gating.
pub(super) fn cluster_doc() -> Value {
    json!({
        "id": cluster_id().as_str(), "name": "c1", "location": "westeurope", "eTag": "e1",
        "tags": {"team": "a"},
        "properties": {
            "kubernetesVersion": "1.31", "currentKubernetesVersion": "1.31.2", "provisioningState": "Succeeded",
            "oidcIssuerProfile": {"enabled": true, "issuerURL": ISSUER},
            "securityProfile": {"workloadIdentity": {"enabled": true}},
            "identityProfile": {"kubeletidentity": {"resourceId": kubelet_id().as_str(), "clientId": KUBELET_CLIENT, "objectId": KUBELET_OID}}
        }
    })
}

pub(super) fn found(doc: Value) -> ClusterLookup {
    ClusterLookup::Found { view: Box::new(ClusterView::from_json(&doc).unwrap()), raw: doc }
}

/// Edits the raw cluster document and re-parses the view.
pub(super) fn edit_cluster(obs: &mut Observation, f: impl FnOnce(&mut Value)) {
    let mut doc = obs.raw_cluster().cloned().unwrap_or_else(cluster_doc);
    f(&mut doc);
    obs.cluster = found(doc);
}

pub(super) fn registry_view(id: &ResourceId) -> RegistryView {
    RegistryView { id: id.clone(), login_server: format!("{}.azurecr.io", id.name().to_lowercase()), location: None }
}

/// Adds a registry found through the kubelet's AcrPull, with its view.
pub(super) fn attach(obs: &mut Observation, registry: &ResourceId) {
    obs.add_registry(registry.clone(), RegistrySource::KubeletAcrPull);
    obs.set_registry_view(registry_view(registry));
}

/// Fresh: nothing done; acr1 (SUB1) and acr2 (SUB2) attached; no pricing read.
pub(super) fn fresh() -> Observation {
    let mut obs = Observation::new(cluster_id(), found(cluster_doc()));
    attach(&mut obs, &acr(SUB1, "acr1"));
    attach(&mut obs, &acr(SUB2, "acr2"));
    obs
}

pub(super) fn identity_view() -> IdentityView {
    IdentityView::from_json(&json!({"id": identity_id().as_str(), "location": "westeurope",
        "tags": {"managed-by": "fleetgate", "fleetgate.io/cluster": cluster_id().as_str()},
        "properties": {"principalId": PRINCIPAL, "clientId": CLIENT, "tenantId": "t"}}))
    .unwrap()
}

pub(super) fn fic(name: &str, issuer: &str, subject: &str) -> FicView {
    FicView {
        name: name.into(),
        issuer: Some(issuer.into()),
        subject: Some(subject.into()),
        audiences: vec!["api://AzureADTokenExchange".into()],
    }
}

pub(super) fn acr_pull(scope: &str, principal: &str, role_definition_id: &str) -> RoleAssignmentView {
    RoleAssignmentView::from_json(&json!({"id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}", uuid::Uuid::new_v4()),
        "properties": {"scope": scope, "principalId": principal, "roleDefinitionId": role_definition_id, "principalType": "ServicePrincipal"}}))
    .unwrap()
}

pub(super) fn acr_pull_def(sub: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_GUID}")
}

pub(super) fn ready_pricing() -> PricingView {
    PricingView::from_json(&merge_for_gating(None)).unwrap()
}

pub(super) fn gating_entry(registry: &str, resource_id: &str, client: &str, object: &str) -> Value {
    json!({"azureContainerRegistry": registry, "identity": {"resourceId": resource_id, "clientId": client, "objectId": object}})
}

/// Fully wired with the dedicated identity.
pub(super) fn compliant() -> Observation {
    let mut obs = fresh();
    obs.identity = Some(identity_view());
    obs.federated_credentials = vec![fic("defender-gating-xyz", ISSUER, FIC_SUBJECT)];
    obs.identity_acr_pulls = vec![
        acr_pull(acr(SUB1, "acr1").as_str(), PRINCIPAL, &acr_pull_def(SUB1)),
        acr_pull(acr(SUB2, "acr2").as_str(), PRINCIPAL, &acr_pull_def(SUB2)),
    ];
    obs.set_pricing(SUB1, Some(ready_pricing()));
    obs.set_pricing(SUB2, Some(ready_pricing()));
    edit_cluster(&mut obs, |doc| {
        doc["properties"]["securityProfile"]["defender"] = json!({"securityGating": {"enabled": true, "identities": [
            gating_entry("acr1.azurecr.io", identity_id().as_str(), CLIENT, PRINCIPAL),
            gating_entry("acr2.azurecr.io", identity_id().as_str(), CLIENT, PRINCIPAL),
        ]}});
    });
    obs
}

pub(super) fn policy() -> Policy {
    policy_with(|_, _| {})
}

pub(super) fn policy_with(f: impl FnOnce(&mut GatingSettings, &mut ScopeSettings)) -> Policy {
    let (mut g, mut s) = policy_settings();
    f(&mut g, &mut s);
    Policy::new(&g, &s).unwrap()
}

pub(super) fn kinds(plan: &Plan) -> Vec<ActionKind> {
    plan.actions.iter().map(Action::kind).collect()
}

pub(super) fn codes(plan: &Plan) -> Vec<BlockerCode> {
    plan.blockers.iter().map(|b| b.code).collect()
}

/// Asserts a blocked plan with exactly these codes and no actions.
pub(super) fn assert_blocked(plan: &Plan, expected: &[BlockerCode]) {
    assert_eq!(plan.status, PlanStatus::Blocked, "{plan:#?}");
    assert_eq!(codes(plan), expected);
    assert!(plan.actions.is_empty(), "a blocked plan writes nothing");
}
