//! Blockers, scope and exclusion.

use super::*;
use crate::core::testutil::SUB_OUT;
use BlockerCode::*;

#[test]
fn cluster_out_of_scope_is_blocked_without_reading() {
    let out = id(&format!("/subscriptions/{SUB_OUT}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c9"));
    let plan = plan(&Observation::new(out.clone(), ClusterLookup::OutOfScope), &policy());
    assert_blocked(&plan, &[ClusterOutOfScope]);
    assert!(plan.blockers[0].message.contains(SUB_OUT) && plan.blockers[0].message.contains("scope.subscriptions"));
    assert_eq!(plan.identity.resource_id, None);
}

#[test]
fn planner_enforces_scope_even_if_the_io_layer_read_the_cluster() {
    let p = policy_with(|_, s| s.subscriptions = vec![SUB2.into()]);
    assert_blocked(&plan(&fresh(), &p), &[ClusterOutOfScope]);
}

#[test]
fn cluster_not_found() {
    let plan = plan(&Observation::new(cluster_id(), ClusterLookup::NotFound), &policy());
    assert_blocked(&plan, &[ClusterNotFound]);
    assert!(plan.blockers[0].message.contains("az aks show -g rg1 -n c1"));
}

#[test]
fn oidc_issuer_disabled() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["oidcIssuerProfile"] = json!({"enabled": false}));
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[OidcIssuerDisabled]);
    assert!(plan.blockers[0].message.contains("az aks update -g rg1 -n c1 --enable-oidc-issuer"));
}

#[test]
fn oidc_issuer_enabled_without_url() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["oidcIssuerProfile"] = json!({"enabled": true}));
    assert_blocked(&plan(&obs, &policy()), &[OidcIssuerUrlMissing]);
}

#[test]
fn workload_identity_disabled() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"] = json!({}));
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[WorkloadIdentityDisabled]);
    assert!(plan.blockers[0].message.contains("--enable-workload-identity"));
}

#[test]
fn both_prerequisites_missing_are_both_reported() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| {
        d["properties"].as_object_mut().unwrap().remove("oidcIssuerProfile");
        d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false);
    });
    assert_blocked(&plan(&obs, &policy()), &[OidcIssuerDisabled, WorkloadIdentityDisabled]);
}

#[test]
fn no_kubelet_identity_for_both_strategies() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| {
        d["properties"].as_object_mut().unwrap().remove("identityProfile");
    });
    assert_blocked(&plan(&obs, &policy()), &[NoKubeletIdentity]);
    let kubelet = plan(&obs, &policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet));
    assert_blocked(&kubelet, &[NoKubeletIdentity]);
    assert_eq!(kubelet.identity.resource_id, None);
}

#[test]
fn kubernetes_version_below_minimum() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["currentKubernetesVersion"] = json!("1.30.9"));
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[KubernetesVersionUnsupported]);
    assert!(plan.blockers[0].message.contains("1.30.9") && plan.blockers[0].message.contains("az aks upgrade -g rg1 -n c1"));
}

#[test]
fn running_version_wins_over_requested_and_minimum_is_configurable() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["kubernetesVersion"] = json!("1.20"));
    assert_ne!(plan(&obs, &policy()).status, PlanStatus::Blocked, "currentKubernetesVersion 1.31.2 is what runs");
    assert_blocked(&plan(&obs, &policy_with(|g, _| g.min_kubernetes_version = "1.32".into())), &[KubernetesVersionUnsupported]);
    edit_cluster(&mut obs, |d| {
        let props = d["properties"].as_object_mut().unwrap();
        props.remove("currentKubernetesVersion");
        props.remove("kubernetesVersion");
    });
    let unknown = plan(&obs, &policy());
    assert_blocked(&unknown, &[KubernetesVersionUnsupported]);
    assert!(unknown.blockers[0].message.contains("reports no Kubernetes version"));
}

#[test]
fn registry_in_subscription_out_of_scope() {
    let mut obs = fresh();
    let outside = acr(SUB_OUT, "acr9");
    obs.add_registry(outside.clone(), RegistrySource::KubeletAcrPull);
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[RegistryOutOfScope]);
    assert!(plan.blockers[0].message.contains(outside.as_str()) && plan.blockers[0].message.contains("--detach-acr"));
    assert_eq!(plan.registries.len(), 3, "the registries are still listed");
}

