//! The per-cluster path of a direct backfill, from the bulk plans (`Engine::apply_planned`): what it
//! reads beyond its writes, and how it hands over to the full reconcile when ARM no longer matches
//! what Resource Graph showed, or answers 412.

mod backfill_support;
mod common;

use std::collections::BTreeMap;

use backfill_support::*;
use common::faults::fault;
use common::*;
use fleetgate::arm::Call;
use fleetgate::core::model::ClusterView;
use fleetgate::core::{ApplyStatus, Outcome, Plan, PlanStatus};
use fleetgate::fleet::budget::request_kind;
use fleetgate::fleet::{BulkOptions, FicMode, Verdict, bulk_plan};
use fleetgate::id::ResourceId;
use fleetgate::sim::faults::FaultRule;
use serde_json::json;

/// The bulk plan of `cluster` and the cluster as Resource Graph showed it.
async fn bulk_of(env: &TestEnv, cluster: &ResourceId) -> (Plan, ClusterView) {
    let options = BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: 2 };
    let bulk = bulk_plan(env.engine.arm(), &env.settings, env.engine.policy(), &selection(env, &[]), options).await.unwrap();
    let entry = bulk.items.into_iter().find(|e| &e.cluster == cluster).unwrap();
    match entry.verdict {
        Verdict::Planned { plan, seen, .. } => (*plan, *seen),
        Verdict::Unreadable { error } => panic!("{error}"),
    }
}

/// `METHOD kind` → requests, for successful ARM requests of the journal.
fn kinds(env: &TestEnv) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in env.sim.journal().iter().filter(|e| e.is_arm() && !e.is_graph_query()) {
        let method = if e.is_read() { "GET" } else { "PUT" };
        *out.entry(request_kind(&Call::new(method, e.path.clone()))).or_default() += 1;
    }
    out
}

fn fresh() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-a", "aks-fresh")).unwrap()
}

#[tokio::test]
async fn a_converging_cluster_reads_only_itself_and_the_identity_it_creates() {
    // Without an eTag the cluster is read again right before its PUT; with one, the first GET's eTag
    // guards the PUT.
    for (etags, cluster_reads) in [(false, 3), (true, 2)] {
        let fleet = mixed_fleet().replacen("[sim]\n", &format!("[sim]\ncluster_etags = {etags}\n"), 1);
        let env = start(&fleet, &[SUB1, SUB2], |_| {}).await;
        let report = run(&backfill(&env), &selection(&env, &[]), &direct(), None).await;
        assert_eq!(report.summary.converged, 3);
        let journal = env.sim.journal();
        let reads_of = |path: &str| journal.iter().filter(|e| e.is_read() && e.path.eq_ignore_ascii_case(path)).count();
        for c in &to_converge() {
            assert_eq!(reads_of(c), cluster_reads, "{c} (eTags {etags}): the first GET, [the fresh read before the PUT,] the final read");
            let identity = c.replace("Microsoft.ContainerService/managedClusters/", "Microsoft.ManagedIdentity/userAssignedIdentities/")
                + "-defender-gating";
            assert_eq!(reads_of(&identity), 1, "{identity}: read once before it is created");
        }
        let k = kinds(&env);
        for kind in ["GET roleAssignments", "GET registries", "GET federatedIdentityCredentials"] {
            assert_eq!(k.get(kind), None, "no {kind}: the bulk observation has them: {k:?}");
        }
        assert_eq!(k["GET pricings"], 2 + 1, "the bulk pricing reads, and the GET before SUB2's plan write");
    }
}

#[tokio::test]
async fn a_cluster_changed_since_the_bulk_observation_is_reconciled_fully() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let cluster = fresh();
    let (plan, seen) = bulk_of(&env, &cluster).await;
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    // Someone opts the cluster out after Resource Graph was read.
    let arm = env.engine.arm();
    let version = &env.settings.azure.api_versions.managed_clusters;
    let resp = arm.get(cluster.as_str(), version).await.unwrap().unwrap();
    let mut doc = resp.body.clone();
    doc["tags"] = json!({"fleetgate.io/exclude": "true"});
    arm.wait_for_lro(&arm.put(cluster.as_str(), version, &doc, resp.etag.as_deref()).await.unwrap()).await.unwrap();
    env.sim.clear_journal();
    let applied = env.engine.apply_planned(&plan, &seen, &[]).await;
    assert_eq!(applied.report.status, ApplyStatus::Excluded, "{:?}", applied.report);
    assert!(env.sim.journal().iter().all(|e| !e.is_write()), "the stale plan wrote nothing");
}

#[tokio::test]
async fn a_412_on_the_cluster_update_hands_over_without_repeating_the_other_writes() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let cluster = fresh();
    let (plan, seen) = bulk_of(&env, &cluster).await;
    env.sim.add_fault(FaultRule {
        status: Some(412),
        code: Some("PreconditionFailed".into()),
        message: Some("The ETag does not match.".into()),
        count: Some(1),
        ..fault(Some("PUT"), cluster.as_str())
    });
    env.sim.clear_journal();
    let applied = env.engine.apply_planned(&plan, &seen, &[]).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.report);
    let applied_writes = applied.report.actions.iter().filter(|a| a.outcome == Outcome::Applied).count();
    let writes = ok_writes(&env.sim.journal()).len();
    assert_eq!((applied_writes, writes), (6, 6), "SUB2's plan, identity, credential, two grants, the gating update: each once");
    assert!(env.engine.plan(&cluster).await.unwrap().is_compliant());
}

#[tokio::test]
async fn an_identity_that_appeared_after_the_bulk_observation_is_used_not_overwritten() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let cluster = fresh();
    let (plan, seen) = bulk_of(&env, &cluster).await;
    let identity = format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-fresh-defender-gating"
    );
    let version = &env.settings.azure.api_versions.managed_identity;
    let body = json!({"location": "westeurope", "tags": {"owner": "someone-else"}});
    env.engine.arm().put(&identity, version, &body, None).await.unwrap();
    let applied = env.engine.apply_planned(&plan, &seen, &[]).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.report);
    let created = applied.report.actions.iter().find(|a| a.resource.eq_ignore_ascii_case(&identity)).unwrap();
    assert_eq!(created.outcome, Outcome::AlreadyPresent);
    let now = env.engine.arm().get(&identity, version).await.unwrap().unwrap();
    assert_eq!(now.body["tags"], json!({"owner": "someone-else"}), "its tags are kept");
    assert!(env.engine.plan(&cluster).await.unwrap().is_compliant());
}
