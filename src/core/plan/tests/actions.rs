//! Full plans per strategy, prerequisites, Defender plan, ordering, compliance.

use super::*;
use crate::core::action::Action;
use crate::core::names::{KNOWN_AFTER_APPLY, acr_pull_assignment_id, fic_name};
use crate::core::pricing::SECURITY_GATING_ENABLED;
use ActionKind::*;

#[test]
fn fresh_cluster_dedicated_plans_every_step_in_order() {
    let plan = plan(&fresh(), &policy());
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    assert_eq!(
        kinds(&plan),
        [
            EnableDefenderPlan,
            EnableDefenderPlan,
            CreateIdentity,
            CreateFederatedCredential,
            AssignAcrPull,
            AssignAcrPull,
            UpdateSecurityGating
        ]
    );
    assert_eq!(plan.identity.resource_id.as_ref(), Some(&identity_id()));
    assert_eq!(plan.identity.principal_id, None);
    assert_eq!(plan.registries, vec![acr(SUB1, "acr1"), acr(SUB2, "acr2")]);
}

#[test]
fn create_identity_fields() {
    let plan = plan(&fresh(), &policy());
    let Some(Action::CreateIdentity { resource, location, tags }) = plan.actions_of(CreateIdentity).next() else { panic!("{plan:#?}") };
    assert_eq!(resource, &identity_id());
    assert_eq!(location, "westeurope");
    assert_eq!(tags.get("managed-by").map(String::as_str), Some("fleetgate"));
    assert_eq!(tags.get("fleetgate.io/cluster").map(String::as_str), Some(cluster_id().as_str()));
}

#[test]
fn identity_resource_group_override_and_name_template() {
    let p = policy_with(|g, _| {
        g.identity_resource_group = "gating-identities".into();
        g.identity_name = "mi-{cluster}".into();
    });
    let plan = plan(&fresh(), &p);
    let expected = id(&format!(
        "/subscriptions/{SUB1}/resourceGroups/gating-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-c1"
    ));
    assert_eq!(plan.identity.resource_id.as_ref(), Some(&expected));
    let Some(Action::CreateFederatedCredential { identity, resource, .. }) = plan.actions_of(CreateFederatedCredential).next() else {
        panic!()
    };
    assert_eq!(identity, &expected);
    assert!(resource.is_within(&expected));
}

#[test]
fn federated_credential_fields() {
    let plan = plan(&fresh(), &policy());
    let Some(Action::CreateFederatedCredential { resource, identity, name, issuer, subject, audience }) =
        plan.actions_of(CreateFederatedCredential).next()
    else {
        panic!()
    };
    assert_eq!(name, &fic_name(ISSUER));
    assert_eq!(resource, &identity_id().child("federatedIdentityCredentials", name).unwrap());
    assert_eq!(identity, &identity_id());
    assert_eq!(issuer, ISSUER);
    assert_eq!(subject, "system:serviceaccount:kube-system:defender-admission-controller-serviceaccount");
    assert_eq!(audience, "api://AzureADTokenExchange");
}

#[test]
fn acr_pull_for_identity_to_be_created_is_known_after_apply() {
    let plan = plan(&fresh(), &policy());
    let pulls: Vec<_> = plan.actions_of(AssignAcrPull).collect();
    for (action, registry) in pulls.iter().zip([acr(SUB1, "acr1"), acr(SUB2, "acr2")]) {
        let Action::AssignAcrPull { resource, registry: r, principal_id } = action else { panic!() };
        assert_eq!(r, &registry);
        assert_eq!(principal_id, &None);
        assert_eq!(resource, &format!("{registry}/providers/Microsoft.Authorization/roleAssignments/{KNOWN_AFTER_APPLY}"));
    }
}

#[test]
fn security_gating_update_fields() {
    let plan = plan(&fresh(), &policy());
    let Some(Action::UpdateSecurityGating { resource, enable, add }) = plan.actions_of(UpdateSecurityGating).next() else { panic!() };
    assert_eq!(resource, &cluster_id());
    assert!(*enable);
    let values: Vec<&str> = add.iter().map(|a| a.azure_container_registry.as_str()).collect();
    assert_eq!(values, ["acr1.azurecr.io", "acr2.azurecr.io"]);
    assert_eq!(add[1].registry, acr(SUB2, "acr2"));
    assert_eq!(add[1].login_server.as_deref(), Some("acr2.azurecr.io"));
}