#[test]
fn extra_registries_are_enforced_by_the_planner() {
    let outside = acr(SUB_OUT, "shared");
    let p = policy_with(|g, _| g.extra_registries = vec![outside.clone()]);
    let plan = plan(&fresh(), &p);
    assert_blocked(&plan, &[RegistryOutOfScope]);
    assert!(plan.registries.contains(&outside));
    let missing = acr(SUB2, "gone");
    let p = policy_with(|g, _| g.extra_registries = vec![missing.clone()]);
    let plan = super::plan(&fresh(), &p);
    assert_blocked(&plan, &[RegistryNotFound]);
    assert!(plan.blockers[0].message.contains("gating.extra_registries"), "{}", plan.blockers[0].message);
}

#[test]
fn registry_that_could_not_be_read() {
    let mut obs = fresh();
    obs.add_registry(acr(SUB2, "deleted"), RegistrySource::GatingEntry);
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[RegistryNotFound]);
    assert!(plan.blockers[0].message.contains("securityGating entries"));
}

#[test]
fn identity_name_conflict_with_another_cluster() {
    let mut obs = fresh();
    let mut mi = identity_view();
    let other = cluster_id().as_str().replace("rg1", "rg2");
    mi.tags.insert("Fleetgate.io/Cluster".into(), other.clone());
    mi.tags.remove("fleetgate.io/cluster");
    obs.identity = Some(mi);
    let plan = plan(&obs, &policy_with(|g, _| g.identity_resource_group = "identities".into()));
    // The observed identity is in rg1, the policy wants `identities`: not the same identity, no conflict.
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    let plan = super::plan(&obs, &policy());
    assert_blocked(&plan, &[IdentityNameConflict]);
    assert!(plan.blockers[0].message.contains(&other));
}

#[test]
fn own_or_untagged_identity_is_adopted() {
    let mut obs = fresh();
    let mut mi = identity_view();
    mi.tags.insert("fleetgate.io/cluster".into(), cluster_id().as_str().to_uppercase().replace("SUBSCRIPTIONS", "subscriptions"));
    obs.identity = Some(mi.clone());
    assert!(!kinds(&plan(&obs, &policy())).contains(&ActionKind::CreateIdentity));
    mi.tags.clear();
    obs.identity = Some(mi);
    assert_eq!(plan(&obs, &policy()).status, PlanStatus::ChangesNeeded);
}

#[test]
fn federated_credential_limit() {
    let mut obs = compliant();
    obs.federated_credentials = (0..20).map(|i| fic(&format!("f{i}"), &format!("https://other/{i}"), FIC_SUBJECT)).collect();
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[FederatedCredentialLimit]);
    assert!(plan.blockers[0].message.contains("20 federated credentials"));
    obs.federated_credentials[19] = fic("ours", ISSUER, FIC_SUBJECT);
    assert!(super::plan(&obs, &policy()).is_compliant(), "a full identity that already has ours is fine");
}

#[test]
fn all_blockers_reported_together_in_order() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| {
        d["properties"]["oidcIssuerProfile"]["enabled"] = json!(false);
        d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false);
        d["properties"].as_object_mut().unwrap().remove("identityProfile");
        d["properties"]["currentKubernetesVersion"] = json!("1.29.0");
    });
    obs.add_registry(acr(SUB_OUT, "x"), RegistrySource::ExtraRegistries);
    let plan = plan(&obs, &policy());
    assert_blocked(
        &plan,
        &[OidcIssuerDisabled, WorkloadIdentityDisabled, NoKubeletIdentity, KubernetesVersionUnsupported, RegistryOutOfScope],
    );
}

#[test]
fn excluded_by_tag_even_when_blocked() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| {
        d["tags"]["FleetGate.io/Exclude"] = json!("true");
        d["properties"]["oidcIssuerProfile"]["enabled"] = json!(false);
    });
    let plan = plan(&obs, &policy());
    assert_eq!(plan.status, PlanStatus::Excluded);
    assert!(plan.actions.is_empty() && plan.blockers.is_empty());
    assert_eq!(plan.registries.len(), 2);
}

