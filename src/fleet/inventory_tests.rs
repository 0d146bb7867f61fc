use serde_json::{Value, json};

use super::*;
use crate::core::ActionKind;
use crate::core::blocker::BlockerCode;
use crate::core::pricing::merge_for_gating;
use crate::core::testutil::{SUB_OUT, SUB1, SUB2, policy_settings};
use crate::core::{PlanStatus, plan};

const ISSUER: &str = "https://oidc.example/tenant/issuer-1/";
const KUBELET_OID: &str = "bbbbbbbb-0000-0000-0000-000000000001";
const PRINCIPAL: &str = "aaaaaaaa-0000-0000-0000-000000000001";
const CLIENT: &str = "cccccccc-0000-0000-0000-000000000001";

fn id(s: &str) -> ResourceId {
    ResourceId::parse(s).unwrap()
}

fn cluster_id() -> ResourceId {
    id(&format!("/subscriptions/{SUB1}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1"))
}

fn identity_id() -> ResourceId {
    id(&format!("/subscriptions/{SUB1}/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-defender-gating"))
}

fn acr(sub: &str, name: &str) -> ResourceId {
    id(&format!("/subscriptions/{sub}/resourceGroups/acr-rg/providers/Microsoft.ContainerRegistry/registries/{name}"))
}

fn policy() -> Policy {
    let (gating, scope) = policy_settings();
    Policy::new(&gating, &scope).unwrap()
}

/// A healthy cluster; `entries` = its gating entries (for the dedicated identity) by login server.
fn cluster(entries: &[&str], tags: Value) -> (ClusterView, Value) {
    let kubelet =
        format!("/subscriptions/{SUB1}/resourceGroups/MC_rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool");
    let identities: Vec<Value> = entries
        .iter()
        .map(|ls| json!({"azureContainerRegistry": ls, "identity": {"resourceId": identity_id().as_str(), "clientId": CLIENT, "objectId": PRINCIPAL}}))
        .collect();
    let doc = json!({"id": cluster_id().as_str(), "location": "westeurope", "tags": tags, "properties": {
        "currentKubernetesVersion": "1.32.1", "oidcIssuerProfile": {"enabled": true, "issuerURL": ISSUER},
        "securityProfile": {"workloadIdentity": {"enabled": true}, "defender": {"securityGating": {"enabled": true, "identities": identities}}},
        "identityProfile": {"kubeletidentity": {"resourceId": kubelet, "clientId": "k-client", "objectId": KUBELET_OID}}}});
    (ClusterView::from_json(&doc).unwrap(), doc)
}

