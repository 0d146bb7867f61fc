//! The reconcile engine against the simulator over real HTTP: exact write counts, idempotence,
//! preservation of unknown cluster fields, and convergence under every classified ARM fault.

mod common;

use common::fleet::FleetToml;
use common::*;
use fleetgate::core::{ApplyStatus, Outcome, PlanStatus};
use fleetgate::id::ResourceId;
use fleetgate::sim::faults::FaultRule;
use serde_json::{Value, json};

fn fleet() -> String {
    let acrtwo = registry_id(SUB2, "rg-acr2", "acrtwo");
    FleetToml::new()
        .subscription(SUB1, "full", &[])
        .subscription(SUB2, "off", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB2, "rg-acr2", "acrtwo")
        .cluster(SUB1, "rg-aks", "aks-fresh", &[r#"kubernetes_version = "1.32.2""#, &fleet::attached(["acrone", &acrtwo])])
        .raw(
            r#"[clusters.extra_properties.futureFeature]
knob = 7
nested = ["a", { b = true }]

[clusters.extra_properties.networkProfile]
networkPlugin = "azure"
podCidr = "10.244.0.0/16"
"#,
        )
        .build()
}

fn fresh() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-fresh")).unwrap()
}

#[tokio::test]
async fn fresh_cluster_converges_with_exact_writes_then_second_apply_writes_nothing() {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let journal = env.sim.journal();
    assert_eq!(ok_writes_to(&journal, "/userAssignedIdentities/aks-fresh-defender-gating?"), 0, "query is not part of the path");
    assert_eq!(ok_writes_to(&journal, "Microsoft.ManagedIdentity/userAssignedIdentities/aks-fresh-defender-gating"), 2, "identity + FIC");
    assert_eq!(ok_writes_to(&journal, "/federatedIdentityCredentials/"), 1);
    assert_eq!(ok_writes_to(&journal, "Microsoft.Authorization/roleAssignments/"), 2);
    assert_eq!(ok_writes_to(&journal, "Microsoft.ContainerService/managedClusters/aks-fresh"), 1);
    assert_eq!(ok_writes_to(&journal, "Microsoft.Security/pricings/Containers"), 1, "only SUB2's plan was off");
    assert_eq!(writes(&journal).len(), 6, "no other and no failed writes: {:#?}", writes(&journal));

    env.sim.clear_journal();
    let again = env.engine.apply(&fresh()).await;
    assert_eq!(again.report.status, ApplyStatus::Converged);
    assert!(again.report.actions.is_empty());
    assert_eq!(writes(&env.sim.journal()).len(), 0, "a compliant cluster costs zero writes");
}

#[tokio::test]
async fn gating_entries_name_both_registries_and_the_identity() {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    env.engine.apply(&fresh()).await;
    let doc = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).expect("cluster");
    let gating = &doc["properties"]["securityProfile"]["defender"]["securityGating"];
    assert_eq!(gating["enabled"], json!(true));
    let mut registries: Vec<&str> =
        gating["identities"].as_array().unwrap().iter().map(|e| e["azureContainerRegistry"].as_str().unwrap()).collect();
    registries.sort();
    assert_eq!(registries, ["acrone.azurecr.io", "acrtwo.azurecr.io"]);
    let identity = &gating["identities"][0]["identity"];
    assert!(identity["resourceId"].as_str().unwrap().ends_with("/userAssignedIdentities/aks-fresh-defender-gating"));
    assert!(identity["clientId"].is_string() && identity["objectId"].is_string());
}

#[tokio::test]
async fn unknown_cluster_properties_survive_the_gating_put() {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    let before = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).expect("cluster");
    assert_eq!(before["properties"]["futureFeature"]["knob"], json!(7));
    env.engine.apply(&fresh()).await;
    let after = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).expect("cluster");
    let mut expected = before.clone();
    let gating = after["properties"]["securityProfile"]["defender"]["securityGating"].clone();
    expected["properties"]["securityProfile"]["defender"]["securityGating"] = gating;
    if let Some(etag) = after.get("eTag") {
        expected["eTag"] = etag.clone();
    }
    expected["properties"]["provisioningState"] = after["properties"]["provisioningState"].clone();
    assert_eq!(after, expected, "only securityGating (and the read-only eTag/provisioningState) may change");
}

