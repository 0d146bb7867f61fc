//! The cluster PUT against clusters with and without an eTag (real AKS GA clusters serve none), over
//! real HTTP: the If-Match sent, the body sent (the served document outside `securityGating`), the
//! `If-Match: *` → 412 hedge, and another writer racing fleetgate (re-plan, never a false success).

mod backfill_support;
mod common;

use backfill_support::selection;
use common::fleet::{FleetToml, attached};
use common::second_writer::SecondWriter;
use common::*;
use fleetgate::core::model::ClusterView;
use fleetgate::core::{ApplyStatus, Plan, PlanStatus};
use fleetgate::fleet::{BulkOptions, FicMode, Verdict, bulk_plan};
use fleetgate::id::ResourceId;
use fleetgate::sim::JournalEntry;
use serde_json::{Value, json};

/// SUB1 (Defender full) + SUB2 (off), a registry in each, `aks-fresh` attached to both with unknown
/// properties; `sim` lines go into `[sim]`.
fn fleet(sim: &[&str]) -> String {
    let acrtwo = registry_id(SUB2, "rg-acr2", "acrtwo");
    FleetToml::new()
        .sim(sim)
        .subscription(SUB1, "full", &[])
        .subscription(SUB2, "off", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB2, "rg-acr2", "acrtwo")
        .cluster(SUB1, "rg-aks", "aks-fresh", &[r#"kubernetes_version = "1.32.2""#, &attached(["acrone", &acrtwo])])
        .raw("[clusters.extra_properties.futureFeature]\nknob = 7\nnested = [\"a\", { b = true }]\n")
        .build()
}

fn fresh() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-fresh")).unwrap()
}

/// PUTs to the cluster: (If-Match, status, body).
fn cluster_puts(journal: &[JournalEntry]) -> Vec<(Option<String>, u16, Value)> {
    let path = fresh().as_str().to_ascii_lowercase();
    journal
        .iter()
        .filter(|e| e.method == "PUT" && e.path.to_ascii_lowercase() == path)
        .map(|e| (e.if_match.clone(), e.status, e.request_body.clone().unwrap_or(Value::Null)))
        .collect()
}

/// The document without `securityGating`.
fn outside_gating(doc: &Value) -> Value {
    let mut copy = doc.clone();
    if let Some(defender) = copy.pointer_mut("/properties/securityProfile/defender").and_then(Value::as_object_mut) {
        defender.remove("securityGating");
    }
    copy
}

/// The cluster as ARM serves it at the configured api-version.
async fn served(env: &TestEnv) -> Value {
    let version = &env.settings.azure.api_versions.managed_clusters;
    env.engine.arm().get(fresh().as_str(), version).await.unwrap().unwrap().body
}

fn gating(doc: &Value) -> &Value {
    &doc["properties"]["securityProfile"]["defender"]["securityGating"]
}

/// Plans, applies, and checks the one cluster PUT: its If-Match and its body; then a second apply
/// writes nothing. Returns the served document.
async fn converges_with_one_put(env: &TestEnv, expected_if_match: impl Fn(&Value) -> String) -> Value {
    let before = served(env).await;
    let plan = env.engine.plan(&fresh()).await.unwrap();
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
    env.sim.clear_journal();
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?} {:#?}", applied.error, applied.report);
    let puts = cluster_puts(&env.sim.journal());
    assert_eq!(puts.len(), 1, "exactly one cluster PUT: {puts:#?}");
    let (if_match, status, body) = &puts[0];
    assert_eq!((if_match.clone(), *status), (Some(expected_if_match(&before)), 200));
    assert_eq!(outside_gating(body), outside_gating(&before), "the PUT body is the served document outside securityGating");
    assert_eq!(gating(body)["enabled"], json!(true));
    assert_eq!(gating(body)["identities"].as_array().map(Vec::len), Some(2));
    env.sim.clear_journal();
    let again = env.engine.apply(&fresh()).await;
    assert_eq!(again.report.status, ApplyStatus::Converged);
    assert_eq!(writes(&env.sim.journal()).len(), 0, "a second apply sends no write");
    before
}

#[tokio::test]
async fn without_an_etag_the_cluster_is_put_once_with_if_match_star() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let before = converges_with_one_put(&env, |_| "*".to_string()).await;
    assert!(before.get("eTag").is_none(), "precondition: the cluster serves no eTag");
}

#[tokio::test]
async fn with_an_etag_the_cluster_is_put_once_with_if_match_etag() {
    let env = start(&fleet(&["cluster_etags = true"]), &[SUB1, SUB2], |_| {}).await;
    converges_with_one_put(&env, |served| served["eTag"].as_str().expect("an eTag is served").to_string()).await;
}

#[tokio::test]
async fn if_match_star_answered_412_falls_back_once_to_a_put_without_if_match() {
    let env = start(&fleet(&["cluster_etags = false", "cluster_if_match_star_412 = true"]), &[SUB1, SUB2], |_| {}).await;
    let applied = env.engine.apply(&fresh()).await;
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let journal = env.sim.journal();
    let puts = cluster_puts(&journal);
    let sent: Vec<(Option<&str>, u16)> = puts.iter().map(|(m, s, _)| (m.as_deref(), *s)).collect();
    assert_eq!(sent, [(Some("*"), 412), (None, 200)], "one unconditional PUT after the 412");
    let path = fresh().as_str().to_ascii_lowercase();
    let seqs: Vec<u64> = journal.iter().filter(|e| e.method == "PUT" && e.path.to_ascii_lowercase() == path).map(|e| e.seq).collect();
    let read_between =
        journal.iter().any(|e| e.method == "GET" && e.path.to_ascii_lowercase() == path && e.seq > seqs[0] && e.seq < seqs[1]);
    assert!(read_between, "a fresh read between the 412 and the unconditional PUT");
    assert!(env.engine.plan(&fresh()).await.unwrap().is_compliant());
}