#[test]
fn registry_reference_name_and_resource_id() {
    let by_name = plan(&fresh(), &policy_with(|g, _| g.registry_reference = crate::config::RegistryReference::Name));
    let Some(Action::UpdateSecurityGating { add, .. }) = by_name.actions_of(UpdateSecurityGating).next() else { panic!() };
    assert_eq!(add[0].azure_container_registry, "acr1");
    let by_id = plan(&fresh(), &policy_with(|g, _| g.registry_reference = crate::config::RegistryReference::ResourceId));
    let Some(Action::UpdateSecurityGating { add, .. }) = by_id.actions_of(UpdateSecurityGating).next() else { panic!() };
    assert_eq!(add[1].azure_container_registry, acr(SUB2, "acr2").as_str());
}

#[test]
fn kubelet_strategy_uses_the_kubelet_identity() {
    let mut obs = fresh();
    // The registries were found through the kubelet's AcrPull assignments: those are the gating identity's.
    obs.identity_acr_pulls = vec![
        acr_pull(acr(SUB1, "acr1").as_str(), KUBELET_OID, &acr_pull_def(SUB1)),
        acr_pull(acr(SUB2, "acr2").as_str(), KUBELET_OID, &acr_pull_def(SUB2)),
    ];
    let extra = acr(SUB2, "extra");
    obs.add_registry(extra.clone(), RegistrySource::ExtraRegistries);
    obs.set_registry_view(registry_view(&extra));
    obs.set_pricing(SUB1, Some(ready_pricing()));
    obs.set_pricing(SUB2, Some(ready_pricing()));
    let plan = plan(&obs, &policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet));
    assert_eq!(kinds(&plan), [CreateFederatedCredential, AssignAcrPull, UpdateSecurityGating]);
    assert_eq!(plan.identity.resource_id.as_ref(), Some(&kubelet_id()));
    assert_eq!(plan.identity.principal_id.as_deref(), Some(KUBELET_OID));
    let Some(Action::CreateFederatedCredential { identity, .. }) = plan.actions_of(CreateFederatedCredential).next() else { panic!() };
    assert_eq!(identity, &kubelet_id());
    let Some(Action::AssignAcrPull { resource, registry, principal_id }) = plan.actions_of(AssignAcrPull).next() else { panic!() };
    assert_eq!(registry, &extra);
    assert_eq!(principal_id.as_deref(), Some(KUBELET_OID));
    assert_eq!(resource, &acr_pull_assignment_id(&extra, KUBELET_OID).unwrap().to_string());
    let Some(Action::UpdateSecurityGating { add, .. }) = plan.actions_of(UpdateSecurityGating).next() else { panic!() };
    assert_eq!(add.len(), 3);
}

#[test]
fn kubelet_strategy_compliant() {
    let mut obs = compliant();
    obs.identity = None;
    obs.identity_acr_pulls = vec![
        acr_pull(acr(SUB1, "acr1").as_str(), KUBELET_OID, &acr_pull_def(SUB1)),
        acr_pull(acr(SUB2, "acr2").as_str(), KUBELET_OID, &acr_pull_def(SUB2)),
    ];
    edit_cluster(&mut obs, |d| {
        d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!([
            gating_entry("acr1.azurecr.io", kubelet_id().as_str(), KUBELET_CLIENT, KUBELET_OID),
            gating_entry("acr2.azurecr.io", kubelet_id().as_str(), KUBELET_CLIENT, KUBELET_OID),
        ]);
    });
    let plan = plan(&obs, &policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet));
    assert!(plan.is_compliant(), "{plan:#?}");
}

#[test]
fn compliant_cluster_plans_zero_actions() {
    let plan = plan(&compliant(), &policy());
    assert_eq!(plan.status, PlanStatus::Compliant);
    assert!(plan.actions.is_empty() && plan.blockers.is_empty());
    assert_eq!(plan.identity.principal_id.as_deref(), Some(PRINCIPAL));
    assert!(plan.identity.gating_ref().is_some());
}

#[test]
fn enable_prerequisites_turns_blockers_into_a_first_action() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| {
        d["properties"]["oidcIssuerProfile"] = json!({"enabled": false});
        d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false);
    });
    let plan = plan(&obs, &policy_with(|g, _| g.enable_prerequisites = true));
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    // No issuer URL yet: the FIC is planned on the next pass, after the prerequisites are applied.
    assert_eq!(
        kinds(&plan),
        [EnablePrerequisites, EnableDefenderPlan, EnableDefenderPlan, CreateIdentity, AssignAcrPull, AssignAcrPull, UpdateSecurityGating]
    );
    assert_eq!(plan.actions[0], Action::EnablePrerequisites { resource: cluster_id(), oidc_issuer: true, workload_identity: true });
}

