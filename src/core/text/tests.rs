//! Snapshot tests of the plan and apply text (`tests/snapshots/`; `FLEETGATE_UPDATE_SNAPSHOTS=1`
//! rewrites them — review the diff), on a terminal (colour, 100 columns) and without one.

use std::collections::BTreeMap;

use super::*;
use crate::config::IdentityStrategy;
use crate::core::action::Action;
use crate::core::blocker::Blocker;
use crate::core::gating::GatingAddition;
use crate::core::names::{FIC_AUDIENCE, FIC_SUBJECT, KNOWN_AFTER_APPLY};
use crate::core::plan::{Plan, PlanIdentity, PlanStatus};
use crate::core::report::{AppliedAction, ApplyReport, ApplyStatus, Outcome};

const SUB1: &str = "00000000-0000-0000-0000-000000000001";
const SUB3: &str = "00000000-0000-0000-0000-000000000003";

fn id(s: &str) -> ResourceId {
    ResourceId::parse(s).unwrap()
}

fn cluster() -> ResourceId {
    id(&format!("/subscriptions/{SUB1}/resourceGroups/rg-prod-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod-weu-01"))
}

fn identity() -> ResourceId {
    id(&format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-prod-aks/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-prod-weu-01-defender-gating"
    ))
}

fn registry(sub: &str, rg: &str, name: &str) -> ResourceId {
    id(&format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}"))
}

fn addition(r: &ResourceId) -> GatingAddition {
    GatingAddition { registry: r.clone(), login_server: None, azure_container_registry: format!("{}.azurecr.io", r.name()) }
}

/// The README's fresh cluster: the plan pieces, an identity, its credential, AcrPull on two registries,
/// the gating block.
fn fresh_actions() -> Vec<Action> {
    let (weu, shared) = (registry(SUB1, "rg-registries", "acrprodweu"), registry(SUB3, "rg-platform", "acrshared"));
    let tags = BTreeMap::from([("fleetgate.io/cluster".to_string(), cluster().to_string()), ("managed-by".into(), "fleetgate".into())]);
    let acr = |r: &ResourceId| Action::AssignAcrPull {
        resource: format!("{r}/providers/Microsoft.Authorization/roleAssignments/{KNOWN_AFTER_APPLY}"),
        registry: r.clone(),
        principal_id: None,
    };
    vec![
        Action::EnableDefenderPlan {
            resource: id(&format!("/subscriptions/{SUB1}/providers/Microsoft.Security/pricings/Containers")),
            subscription: SUB1.into(),
            missing: vec!["SecurityGatingEnabled".into(), "ContainerIntegrityContribution".into()],
        },
        Action::CreateIdentity { resource: identity(), location: "westeurope".into(), tags },
        Action::CreateFederatedCredential {
            resource: id(&format!("{}/federatedIdentityCredentials/defender-gating-7c8cbb40", identity())),
            identity: identity(),
            name: "defender-gating-7c8cbb40".into(),
            issuer: "https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/c9a63722-7d61-4a02-ba35-954cc4e5f4c7/"
                .into(),
            subject: FIC_SUBJECT.into(),
            audience: FIC_AUDIENCE.into(),
        },
        acr(&weu),
        acr(&shared),
        Action::UpdateSecurityGating { resource: cluster(), enable: true, add: vec![addition(&weu), addition(&shared)] },
    ]
}

fn plan(status: PlanStatus, actions: Vec<Action>, blockers: Vec<Blocker>) -> Plan {
    let identity = PlanIdentity {
        strategy: IdentityStrategy::Dedicated,
        resource_id: Some(identity()),
        principal_id: None,
        client_id: None,
        exists: false,
    };
    Plan { cluster: cluster(), status, identity, registries: vec![], blockers, actions }
}

const TTY: TextStyle = TextStyle { color: true, width: Some(100) };