#[test]
fn exclusion_tag_value_false_or_disabled_tag_does_not_exclude() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["tags"]["fleetgate.io/exclude"] = json!("False"));
    assert_eq!(plan(&obs, &policy()).status, PlanStatus::ChangesNeeded);
    edit_cluster(&mut obs, |d| d["tags"]["fleetgate.io/exclude"] = json!(""));
    assert_eq!(plan(&obs, &policy()).status, PlanStatus::Excluded, "an empty value still opts out");
    assert_eq!(plan(&obs, &policy_with(|_, s| s.exclude_tag = String::new())).status, PlanStatus::ChangesNeeded);
    assert_eq!(plan(&obs, &policy_with(|_, s| s.exclude_tag = "other".into())).status, PlanStatus::ChangesNeeded);
}

#[test]
fn kubelet_identity_outside_scope_blocks_with_the_identity_named() {
    let foreign = id(&format!(
        "/subscriptions/{SUB_OUT}/resourceGroups/MC_rg1_c1_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool"
    ));
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["identityProfile"]["kubeletidentity"]["resourceId"] = json!(foreign.as_str()));
    let kubelet = policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet);
    let plan = plan(&obs, &kubelet);
    assert_blocked(&plan, &[IdentityOutOfScope]);
    assert!(
        plan.blockers[0].message.contains(foreign.as_str()) && plan.blockers[0].message.contains(SUB_OUT),
        "{}",
        plan.blockers[0].message
    );
    assert!(plan.actions.is_empty(), "no federated credential is planned in the foreign subscription");
    assert_eq!(super::plan(&obs, &policy()).status, PlanStatus::ChangesNeeded, "a dedicated identity lives in the cluster's subscription");
}

#[test]
fn document_the_edit_cannot_apply_to_is_blocked_before_any_write() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["defender"] = json!("enabled"));
    let plan = plan(&obs, &policy());
    assert_blocked(&plan, &[UnsupportedClusterDocument]);
    assert!(plan.blockers[0].message.contains("`properties.securityProfile.defender` is a string"), "{}", plan.blockers[0].message);
    let mut obs = compliant();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!({"x": 1}));
    assert_blocked(&super::plan(&obs, &policy()), &[UnsupportedClusterDocument]);
}

fn extensions() -> Policy {
    policy_with(|g, _| g.manage_defender_plan = crate::config::DefenderPlanMode::Extensions)
}

#[test]
fn extensions_mode_blocks_a_free_or_absent_plan_per_subscription() {
    let mut obs = compliant();
    obs.set_pricing(SUB2, PricingView::from_json(&json!({"properties": {"pricingTier": "Free"}})).ok());
    let plan = plan(&obs, &extensions());
    assert_blocked(&plan, &[DefenderPlanOff]);
    assert!(plan.blockers[0].message.contains(SUB2) && plan.blockers[0].message.contains("az security pricing create"));
    obs.set_pricing(SUB1, None);
    assert_blocked(&self::plan(&obs, &extensions()), &[DefenderPlanOff, DefenderPlanOff]);
    let full = self::plan(&obs, &policy());
    assert!(full.actions_of(ActionKind::EnableDefenderPlan).count() == 2, "full switches both on: {full:#?}");
}

#[test]
fn extensions_mode_turns_on_the_pieces_of_a_standard_plan() {
    let mut obs = compliant();
    obs.set_pricing(SUB2, PricingView::from_json(&json!({"properties": {"pricingTier": "Standard"}})).ok());
    let plan = plan(&obs, &extensions());
    assert_eq!(plan.status, PlanStatus::ChangesNeeded, "{plan:#?}");
    let missing: Vec<&Vec<String>> =
        plan.actions.iter().filter_map(|a| if let Action::EnableDefenderPlan { missing, .. } = a { Some(missing) } else { None }).collect();
    assert_eq!(missing.len(), 1);
    assert!(!missing[0].iter().any(|m| m == crate::core::pricing::STANDARD_TIER), "never the tier: {missing:?}");
    assert_eq!(self::plan(&compliant(), &extensions()).status, PlanStatus::Compliant);
}

#[test]
fn off_mode_never_blocks_on_the_plan() {
    let mut obs = compliant();
    obs.set_pricing(SUB2, None);
    let off = policy_with(|g, _| g.manage_defender_plan = crate::config::DefenderPlanMode::Off);
    assert_eq!(plan(&obs, &off).status, PlanStatus::Compliant);
}