#[tokio::test]
async fn plan_sends_only_gets_and_lists_every_action() {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    let plan = env.engine.plan(&fresh()).await.expect("plan");
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    let kinds: Vec<&str> = plan.actions.iter().map(|a| a.kind().as_str()).collect();
    assert_eq!(
        kinds,
        [
            "enable_defender_plan",
            "create_identity",
            "create_federated_credential",
            "assign_acr_pull",
            "assign_acr_pull",
            "update_security_gating"
        ]
    );
    let journal = env.sim.journal();
    assert!(!journal.is_empty());
    assert!(journal.iter().all(|e| e.method == "GET" || e.is_token_call()), "plan must only read: {journal:#?}");
}

#[tokio::test]
async fn out_of_scope_cluster_is_blocked_without_a_single_request() {
    let env = start(&fleet(), &[SUB2], |_| {}).await;
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Blocked);
    assert_eq!(applied.report.blockers[0].code.as_str(), "cluster_out_of_scope");
    assert!(env.sim.journal().iter().all(|e| !e.is_arm()), "no ARM request for an out-of-scope cluster");
}

#[tokio::test]
async fn registry_in_a_subscription_outside_scope_blocks_all_writes() {
    // Discovery only lists inside scope, so a SUB2 registry is known here through extra_registries.
    let acrtwo = registry_id(SUB2, "rg-acr2", "acrtwo");
    let env = start(&fleet(), &[SUB1], |s| s.gating.extra_registries = vec![ResourceId::parse(&acrtwo).unwrap()]).await;
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Blocked);
    assert!(applied.report.blockers.iter().any(|b| b.code.as_str() == "registry_out_of_scope"));
    let journal = env.sim.journal();
    assert_eq!(writes(&journal).len(), 0);
    assert!(
        journal.iter().filter_map(|e| e.subscription.as_deref()).all(|s| s.eq_ignore_ascii_case(SUB1)),
        "nothing read in SUB2: {:#?}",
        journal.iter().filter(|e| e.subscription.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case(SUB1))).collect::<Vec<_>>()
    );
}

/// One fault scenario: the rule is active from the start; the cluster must still converge with no
/// duplicate resources.
async fn converges_under(rule: Value) {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    let before = env.sim.with_state(|s| s.counts());
    let rule: FaultRule = serde_json::from_value(rule.clone()).expect("fault rule");
    env.sim.add_fault(rule.clone());
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "under {rule:?}: {:?} {:#?}", applied.error, applied.report);
    let after = env.sim.with_state(|s| s.counts());
    assert_eq!(after.identities - before.identities, 1, "exactly one identity under {rule:?}");
    assert_eq!(after.fics - before.fics, 1, "exactly one FIC under {rule:?}");
    assert_eq!(after.role_assignments - before.role_assignments, 2, "exactly two AcrPulls under {rule:?}");
    let plan = env.engine.plan(&fresh()).await.expect("plan");
    assert_eq!(plan.status, PlanStatus::Compliant, "under {rule:?}");
    let fired = env.sim.journal().iter().any(|e| e.status == rule.status.unwrap_or(0) || (rule.reset && e.was_reset()));
    assert!(fired, "the fault {rule:?} never fired, so this scenario proved nothing");
}

#[tokio::test]
async fn converges_under_429_with_retry_after() {
    converges_under(json!({"method": "PUT", "path": "*/userAssignedIdentities/*", "status": 429, "code": "SubscriptionRequestsThrottled", "message": "throttled", "retry_after": 1, "count": 1})).await;
}

#[tokio::test]
async fn converges_under_503() {
    converges_under(
        json!({"method": "GET", "path": "*/managedClusters/*", "status": 503, "code": "ServiceUnavailable", "message": "busy", "count": 2}),
    )
    .await;
}