/// Compares `actual` with `tests/snapshots/<name>` (ESC shown as `␛`), or rewrites it when
/// `FLEETGATE_UPDATE_SNAPSHOTS` is set.
fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    let actual = actual.replace('\x1b', "␛");
    if std::env::var_os("FLEETGATE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (FLEETGATE_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
    assert_eq!(actual, expected, "snapshot {name} differs (FLEETGATE_UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
}

/// The text without ANSI escapes.
fn visible(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn a_fresh_cluster_plan_reads_like_terraform_without_a_terminal() {
    let text = render_plan(&plan(PlanStatus::ChangesNeeded, fresh_actions(), vec![]), &TextStyle::PLAIN);
    snapshot("plan_fresh_plain.txt", &text);
    assert!(!text.contains('\x1b'), "no colour without a terminal");
    assert!(text.contains(
        "      ~ properties.securityProfile.defender.securityGating.identities: + 2 entries (acrprodweu.azurecr.io, acrshared.azurecr.io)\n"
    ));
    assert!(text.contains("  ~ resource \"Microsoft.Security/pricings\" \"Containers\" {"), "the pricing PUT updates in place");
    assert!(!text.contains(&format!("/{KNOWN_AFTER_APPLY}")), "no placeholder inside a resource path");
    assert!(text.ends_with("Plan: 4 to add, 2 to change, 0 to destroy, 0 blocked.\n"), "{text}");
}

#[test]
fn on_a_terminal_the_plan_is_coloured_and_wrapped_to_its_width() {
    let text = render_plan(&plan(PlanStatus::ChangesNeeded, fresh_actions(), vec![]), &TTY);
    snapshot("plan_fresh_tty.txt", &text);
    assert!(text.contains("\x1b[32m+\x1b[0m") && text.contains("\x1b[33m~\x1b[0m"), "green creates, yellow updates");
    let shown = visible(&text);
    assert!(shown.lines().all(|l| l.chars().count() <= 100), "every line fits 100 columns:\n{shown}");
    let plain = render_plan(&plan(PlanStatus::ChangesNeeded, fresh_actions(), vec![]), &TextStyle::PLAIN);
    let words = |t: &str| t.split_whitespace().collect::<String>();
    assert_eq!(words(&shown), words(&plain), "wrapping only moves line breaks");
}

#[test]
fn a_blocked_plan_lists_each_blocker_with_its_fix() {
    let blockers = vec![Blocker::oidc_issuer_disabled(&cluster()), Blocker::no_kubelet_identity(&cluster())];
    let text = render_plan(&plan(PlanStatus::Blocked, vec![], blockers), &TextStyle::PLAIN);
    snapshot("plan_blocked_plain.txt", &text);
    assert!(text.ends_with("Plan: 0 to add, 0 to change, 0 to destroy, 2 blocked.\n"));
}

#[test]
fn a_compliant_cluster_says_no_changes() {
    let text = render_plan(&plan(PlanStatus::Compliant, vec![], vec![]), &TextStyle::PLAIN);
    assert_eq!(
        text,
        format!(
            "Cluster {SUB1}/rg-prod-aks/aks-prod-weu-01: compliant\n  id: {}\n\nNo changes. Cluster {SUB1}/rg-prod-aks/aks-prod-weu-01 matches the desired state.\n\nPlan: 0 to add, 0 to change, 0 to destroy, 0 blocked.\n",
            cluster()
        )
    );
    let excluded = render_plan(&plan(PlanStatus::Excluded, vec![], vec![]), &TextStyle::PLAIN);
    assert!(excluded.contains("No changes. Cluster") && excluded.contains("exclude tag"), "{excluded}");
}

#[test]
fn apply_lists_what_was_written_and_never_says_zero_applied() {
    let actions = fresh_actions();
    let outcome = |i: usize| match i {
        3 => Outcome::AlreadyPresent,
        _ => Outcome::Applied,
    };
    let done: Vec<AppliedAction> = actions.iter().enumerate().map(|(i, a)| AppliedAction::new(a, outcome(i), 1 + (i as u32 % 2))).collect();
    let report = ApplyReport { cluster: cluster(), status: ApplyStatus::Converged, actions: done, blockers: vec![], error: None };
    let text = render_apply(&report, &TextStyle::PLAIN);
    snapshot("apply_converged_plain.txt", &text);
    assert!(text.ends_with("Apply complete! Resources: 3 added, 2 changed, 0 destroyed (1 already present, 0 failed).\n"), "{text}");

    let compliant = ApplyReport::without_writes(&plan(PlanStatus::Compliant, vec![], vec![])).unwrap();
    let text = render_apply(&compliant, &TextStyle::PLAIN);
    assert!(text.contains("No changes. Cluster") && text.contains("matches the desired state; nothing was written."), "{text}");
    assert!(!text.contains("0 applied") && !text.contains("Apply complete"), "{text}");

    let failed =
        ApplyReport::failed(cluster(), vec![AppliedAction::new(&actions[1], Outcome::Failed, 8)], "PUT failed: 403; grant X".into());
    let text = render_apply(&failed, &TextStyle::PLAIN);
    assert!(text.contains("  x resource \"Microsoft.ManagedIdentity/userAssignedIdentities\" \"aks-prod-weu-01-defender-gating\": failed (create_identity, 8 attempts)"), "{text}");
    assert!(
        text.contains("Error: PUT failed: 403; grant X")
            && text.ends_with("Apply failed. Resources: 0 added, 0 changed, 0 destroyed (0 already present, 1 failed).\n"),
        "{text}"
    );
}

#[test]
fn short_ids_keep_subscription_group_and_name() {
    assert_eq!(short_id(&cluster()), format!("{SUB1}/rg-prod-aks/aks-prod-weu-01"));
    assert_eq!(
        short_id(&id(&format!("/subscriptions/{SUB1}/providers/Microsoft.Security/pricings/Containers"))),
        format!("{SUB1}/Containers")
    );
}