fn acr_pull(registry: &ResourceId, principal: &str) -> RoleAssignmentView {
    RoleAssignmentView::from_json(&json!({"id": format!("{registry}/providers/Microsoft.Authorization/roleAssignments/{principal}"),
        "properties": {"scope": registry.as_str(), "principalId": principal,
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"}}))
    .unwrap()
}

/// Two registries (one in SUB2) used by the kubelet, both wired for the gating identity when `wired`.
fn inventory(wired: bool) -> Inventory {
    let mut inv = Inventory::default();
    for r in [acr(SUB1, "one"), acr(SUB2, "two")] {
        inv.add_registry(RegistryView { login_server: format!("{}.azurecr.io", r.name()), id: r.clone(), location: None });
        inv.add_acr_pull(acr_pull(&r, KUBELET_OID));
        if wired {
            inv.add_acr_pull(acr_pull(&r, PRINCIPAL));
        }
    }
    if wired {
        inv.add_identity(
            IdentityView::from_json(&json!({"id": identity_id().as_str(), "location": "westeurope",
                "properties": {"principalId": PRINCIPAL, "clientId": CLIENT}}))
            .unwrap(),
        );
    }
    let ready = PricingView::from_json(&merge_for_gating(None)).unwrap();
    inv.set_pricing(SUB1, Some(ready.clone()));
    inv.set_pricing(&SUB2.to_uppercase(), Some(ready));
    inv
}

#[test]
fn a_wired_cluster_is_compliant_without_any_per_cluster_read_when_fics_are_trusted() {
    let inv = inventory(true);
    let (view, _) = cluster(&["one.azurecr.io", "two.azurecr.io"], json!({}));
    let obs = inv.observe(&view, &policy(), FicMode::Trust);
    assert_eq!(obs.registries.len(), 2, "the SUB2 registry is found through the kubelet's AcrPull");
    assert_eq!(obs.federated_credentials.len(), 1, "assumed from the gating entry");
    assert_eq!(obs.pricing.len(), 2);
    let p = plan(&obs, &policy());
    assert_eq!(p.status, PlanStatus::Compliant, "{p:#?}");
}

#[test]
fn verify_mode_or_listed_credentials_are_authoritative() {
    let mut inv = inventory(true);
    let (view, _) = cluster(&["one.azurecr.io", "two.azurecr.io"], json!({}));
    let p = plan(&inv.observe(&view, &policy(), FicMode::Verify), &policy());
    let kinds: Vec<ActionKind> = p.actions.iter().map(|a| a.kind()).collect();
    assert_eq!(kinds, [ActionKind::CreateFederatedCredential], "only the unverified credential is open");
    inv.set_fics(&identity_id(), Vec::new());
    let p = plan(&inv.observe(&view, &policy(), FicMode::Trust), &policy());
    assert_eq!(p.actions.len(), 1, "a listed (empty) set wins over trust");
    let fic = FicView { name: "x".into(), issuer: Some(ISSUER.into()), subject: Some(FIC_SUBJECT.into()), audiences: vec![] };
    inv.set_fics(&identity_id(), vec![fic]);
    assert!(plan(&inv.observe(&view, &policy(), FicMode::Verify), &policy()).is_compliant());
}

#[test]
fn no_gating_entry_means_no_trust() {
    let inv = inventory(true);
    let (view, _) = cluster(&[], json!({}));
    let obs = inv.observe(&view, &policy(), FicMode::Trust);
    assert!(obs.federated_credentials.is_empty());
    let p = plan(&obs, &policy());
    let kinds: Vec<ActionKind> = p.actions.iter().map(|a| a.kind()).collect();
    assert_eq!(kinds, [ActionKind::CreateFederatedCredential, ActionKind::UpdateSecurityGating]);
}

#[test]
fn a_fresh_cluster_plans_every_step() {
    let inv = inventory(false);
    let (view, _) = cluster(&[], json!({}));
    let p = plan(&inv.observe(&view, &policy(), FicMode::Trust), &policy());
    assert_eq!(p.status, PlanStatus::ChangesNeeded);
    assert_eq!(p.actions_of(ActionKind::CreateIdentity).count(), 1);
    assert_eq!(p.actions_of(ActionKind::AssignAcrPull).count(), 2);
}

#[test]
fn out_of_scope_registries_block_and_excluded_clusters_are_not_observed_further() {
    let mut inv = inventory(true);
    let foreign = acr(SUB_OUT, "far");
    inv.add_acr_pull(acr_pull(&foreign, KUBELET_OID));
    let (view, raw) = cluster(&["one.azurecr.io", "two.azurecr.io"], json!({}));
    let mut with_gating_ref = raw.clone();
    with_gating_ref["properties"]["securityProfile"]["defender"]["securityGating"]["identities"]
        .as_array_mut()
        .unwrap()
        .push(json!({"azureContainerRegistry": foreign.as_str(), "identity": {"resourceId": identity_id().as_str()}}));
    let view2 = ClusterView::from_json(&with_gating_ref).unwrap();
    let p = plan(&inv.observe(&view2, &policy(), FicMode::Trust), &policy());
    assert_eq!(p.status, PlanStatus::Blocked);
    assert_eq!(p.blockers[0].code, BlockerCode::RegistryOutOfScope);
    let obs = inv.observe(&view, &policy(), FicMode::Trust);
    assert_eq!(obs.registries.len(), 2, "a kubelet AcrPull outside scope is not followed");

    let (excluded, _) = cluster(&[], json!({"fleetgate.io/exclude": "true"}));
    let obs = inv.observe(&excluded, &policy(), FicMode::Trust);
    assert!(obs.registries.is_empty() && obs.identity.is_none());
    assert_eq!(plan(&obs, &policy()).status, PlanStatus::Excluded);
}

#[test]
fn registries_missing_from_the_graph_are_reported_not_found() {
    let mut inv = Inventory::default();
    inv.add_acr_pull(acr_pull(&acr(SUB1, "ghost"), KUBELET_OID));
    let (view, _) = cluster(&[], json!({}));
    let p = plan(&inv.observe(&view, &policy(), FicMode::Trust), &policy());
    assert_eq!(p.status, PlanStatus::Blocked);
    assert_eq!(p.blockers[0].code, BlockerCode::RegistryNotFound);
    assert!(!inv.has_pricing(SUB1));
}

#[test]
fn the_index_keeps_what_the_planner_reads_of_an_identity_and_each_scope_once() {
    let mut inv = inventory(false);
    let other = format!("/subscriptions/{SUB1}/resourceGroups/rg9/providers/Microsoft.ContainerService/managedClusters/c9");
    inv.add_identity(
        IdentityView::from_json(&json!({"id": identity_id().as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"),
            "location": "westeurope", "tags": {"Fleetgate.IO/Cluster": other, "team": "a"},
            "properties": {"principalId": PRINCIPAL, "clientId": CLIENT, "tenantId": "t"}}))
        .unwrap(),
    );
    let (view, _) = cluster(&[], json!({}));
    let obs = inv.observe(&view, &policy(), FicMode::Trust);
    let identity = obs.identity.as_ref().expect("found by a case-insensitive ID");
    assert_eq!(
        (identity.id.as_str(), identity.principal_id.as_str(), identity.client_id.as_str()),
        (identity_id().as_str(), PRINCIPAL, CLIENT)
    );
    assert_eq!(identity.tags.len(), 1, "only the cluster tag is kept: {:?}", identity.tags);
    let p = plan(&obs, &policy());
    assert_eq!(p.blockers[0].code, BlockerCode::IdentityNameConflict, "the tag still names the other cluster: {p:#?}");

    let before = inv.scopes.len();
    for principal in [PRINCIPAL, &PRINCIPAL.to_uppercase(), "dddddddd-0000-0000-0000-000000000001"] {
        inv.add_acr_pull(acr_pull(&acr(SUB1, "one"), principal));
    }
    assert_eq!(inv.scopes.len(), before, "a scope seen before is not stored again");
    assert_eq!(inv.acr_pulls_of(PRINCIPAL).len(), 1, "a repeated assignment counts once");
    assert_eq!(inv.acr_pulls_of(&PRINCIPAL.to_uppercase())[0].scope, Some(acr(SUB1, "one")));
}

// The planner's pure pieces (`fleet::planner`), over this file's fixtures.

#[test]
fn a_replanned_cluster_gets_its_bulk_plan_back() {
    use super::super::planner::{Replanner, plan_one};
    for (wired, mode) in [(false, FicMode::Trust), (true, FicMode::Verify)] {
        let mut inv = inventory(wired);
        let (view, _) = cluster(&[], json!({}));
        if mode == FicMode::Verify {
            inv.set_fics(&identity_id(), Vec::new());
        }
        let (bulk, _) = plan_one(&inv, &view, &policy(), mode);
        assert_eq!(bulk.status, PlanStatus::ChangesNeeded);
        let replanner = Replanner::new(inv, mode);
        assert_eq!(replanner.plan(&view, &policy()), bulk, "wired {wired}, {mode:?}");
    }
}

#[test]
fn verify_mode_holds_back_only_clusters_whose_gating_identity_exists() {
    use super::super::planner::{depends_on_fics, only_missing_fic, plan_one};
    let (view, _) = cluster(&["one.azurecr.io", "two.azurecr.io"], json!({}));
    let (wired, _) = plan_one(&inventory(true), &view, &policy(), FicMode::Verify);
    assert!(depends_on_fics(&wired));
    assert_eq!(only_missing_fic(&wired), Some(identity_id()), "its credential is listed");
    let (fresh, _) = plan_one(&inventory(false), &view, &policy(), FicMode::Verify);
    assert!(!depends_on_fics(&fresh), "an identity still to create has no credentials to list");
    assert_eq!(only_missing_fic(&fresh), None);
    let (excluded_view, _) = cluster(&[], json!({"fleetgate.io/exclude": "true"}));
    assert!(!depends_on_fics(&plan_one(&inventory(true), &excluded_view, &policy(), FicMode::Verify).0));
}