#[test]
fn enable_prerequisites_only_for_what_is_off() {
    let mut obs = compliant();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false));
    let plan = plan(&obs, &policy_with(|g, _| g.enable_prerequisites = true));
    assert_eq!(plan.actions, vec![Action::EnablePrerequisites { resource: cluster_id(), oidc_issuer: false, workload_identity: true }]);
    assert!(super::plan(&compliant(), &policy_with(|g, _| g.enable_prerequisites = true)).is_compliant());
}

#[test]
fn defender_plan_per_subscription_only_where_not_ready() {
    let mut obs = compliant();
    let mut partial = ready_pricing();
    partial.extensions.iter_mut().filter(|e| e.name == "ContainerSensor").for_each(|e| e.additional.clear());
    obs.set_pricing(SUB2, Some(partial));
    let plan = plan(&obs, &policy());
    assert_eq!(
        plan.actions,
        vec![Action::EnableDefenderPlan {
            resource: id(&format!("/subscriptions/{SUB2}/providers/Microsoft.Security/pricings/Containers")),
            subscription: SUB2.into(),
            missing: vec![SECURITY_GATING_ENABLED.into()],
        }]
    );
}

#[test]
fn defender_plan_absent_and_free_pricing() {
    let mut obs = compliant();
    obs.pricing.clear();
    obs.set_pricing(SUB2, PricingView::from_json(&json!({"properties": {"pricingTier": "Free"}})).ok());
    let plan = plan(&obs, &policy());
    let subs: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::EnableDefenderPlan { subscription, missing, .. } = a {
                assert_eq!(missing.len(), 5);
                Some(subscription.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(subs, [SUB1, SUB2], "the cluster's subscription first");
}

#[test]
fn defender_plan_once_per_subscription_and_only_when_managed() {
    let mut obs = compliant();
    let same_sub = acr(SUB1, "acr3");
    attach(&mut obs, &same_sub);
    obs.identity_acr_pulls.push(acr_pull(same_sub.as_str(), PRINCIPAL, &acr_pull_def(SUB1)));
    obs.pricing.clear();
    assert_eq!(kinds(&plan(&obs, &policy())).iter().filter(|k| **k == EnableDefenderPlan).count(), 2);
    let unmanaged = plan(&obs, &policy_with(|g, _| g.manage_defender_plan = crate::config::DefenderPlanMode::Off));
    assert!(!kinds(&unmanaged).contains(&EnableDefenderPlan));
}

#[test]
fn actions_are_always_in_kind_order() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false));
    for p in
        [policy(), policy_with(|g, _| g.enable_prerequisites = true), policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet)]
    {
        let plan = plan(&obs, &p);
        let k = kinds(&plan);
        assert!(k.windows(2).all(|w| w[0] <= w[1]), "{k:?}");
    }
}

#[test]
fn cluster_without_registries_still_enables_gating() {
    let mut obs = compliant();
    obs.registries.clear();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["defender"]["securityGating"] = json!({"enabled": false}));
    let plan = plan(&obs, &policy());
    assert_eq!(plan.actions, vec![Action::UpdateSecurityGating { resource: cluster_id(), enable: true, add: vec![] }]);
}

#[test]
fn registries_are_sorted_so_output_does_not_depend_on_list_order() {
    let mut obs = Observation::new(cluster_id(), found(cluster_doc()));
    attach(&mut obs, &acr(SUB2, "zeta"));
    attach(&mut obs, &acr(SUB1, "Alpha"));
    attach(&mut obs, &acr(SUB2, "beta"));
    let plan = plan(&obs, &policy());
    assert_eq!(plan.registries, [acr(SUB1, "Alpha"), acr(SUB2, "beta"), acr(SUB2, "zeta")]);
    let pulls: Vec<String> = plan
        .actions_of(AssignAcrPull)
        .map(|a| if let Action::AssignAcrPull { registry, .. } = a { registry.name().to_string() } else { String::new() })
        .collect();
    assert_eq!(pulls, ["Alpha", "beta", "zeta"]);
}
