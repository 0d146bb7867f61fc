//! Nothing fleetgate can know before writing may stop it after writing: a refused cluster gets zero
//! writes; the opt-out tag and scope are re-checked on every read that precedes a write; a kubelet
//! identity outside scope is a blocker and costs zero requests there (per cluster and in bulk).

mod backfill_support;
mod common;

use backfill_support::{selection, touched};
use common::faults::fault;
use common::fleet::{FleetToml, attached};
use common::second_writer::SecondWriter;
use common::*;
use fleetgate::config::IdentityStrategy;
use fleetgate::core::{ApplyStatus, PlanStatus};
use fleetgate::fleet::{BulkOptions, FicMode, Verdict, bulk_plan};
use fleetgate::id::ResourceId;
use fleetgate::sim::JournalEntry;
use fleetgate::sim::faults::FaultRule;
use serde_json::json;

const EXCLUDE: &str = "fleetgate.io/exclude";

/// SUB1 (full) and SUB2 (off) in scope, SUB3 outside. `aks-fresh` (SUB1) uses acrone and acrtwo;
/// `aks-foreign-kubelet` (SUB1) has its kubelet identity in SUB3; `aks-odd` has a cluster document
/// whose `securityProfile.defender` is a string. `sim` lines go into `[sim]`.
fn fleet(sim: &[&str]) -> String {
    let acrtwo = registry_id(SUB2, "rg-acr2", "acrtwo");
    let kubelet =
        format!("/subscriptions/{SUB3}/resourceGroups/rg-far/providers/Microsoft.ManagedIdentity/userAssignedIdentities/far-kubelet");
    FleetToml::new()
        .sim(sim)
        .subscription(SUB1, "full", &[])
        .subscription(SUB2, "off", &[])
        .subscription(SUB3, "full", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB2, "rg-acr2", "acrtwo")
        .cluster(SUB1, "rg-aks", "aks-fresh", &[&attached(["acrone", &acrtwo])])
        .cluster(SUB1, "rg-aks", "aks-foreign-kubelet", &[&attached(["acrone"])])
        .raw(&format!("[clusters.kubelet_identity]\nresource_id = \"{kubelet}\"\n"))
        .cluster(SUB1, "rg-aks", "aks-odd", &[&attached(["acrone", &acrtwo])])
        .raw("[clusters.extra_properties.securityProfile]\ndefender = \"enabled\"\n")
        .build()
}

fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

/// Cluster PUTs fleetgate sent (the second writer sends none with `If-Match`) that ARM accepted.
fn our_cluster_puts(journal: &[JournalEntry], name: &str) -> usize {
    let path = cluster(name).as_str().to_ascii_lowercase();
    journal.iter().filter(|e| e.method == "PUT" && e.path.to_ascii_lowercase() == path && e.if_match.is_some() && e.status < 300).count()
}

fn tag_exclude() -> common::second_writer::Change {
    Box::new(|doc| doc["tags"][EXCLUDE] = json!("true"))
}

#[tokio::test]
async fn refused_clusters_get_zero_writes() {
    for strategy in [IdentityStrategy::Dedicated, IdentityStrategy::Kubelet] {
        let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |s| s.gating.identity_strategy = strategy).await;
        let cases: &[(&str, &str)] = match strategy {
            IdentityStrategy::Dedicated => &[("aks-odd", "unsupported_cluster_document")],
            IdentityStrategy::Kubelet => &[("aks-odd", "unsupported_cluster_document"), ("aks-foreign-kubelet", "identity_out_of_scope")],
        };
        for (name, code) in cases {
            env.sim.clear_journal();
            let applied = env.engine.apply(&cluster(name)).await;
            assert_eq!(applied.report.status, ApplyStatus::Blocked, "{name}: {:#?}", applied.report);
            assert!(applied.report.blockers.iter().any(|b| b.code.as_str() == *code), "{name}: {:#?}", applied.report.blockers);
            let journal = env.sim.journal();
            assert_eq!(writes(&journal).len(), 0, "{name} ({strategy:?}): {:#?}", writes(&journal));
        }
    }
}

