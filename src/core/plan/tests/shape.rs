//! The `plan --output json` shape.

use super::*;
use crate::core::names::{KNOWN_AFTER_APPLY, fic_name};

#[test]
fn fresh_plan_json_shape() {
    let plan = plan(&fresh(), &policy());
    let v = serde_json::to_value(&plan).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["cluster", "status", "identity", "registries", "blockers", "actions"]);
    assert_eq!(v["cluster"], cluster_id().as_str());
    assert_eq!(v["status"], "changes_needed");
    assert_eq!(v["identity"], json!({"strategy": "dedicated", "resource_id": identity_id().as_str(), "principal_id": null}));
    assert_eq!(v["registries"], json!([acr(SUB1, "acr1").as_str(), acr(SUB2, "acr2").as_str()]));
    assert_eq!(v["blockers"], json!([]));
    let actions = v["actions"].as_array().unwrap();
    for a in actions {
        assert!(a["kind"].is_string() && a["resource"].is_string(), "{a}");
    }
    let kinds: Vec<&str> = actions.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "enable_defender_plan",
            "enable_defender_plan",
            "create_identity",
            "create_federated_credential",
            "assign_acr_pull",
            "assign_acr_pull",
            "update_security_gating"
        ]
    );
    assert_eq!(actions[0]["resource"], format!("/subscriptions/{SUB1}/providers/Microsoft.Security/pricings/Containers"));
    let name = fic_name(ISSUER);
    assert_eq!(
        actions[3],
        json!({"kind": "create_federated_credential", "resource": format!("{}/federatedIdentityCredentials/{name}", identity_id()),
            "identity": identity_id().as_str(), "name": name, "issuer": ISSUER,
            "subject": "system:serviceaccount:kube-system:defender-admission-controller-serviceaccount",
            "audience": "api://AzureADTokenExchange"})
    );
    assert_eq!(actions[5]["registry"], acr(SUB2, "acr2").as_str());
    assert_eq!(
        actions[5]["resource"],
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{KNOWN_AFTER_APPLY}", acr(SUB2, "acr2"))
    );
    assert_eq!(actions[6]["add"][0]["azure_container_registry"], "acr1.azurecr.io");
}

#[test]
fn blocked_plan_json_shape_and_round_trip() {
    let mut obs = fresh();
    edit_cluster(&mut obs, |d| d["properties"]["oidcIssuerProfile"]["enabled"] = json!(false));
    let plan = plan(&obs, &policy_with(|g, _| g.identity_strategy = IdentityStrategy::Kubelet));
    let v = serde_json::to_value(&plan).unwrap();
    assert_eq!(v["status"], "blocked");
    assert_eq!(v["identity"], json!({"strategy": "kubelet", "resource_id": kubelet_id().as_str(), "principal_id": KUBELET_OID}));
    assert_eq!(v["actions"], json!([]));
    let blockers = v["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 1);
    assert_eq!(blockers[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["code", "message"]);
    assert_eq!(blockers[0]["code"], "oidc_issuer_disabled");
    let back: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(back.blockers, plan.blockers);
    assert_eq!(back.status, plan.status);
}

#[test]
fn statuses_serialize_as_documented() {
    let all = [PlanStatus::Compliant, PlanStatus::ChangesNeeded, PlanStatus::Blocked, PlanStatus::Excluded];
    assert_eq!(serde_json::to_value(all).unwrap(), json!(["compliant", "changes_needed", "blocked", "excluded"]));
    let compliant = serde_json::to_value(plan(&compliant(), &policy())).unwrap();
    assert_eq!(compliant["status"], "compliant");
    assert_eq!(compliant["identity"]["principal_id"], PRINCIPAL);
    assert_eq!(compliant["actions"], json!([]));
}

#[test]
fn fresh_plan_text_has_one_resource_per_write_and_a_summary() {
    let text = crate::core::text::render_plan(&plan(&fresh(), &policy()), &crate::core::text::TextStyle::PLAIN);
    let resources: Vec<&str> = text.lines().filter(|l| l.starts_with("  + resource ") || l.starts_with("  ~ resource ")).collect();
    assert_eq!(resources.len(), 7, "{text}");
    assert!(text.contains(&format!("      + {:<22} = \"{}\"", "id", identity_id())), "{text}");
    assert!(text.contains(&format!("      + {:<22} = \"westeurope\"", "location")), "{text}");
    assert!(text.contains("identities: + 2 entries (acr1.azurecr.io, acr2.azurecr.io)"), "{text}");
    assert_eq!(text.lines().last(), Some("Plan: 4 to add, 3 to change, 0 to destroy, 0 blocked."));
}