#[tokio::test]
async fn a_write_landing_right_after_ours_is_planned_again_not_claimed() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let stale = served(&env).await;
    // Another tool read the cluster before our PUT and writes its copy (plus its own tag) right after
    // it, before our operation is followed: our securityGating is gone.
    let writer = SecondWriter::install(
        &env,
        fresh().as_str(),
        "GET",
        "/operations/",
        1,
        Box::new(move |doc| {
            *doc = stale.clone();
            doc["tags"]["team"] = json!("blue");
        }),
    );
    let applied = env.engine.apply(&fresh()).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let ours: Vec<_> = cluster_puts(&env.sim.journal()).into_iter().filter(|(m, ..)| m.as_deref() == Some("*")).collect();
    assert_eq!(ours.len(), 2, "our gating PUT, and again after the read-back showed it lost");
    let doc = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).unwrap();
    assert_eq!(doc["tags"]["team"], json!("blue"), "the other writer's change is kept");
    assert_eq!(gating(&doc)["identities"].as_array().map(Vec::len), Some(2), "and ours is back");
}

/// The bulk plan of the cluster and the cluster as Resource Graph showed it.
async fn bulk_of(env: &TestEnv) -> (Plan, ClusterView) {
    let options = BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: 2 };
    let bulk = bulk_plan(env.engine.arm(), &env.settings, env.engine.policy(), &selection(env, &[]), options).await.unwrap();
    match bulk.items.into_iter().find(|e| e.cluster == fresh()).unwrap().verdict {
        Verdict::Planned { plan, seen, .. } => (*plan, *seen),
        Verdict::Unreadable { error } => panic!("{error}"),
    }
}

#[tokio::test]
async fn the_backfill_path_reads_again_before_its_put_and_verifies_after_it() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let (plan, seen) = bulk_of(&env).await;
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    let stale = served(&env).await;
    let writer = SecondWriter::install(&env, fresh().as_str(), "GET", "/operations/", 1, Box::new(move |doc| *doc = stale.clone()));
    env.sim.clear_journal();
    let applied = env.engine.apply_planned(&plan, &seen, &[]).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.report);
    let journal = env.sim.journal();
    let ours: Vec<(Option<String>, u16)> =
        cluster_puts(&journal).into_iter().filter(|(m, ..)| m.is_some()).map(|(m, s, _)| (m, s)).collect();
    assert_eq!(ours, [(Some("*".to_string()), 200), (Some("*".to_string()), 200)], "ours, and ours again after the read-back");
    let path = fresh().as_str().to_ascii_lowercase();
    let first_put = journal.iter().find(|e| e.method == "PUT" && e.path.to_ascii_lowercase() == path).unwrap().seq;
    let last_other_write = journal.iter().filter(|e| e.is_write() && e.seq < first_put).map(|e| e.seq).max().unwrap();
    let reread =
        journal.iter().any(|e| e.method == "GET" && e.path.to_ascii_lowercase() == path && e.seq > last_other_write && e.seq < first_put);
    assert!(reread, "the cluster is read again after the other writes, right before the PUT");
    assert!(env.engine.plan(&fresh()).await.unwrap().is_compliant(), "verified, not claimed: the lost edit was written again");
}

#[tokio::test]
async fn a_foreign_change_before_our_put_is_kept_because_the_edit_goes_into_a_fresh_read() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    // While fleetgate writes the identity, credential and grants, someone adds a tag and a property.
    let writer = SecondWriter::install(
        &env,
        fresh().as_str(),
        "PUT",
        "/roleAssignments/",
        1,
        Box::new(|doc| {
            doc["tags"]["team"] = json!("blue");
            doc["properties"]["futureFeature"]["knob"] = json!(8);
        }),
    );
    let applied = env.engine.apply(&fresh()).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Converged, "{:?}", applied.error);
    let doc = env.sim.with_state(|s| s.cluster_document(fresh().as_str())).unwrap();
    assert_eq!((doc["tags"]["team"].clone(), doc["properties"]["futureFeature"]["knob"].clone()), (json!("blue"), json!(8)));
    assert_eq!(gating(&doc)["enabled"], json!(true));
}

#[tokio::test]
async fn a_change_to_what_the_plan_read_replans_before_the_put() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let writer = SecondWriter::install(
        &env,
        fresh().as_str(),
        "PUT",
        "/roleAssignments/",
        1,
        Box::new(|doc| doc["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false)),
    );
    let applied = env.engine.apply(&fresh()).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Blocked, "{:#?}", applied.report);
    assert_eq!(applied.report.blockers[0].code.as_str(), "workload_identity_disabled");
    let ours = cluster_puts(&env.sim.journal()).into_iter().filter(|(m, ..)| m.is_some()).count();
    assert_eq!(ours, 0, "no cluster PUT on a plan made from a cluster that changed since");
}