#[tokio::test]
async fn a_kubelet_identity_outside_scope_is_never_touched_per_cluster_or_in_bulk() {
    let env = start(&fleet(&[]), &[SUB1, SUB2], |s| s.gating.identity_strategy = IdentityStrategy::Kubelet).await;
    let applied = env.engine.apply(&cluster("aks-foreign-kubelet")).await;
    assert_eq!(applied.report.status, ApplyStatus::Blocked);
    let message = &applied.report.blockers[0].message;
    assert!(message.contains("far-kubelet") && message.contains(SUB3), "{message}");
    let options = BulkOptions { fic_mode: FicMode::Verify, max_clusters: None, concurrency: 2 };
    let bulk = bulk_plan(env.engine.arm(), &env.settings, env.engine.policy(), &selection(&env, &[]), options).await.unwrap();
    let entry = bulk.items.iter().find(|e| e.cluster == cluster("aks-foreign-kubelet")).unwrap();
    let Verdict::Planned { plan, .. } = &entry.verdict else { panic!("unreadable row") };
    assert_eq!(plan.status, PlanStatus::Blocked);
    assert_eq!(plan.blockers[0].code.as_str(), "identity_out_of_scope");
    assert!(bulk.items.iter().any(|e| e.plan().is_some_and(|p| p.status == PlanStatus::ChangesNeeded)), "the rest is planned");
    let journal = env.sim.journal();
    assert!(
        !touched(&journal, SUB3),
        "no request names SUB3: {:#?}",
        journal.iter().filter(|e| touched(&[(*e).clone()], SUB3)).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_opt_out_tag_added_after_planning_stops_the_cluster_before_its_put() {
    for etags in ["cluster_etags = true", "cluster_etags = false"] {
        let env = start(&fleet(&[etags]), &[SUB1, SUB2], |_| {}).await;
        let c = cluster("aks-fresh");
        let writer = SecondWriter::install(&env, c.as_str(), "PUT", "/roleAssignments/", 1, tag_exclude());
        let applied = env.engine.apply(&c).await;
        assert!(writer.fired());
        assert_eq!(applied.report.status, ApplyStatus::Excluded, "{etags}: {:#?}", applied.report);
        assert!(applied.report.error.is_none());
        assert!(applied.report.actions.iter().any(|a| a.kind.as_str() == "assign_acr_pull"), "what was done before stays in the report");
        assert!(applied.report.actions.iter().all(|a| a.kind.as_str() != "update_security_gating"));
        let journal = env.sim.journal();
        let path = c.as_str().to_ascii_lowercase();
        let puts = journal.iter().filter(|e| e.method == "PUT" && e.path.to_ascii_lowercase() == path && e.if_match.is_some()).count();
        assert_eq!(puts, 0, "{etags}: not even a PUT answered 412");
    }
}

#[tokio::test]
async fn an_opt_out_tag_seen_by_a_settle_wait_read_stops_the_cluster() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let c = cluster("aks-fresh");
    // The cluster PUT is answered 409 "operation in progress" once; fleetgate then waits for a terminal
    // state, reading the cluster (the 3rd read: observe, fresh read, settle wait). It is tagged by then.
    env.sim.add_fault(FaultRule {
        status: Some(409),
        code: Some("OperationNotAllowed".into()),
        message: Some("Operation is not allowed because there's an in progress update managed cluster operation".into()),
        count: Some(1),
        ..fault(Some("PUT"), c.as_str())
    });
    let writer = SecondWriter::install(&env, c.as_str(), "GET", c.as_str(), 3, tag_exclude());
    let applied = env.engine.apply(&c).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Excluded, "{:#?}", applied.report);
    let journal = env.sim.journal();
    assert_eq!(journal.iter().filter(|e| e.status == 409).count(), 1, "the fault fired");
    assert_eq!(our_cluster_puts(&journal, "aks-fresh"), 0);
    let path = c.as_str().to_ascii_lowercase();
    let reads = journal.iter().filter(|e| e.method == "GET" && e.path.to_ascii_lowercase() == path).count();
    assert_eq!(reads, 3 + 2, "it stops at the settle read (plus the second writer's GET and final read): no further observation");
}

#[tokio::test]
async fn the_backfill_path_rechecks_the_opt_out_tag_before_its_put() {
    let env = start(&fleet(&["cluster_etags = false"]), &[SUB1, SUB2], |_| {}).await;
    let c = cluster("aks-fresh");
    let options = BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: 2 };
    let bulk = bulk_plan(env.engine.arm(), &env.settings, env.engine.policy(), &selection(&env, &[]), options).await.unwrap();
    let Verdict::Planned { plan, seen, .. } = bulk.items.into_iter().find(|e| e.cluster == c).unwrap().verdict else { panic!() };
    assert_eq!(plan.status, PlanStatus::ChangesNeeded);
    let writer = SecondWriter::install(&env, c.as_str(), "PUT", "/federatedIdentityCredentials/", 1, tag_exclude());
    env.sim.clear_journal();
    let applied = env.engine.apply_planned(&plan, &seen, &[]).await;
    assert!(writer.fired());
    assert_eq!(applied.report.status, ApplyStatus::Excluded, "{:#?}", applied.report);
    assert_eq!(our_cluster_puts(&env.sim.journal(), "aks-fresh"), 0);
}
