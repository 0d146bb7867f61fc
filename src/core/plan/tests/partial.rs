//! Partial states: some of the work is already done, by fleetgate or by someone else.

use super::*;
use crate::core::action::Action;
use crate::core::names::{acr_pull_assignment_id, fic_name};
use ActionKind::*;

#[test]
fn identity_exists_but_no_fic() {
    let mut obs = compliant();
    obs.federated_credentials.clear();
    let plan = plan(&obs, &policy());
    assert_eq!(kinds(&plan), [CreateFederatedCredential]);
    assert_eq!(plan.identity.principal_id.as_deref(), Some(PRINCIPAL));
}

#[test]
fn fic_under_another_name_counts() {
    let mut obs = compliant();
    obs.federated_credentials = vec![fic("made-by-hand", ISSUER, FIC_SUBJECT)];
    assert!(plan(&obs, &policy()).is_compliant());
}

#[test]
fn fic_with_other_subject_or_issuer_does_not_count() {
    let mut obs = compliant();
    let other_issuer = ISSUER.trim_end_matches('/');
    obs.federated_credentials = vec![fic("a", ISSUER, "system:serviceaccount:default:app"), fic("b", other_issuer, FIC_SUBJECT)];
    let plan = plan(&obs, &policy());
    let Some(Action::CreateFederatedCredential { name, .. }) = plan.actions.first() else { panic!("{plan:#?}") };
    assert_eq!(name, &fic_name(ISSUER));
}

#[test]
fn one_of_two_acr_pulls_present() {
    let mut obs = compliant();
    obs.identity_acr_pulls.remove(1);
    let plan = plan(&obs, &policy());
    let registry = acr(SUB2, "acr2");
    assert_eq!(
        plan.actions,
        vec![Action::AssignAcrPull {
            resource: acr_pull_assignment_id(&registry, PRINCIPAL).unwrap().to_string(),
            registry,
            principal_id: Some(PRINCIPAL.into()),
        }]
    );
}

#[test]
fn role_definition_with_or_without_subscription_prefix() {
    let bare = format!("/providers/Microsoft.Authorization/roleDefinitions/{}", ACR_PULL_ROLE_GUID.to_uppercase());
    let mut obs = compliant();
    obs.identity_acr_pulls =
        vec![acr_pull(acr(SUB1, "acr1").as_str(), PRINCIPAL, &bare), acr_pull(acr(SUB2, "acr2").as_str(), PRINCIPAL, &acr_pull_def(SUB2))];
    assert!(plan(&obs, &policy()).is_compliant());
}

#[test]
fn acr_pull_at_other_scope_principal_or_role_does_not_count() {
    let reader = "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let rg_scope = format!("/subscriptions/{SUB1}/resourceGroups/acr-rg");
    for wrong in [
        acr_pull(&rg_scope, PRINCIPAL, &acr_pull_def(SUB1)),
        acr_pull(acr(SUB1, "acr1").as_str(), KUBELET_OID, &acr_pull_def(SUB1)),
        acr_pull(acr(SUB1, "acr1").as_str(), PRINCIPAL, reader),
    ] {
        let mut obs = compliant();
        obs.identity_acr_pulls[0] = wrong;
        let plan = plan(&obs, &policy());
        assert_eq!(kinds(&plan), [AssignAcrPull]);
    }
}

#[test]
fn gating_entry_by_name_login_server_or_id_counts() {
    for value in ["ACR1", "acr1.azurecr.io", &acr(SUB1, "acr1").as_str().to_lowercase()] {
        let mut obs = compliant();
        edit_cluster(&mut obs, |d| {
            d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"][0]["azureContainerRegistry"] = json!(value);
        });
        assert!(plan(&obs, &policy()).is_compliant(), "{value}");
    }
}

#[test]
fn foreign_entries_do_not_count_and_are_not_touched() {
    let mut obs = compliant();
    let foreign = gating_entry(
        "acr2.azurecr.io",
        "/subscriptions/x/other",
        "99999999-0000-0000-0000-000000000000",
        "99999999-0000-0000-0000-000000000000",
    );
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"][1] = foreign);
    let plan = plan(&obs, &policy());
    let [Action::UpdateSecurityGating { enable: false, add, .. }] = plan.actions.as_slice() else { panic!("{plan:#?}") };
    assert_eq!(add.iter().map(|a| a.registry.clone()).collect::<Vec<_>>(), [acr(SUB2, "acr2")]);
}

#[test]
fn gating_disabled_with_all_entries_only_enables() {
    let mut obs = compliant();
    edit_cluster(&mut obs, |d| d["properties"]["securityProfile"]["defender"]["securityGating"]["enabled"] = json!(false));
    let plan = plan(&obs, &policy());
    assert_eq!(plan.actions, vec![Action::UpdateSecurityGating { resource: cluster_id(), enable: true, add: vec![] }]);
}

#[test]
fn stale_entry_for_an_identity_to_be_created_does_not_count() {
    let mut obs = compliant();
    obs.identity = None;
    obs.federated_credentials.clear();
    obs.identity_acr_pulls.clear();
    let plan = plan(&obs, &policy());
    assert_eq!(kinds(&plan), [CreateIdentity, CreateFederatedCredential, AssignAcrPull, AssignAcrPull, UpdateSecurityGating]);
    let Some(Action::UpdateSecurityGating { add, enable: false, .. }) = plan.actions.last() else { panic!() };
    assert_eq!(add.len(), 2);
}

#[test]
fn leftovers_of_a_missing_identity_are_ignored() {
    let mut obs = fresh();
    obs.federated_credentials = vec![fic("x", ISSUER, FIC_SUBJECT)];
    obs.identity_acr_pulls = vec![acr_pull(acr(SUB1, "acr1").as_str(), PRINCIPAL, &acr_pull_def(SUB1))];
    let plan = plan(&obs, &policy());
    assert_eq!(kinds(&plan).iter().filter(|k| matches!(k, CreateFederatedCredential | AssignAcrPull)).count(), 3);
}

#[test]
fn mixed_case_ids_everywhere_are_still_compliant() {
    let shout = |s: &str| s.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions");
    let mut obs = compliant();
    obs.cluster_id = id(&shout(cluster_id().as_str()));
    let mut mi = identity_view();
    mi.id = id(&shout(identity_id().as_str()));
    mi.principal_id = PRINCIPAL.to_uppercase();
    obs.identity = Some(mi);
    obs.identity_acr_pulls = vec![
        acr_pull(&shout(acr(SUB1, "acr1").as_str()), PRINCIPAL, &acr_pull_def(SUB1)),
        acr_pull(&acr(SUB2, "acr2").as_str().to_lowercase(), PRINCIPAL, &acr_pull_def(SUB2).to_uppercase()),
    ];
    edit_cluster(&mut obs, |d| {
        d["id"] = json!(shout(cluster_id().as_str()));
        let entries = &mut d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"];
        entries[0]["identity"]["resourceId"] = json!(shout(identity_id().as_str()));
        entries[1]["azureContainerRegistry"] = json!("ACR2.AZURECR.IO");
    });
    let plan = plan(&obs, &policy());
    assert!(plan.is_compliant(), "{plan:#?}");
}

#[test]
fn observed_identity_with_another_id_is_not_ours() {
    let mut obs = compliant();
    let mut mi = identity_view();
    mi.id = id(&identity_id().as_str().replace("c1-defender-gating", "someone-else"));
    obs.identity = Some(mi);
    assert_eq!(kinds(&plan(&obs, &policy()))[0], CreateIdentity);
}