#[tokio::test]
async fn converges_under_409_operation_not_allowed() {
    converges_under(json!({"method": "PUT", "path": "*/managedClusters/*", "status": 409, "code": "OperationNotAllowed", "message": "Operation is not allowed because there's an in progress update managed cluster operation", "count": 1})).await;
}

#[tokio::test]
async fn converges_under_412() {
    converges_under(json!({"method": "PUT", "path": "*/managedClusters/*", "status": 412, "code": "PreconditionFailed", "message": "etag mismatch", "count": 1})).await;
}

#[tokio::test]
async fn converges_under_principal_not_found() {
    converges_under(json!({"method": "PUT", "path": "*/roleAssignments/*", "status": 400, "code": "PrincipalNotFound", "message": "Principal does not exist in the directory", "count": 2})).await;
}

#[tokio::test]
async fn converges_under_concurrent_fic_write_409() {
    converges_under(json!({"method": "PUT", "path": "*/federatedIdentityCredentials/*", "status": 409, "code": "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity", "message": "Too many Federated Identity Credentials are written concurrently", "count": 2})).await;
}

#[tokio::test]
async fn converges_under_role_assignment_exists() {
    converges_under(json!({"method": "PUT", "path": "*/roleAssignments/*", "status": 409, "code": "RoleAssignmentExists", "message": "The role assignment already exists.", "count": 1})).await;
}

#[tokio::test]
async fn converges_under_pricing_already_exists() {
    converges_under(json!({"method": "PUT", "path": "*/pricings/Containers", "status": 409, "code": "Conflict", "message": "Security gating already exists", "count": 1})).await;
}

#[tokio::test]
async fn converges_under_connection_reset() {
    converges_under(json!({"method": "GET", "path": "*/federatedIdentityCredentials", "reset": true, "count": 1})).await;
}

#[tokio::test]
async fn already_present_outcomes_are_reported_not_failed() {
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    env.sim.add_fault(serde_json::from_value(json!({"method": "PUT", "path": "*/roleAssignments/*", "status": 409, "code": "RoleAssignmentExists", "message": "The role assignment already exists.", "count": 1})).unwrap());
    let applied = env.engine.apply(&fresh()).await;
    assert!(applied.report.actions.iter().any(|a| a.outcome == Outcome::AlreadyPresent));
    assert!(applied.report.actions.iter().all(|a| a.outcome != Outcome::Failed));
}

#[tokio::test]
async fn kubelet_strategy_puts_the_fic_on_the_kubelet_identity_and_creates_none() {
    let env = start(&fleet(), &[SUB1, SUB2], |s| s.gating.identity_strategy = fleetgate::config::IdentityStrategy::Kubelet).await;
    let before = env.sim.with_state(|s| s.counts());
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let after = env.sim.with_state(|s| s.counts());
    assert_eq!(after.identities, before.identities, "no identity is created");
    assert_eq!(after.fics - before.fics, 1);
    assert_eq!(after.role_assignments, before.role_assignments, "the kubelet already has AcrPull on both registries");
    let doc = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).unwrap();
    let kubelet = doc["properties"]["identityProfile"]["kubeletidentity"]["resourceId"].as_str().unwrap().to_string();
    let entry = &doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"][0]["identity"];
    assert_eq!(entry["resourceId"].as_str().unwrap().to_lowercase(), kubelet.to_lowercase());
    assert_eq!(ok_writes_to(&env.sim.journal(), "/userAssignedIdentities/aks-fresh-defender-gating"), 0);
}

#[tokio::test]
async fn prerequisites_are_blockers_by_default_and_an_action_when_enabled() {
    let fleet = format!(
        "{}\n[[clusters]]\nsubscription = \"{SUB1}\"\nresource_group = \"rg-aks\"\nname = \"aks-legacy\"\noidc_issuer = false\nworkload_identity = false\n",
        fleet()
    );
    let legacy = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-legacy")).unwrap();
    let env = start(&fleet, &[SUB1, SUB2], |_| {}).await;
    let applied = env.engine.apply(&legacy).await;
    assert_eq!(applied.report.status, ApplyStatus::Blocked);
    let codes: Vec<&str> = applied.report.blockers.iter().map(|b| b.code.as_str()).collect();
    assert!(codes.contains(&"oidc_issuer_disabled") && codes.contains(&"workload_identity_disabled"), "{codes:?}");
    assert_eq!(writes(&env.sim.journal()).len(), 0);

    let env = start(&fleet, &[SUB1, SUB2], |s| s.gating.enable_prerequisites = true).await;
    let applied = env.engine.apply(&legacy).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    assert_eq!(applied.report.actions[0].kind.as_str(), "enable_prerequisites");
    let doc = env.sim.with_state(|s| s.cluster_document(legacy.as_str())).unwrap();
    assert_eq!(doc["properties"]["oidcIssuerProfile"]["enabled"], json!(true));
    assert!(doc["properties"]["oidcIssuerProfile"]["issuerURL"].as_str().unwrap().starts_with("https://"));
    assert_eq!(ok_writes_to(&env.sim.journal(), "/managedClusters/aks-legacy"), 2, "prerequisites PUT, then the gating PUT");
    assert_eq!(ok_writes_to(&env.sim.journal(), "/federatedIdentityCredentials/"), 1, "FIC planned once the issuer exists");
}

#[tokio::test]
async fn foreign_gating_entries_and_allow_secret_access_are_kept() {
    let foreign = json!({"enabled": false, "allowSecretAccess": true, "identities": [{"azureContainerRegistry": "elsewhere.azurecr.io",
        "identity": {"resourceId": format!("/subscriptions/{SUB1}/resourceGroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/theirs"), "clientId": "c", "objectId": "o"}}]});
    let fleet = fleet().replace(
        "[clusters.extra_properties.futureFeature]",
        &format!("security_gating = {}\n\n[clusters.extra_properties.futureFeature]", toml_inline(&foreign)),
    );
    let env = start(&fleet, &[SUB1, SUB2], |_| {}).await;
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let doc = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).unwrap();
    let gating = &doc["properties"]["securityProfile"]["defender"]["securityGating"];
    assert_eq!(gating["allowSecretAccess"], json!(true));
    assert_eq!(gating["enabled"], json!(true));
    let entries = gating["identities"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "the foreign entry plus one per registry: {entries:#?}");
    assert_eq!(entries[0]["azureContainerRegistry"], "elsewhere.azurecr.io");
}

/// Renders a JSON value as a TOML inline value (objects, arrays, strings, bools).
fn toml_inline(v: &Value) -> String {
    match v {
        Value::Object(m) => format!("{{ {} }}", m.iter().map(|(k, v)| format!("{k} = {}", toml_inline(v))).collect::<Vec<_>>().join(", ")),
        Value::Array(a) => format!("[{}]", a.iter().map(toml_inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn a_cluster_mid_operation_is_waited_for_not_reported_blocked() {
    let fleet = fleet().replacen("[sim]\n", "[sim]\nlro_duration = \"1500ms\"\n", 1);
    let env = start(&fleet, &[SUB1, SUB2], |_| {}).await;
    let arm = arm_client(&env.settings);
    let version = &env.settings.azure.api_versions.managed_clusters;
    let current = arm.get(fresh().as_str(), version).await.unwrap().unwrap();
    let etag = current.etag.clone();
    arm.put(fresh().as_str(), version, &current.body, etag.as_deref()).await.expect("someone else's update");
    let busy = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).unwrap();
    assert_eq!(busy["properties"]["provisioningState"], "Updating", "precondition: an operation is in progress");
    env.sim.clear_journal();
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let journal = env.sim.journal();
    let first_write = journal.iter().position(|e| e.is_write()).expect("writes happened");
    let cluster_reads_before =
        journal[..first_write].iter().filter(|e| e.method == "GET" && e.path.ends_with("/managedClusters/aks-fresh")).count();
    assert!(cluster_reads_before >= 3, "observe, wait until terminal, observe again — then write (saw {cluster_reads_before} reads)");
    assert_eq!(journal.iter().filter(|e| e.status == 409).count(), 0, "no collision with the running operation");
}
