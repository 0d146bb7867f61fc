//! `fleet::Backfill` against the simulator over real HTTP: a mixed fleet converges in direct mode with
//! write amplification 1.00 and no 429s; a second run writes nothing and reads nothing per cluster;
//! `--dry-run` writes nothing; subscription filtering; Resource Graph paging over 1,001 clusters.

mod backfill_support;
mod common;

use backfill_support::*;
use common::*;
use fleetgate::core::PlanStatus;
use fleetgate::fleet::{ClusterStatus, FicMode};
use fleetgate::id::ResourceId;
use fleetgate::sim::arm::generator::{GeneratorSpec, generate};
use fleetgate::sim::{Fleet, Simulator};

#[tokio::test]
async fn direct_backfill_converges_the_mixed_fleet_then_a_second_run_costs_no_per_cluster_read() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let b = backfill(&env);
    let report = run(&b, &selection(&env, &[]), &direct(), None).await;
    let s = &report.summary;
    assert_eq!((s.clusters, s.compliant, s.converged, s.blocked, s.excluded, s.failed), (7, 1, 3, 2, 1, 0), "{}", report.render_text());
    assert!(report.succeeded());
    let journal = env.sim.journal();
    let written = ok_writes(&journal);
    assert_eq!(report.planned_writes, 14, "SUB2's plan once + 5 + 4 + 4 cluster writes");
    assert_eq!(written.len() as u64, report.planned_writes, "write amplification 1.00: {written:#?}");
    assert_eq!(report.applied_writes, report.planned_writes);
    assert_eq!(written.iter().filter(|e| e.path.contains("Microsoft.Security/pricings")).count(), 1, "one plan write per subscription");
    assert_eq!(s.writes, journal.iter().filter(|e| e.is_write()).count() as u64);
    assert_eq!(s.throttled, 0);
    assert!(!touched(&journal, SUB3), "nothing of the out-of-scope subscription is read");
    assert!(report.requests_by_kind.get("PUT managedClusters").is_some_and(|n| *n == 3), "{:?}", report.requests_by_kind);
    for id in to_converge() {
        let plan = env.engine.plan(&ResourceId::parse(&id).unwrap()).await.unwrap();
        assert_eq!(plan.status, PlanStatus::Compliant, "{id}");
    }

    env.sim.clear_journal();
    let again = run(&b, &selection(&env, &[]), &direct(), None).await;
    let s = &again.summary;
    assert_eq!((s.compliant, s.converged, s.blocked, s.excluded, s.failed, s.writes), (4, 0, 2, 1, 0, 0));
    let journal = env.sim.journal();
    assert!(journal.iter().all(|e| !e.is_write()), "a converged fleet costs zero writes");
    assert_eq!(per_cluster_reads(&journal), Vec::<&fleetgate::sim::JournalEntry>::new(), "zero per-cluster reads");
    let pricing_reads = journal.iter().filter(|e| e.is_read()).count();
    assert_eq!(pricing_reads, 2, "one pricing GET per subscription in use");
    assert_eq!(s.arm_requests as usize, pricing_reads + graph_bodies(&journal).len());
}

#[tokio::test]
async fn dry_run_plans_without_writing() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let mut options = direct();
    options.dry_run = true;
    let report = run(&backfill(&env), &selection(&env, &[]), &options, None).await;
    assert_eq!(report.summary.changes_needed, Some(3));
    assert_eq!((report.summary.converged, report.summary.writes), (0, 0));
    let pending: Vec<String> =
        report.clusters.iter().filter(|c| c.status == ClusterStatus::ChangesNeeded).map(|c| c.cluster.to_string()).collect();
    assert_eq!(pending, to_converge());
    let journal = env.sim.journal();
    assert!(journal.iter().filter(|e| e.is_arm()).all(|e| e.is_read() || e.is_graph_query()), "the journal shows no write");
    assert!(per_cluster_reads(&journal).is_empty(), "a dry run plans from bulk reads only");

    options.max_clusters = Some(2);
    let first_two = run(&backfill(&env), &selection(&env, &[]), &options, None).await;
    let names: Vec<&str> = first_two.clusters.iter().map(|c| c.cluster.name()).collect();
    assert_eq!(names, ["aks-compliant", "aks-fresh"], "--max-clusters takes the first N by ID");
    assert_eq!(first_two.summary.clusters, 2);
}

#[tokio::test]
async fn a_subscription_filter_reads_only_that_subscription_s_clusters() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let report = run(&backfill(&env), &selection(&env, &[SUB2]), &direct(), None).await;
    let names: Vec<&str> = report.clusters.iter().map(|c| c.cluster.name()).collect();
    assert_eq!(names, ["aks-excluded", "aks-sub2"]);
    assert_eq!((report.summary.converged, report.summary.excluded), (1, 1));
    let journal = env.sim.journal();
    let cluster_queries: Vec<_> =
        graph_bodies(&journal).into_iter().filter(|b| b["query"].as_str().is_some_and(|q| q.contains("managedclusters"))).collect();
    assert!(!cluster_queries.is_empty());
    for q in &cluster_queries {
        assert_eq!(q["subscriptions"], serde_json::json!([SUB2]), "clusters are enumerated in the selected subscription only");
    }
    assert!(
        journal.iter().all(|e| !e.path.contains("/resourceGroups/rg-a/") && !e.path.contains("/resourceGroups/rg-b/")),
        "no SUB1 cluster read"
    );
    assert!(!touched(&journal, SUB3));
}

#[tokio::test]
async fn verify_fics_lists_credentials_of_compliant_clusters_only() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let mut options = direct();
    options.fic_mode = FicMode::Verify;
    options.dry_run = true;
    let report = run(&backfill(&env), &selection(&env, &[]), &options, None).await;
    assert_eq!(report.summary.compliant, 1);
    let journal = env.sim.journal();
    let listed: Vec<_> = per_cluster_reads(&journal);
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert!(listed[0].path.ends_with("/aks-compliant-defender-gating/federatedIdentityCredentials"));
}

#[tokio::test]
async fn resource_graph_pages_are_followed_across_a_thousand_clusters() {
    let spec = GeneratorSpec {
        count: 1001,
        subscriptions: 1,
        compliant: 1.0,
        oidc_disabled: 0.0,
        workload_identity_disabled: 0.0,
        old_kubernetes: 0.0,
        excluded: 0.0,
        failed: 0.0,
        cross_subscription_registry: 0.0,
        defender_off: 0.0,
        defender_partial: 0.0,
        ..GeneratorSpec::default()
    };
    let fleet: Fleet = generate(&spec);
    let subs: Vec<String> = fleet.subscriptions.iter().map(|s| s.id.clone()).collect();
    let sim = Simulator::start(common::fast_polls(fleet), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let sub_refs: Vec<&str> = subs.iter().map(String::as_str).collect();
    let mut settings = settings_for(&sim, &sub_refs);
    settings.backfill.concurrency = 4;
    let engine = fleetgate::reconcile::Engine::new(arm_client(&settings), std::sync::Arc::new(settings.clone())).unwrap();
    let env = TestEnv { sim, settings, engine };
    let report = run(&backfill(&env), &selection(&env, &[]), &direct(), None).await;
    assert_eq!((report.summary.clusters, report.summary.compliant, report.summary.writes), (1001, 1001, 0));
    let journal = env.sim.journal();
    assert!(per_cluster_reads(&journal).is_empty(), "1,001 compliant clusters, zero per-cluster reads");
    let cluster_pages: Vec<_> =
        graph_bodies(&journal).into_iter().filter(|b| b["query"].as_str().is_some_and(|q| q.contains("kubernetesVersion"))).collect();
    assert_eq!(cluster_pages.len(), 2, "1,001 rows at 1,000 per page");
    assert!(cluster_pages[0]["options"].get("$skipToken").is_none());
    assert!(cluster_pages[1]["options"]["$skipToken"].is_string());
}

#[tokio::test]
async fn every_arm_request_of_a_run_passes_the_budget_and_a_small_budget_paces_the_run() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |s| {
        (s.backfill.read_burst, s.backfill.read_rate) = (5, 200);
        (s.backfill.write_burst, s.backfill.write_rate) = (2, 100);
    })
    .await;
    let report = run(&backfill(&env), &selection(&env, &[]), &direct(), None).await;
    assert_eq!(report.summary.converged, 3);
    assert_eq!(report.requests_by_kind.values().sum::<u64>(), report.summary.arm_requests, "the budget saw every request");
    let sub1_reads = env.sim.journal().iter().filter(|e| e.is_read() && e.subscription.as_deref() == Some(SUB1)).count();
    let floor = (sub1_reads as f64 - 5.0) / 200.0;
    assert!(
        report.summary.duration_s >= floor,
        "{} reads in SUB1 at 5 + 200/s take at least {floor:.2}s, not {}",
        sub1_reads,
        report.summary.duration_s
    );
    assert!(report.paced_s > 0.0 && report.summary.throttled == 0, "paced {} s, throttled {}", report.paced_s, report.summary.throttled);
}

#[tokio::test]
async fn a_cluster_that_only_lacked_its_subscription_s_plan_counts_as_converged() {
    let fleet = format!(
        r#"
[[subscriptions]]
id = "{SUB2}"
defender = "partial"

[[registries]]
subscription = "{SUB2}"
resource_group = "rg-acr"
name = "acrtwo"

[[clusters]]
subscription = "{SUB2}"
resource_group = "rg-c"
name = "aks-wired"
attached_registries = ["acrtwo"]
compliant = true
"#
    );
    let env = start(&fleet, &[SUB2], |_| {}).await;
    let report = run(&backfill(&env), &selection(&env, &[]), &direct(), None).await;
    let s = &report.summary;
    assert_eq!((s.clusters, s.converged, s.compliant, s.writes), (1, 1, 0, 1), "{}", report.render_text());
    assert_eq!((report.planned_writes, report.applied_writes), (1, 1));
    assert_eq!(report.clusters[0].writes, 1);
    let written = ok_writes(&env.sim.journal()).into_iter().map(|e| e.path.clone()).collect::<Vec<_>>();
    assert_eq!(written, [format!("/subscriptions/{SUB2}/providers/Microsoft.Security/pricings/Containers")]);
}

#[tokio::test]
async fn a_cluster_graph_row_that_does_not_parse_is_reported_and_left_to_the_per_cluster_path() {
    let id = cluster_id(SUB1, "rg-odd", "aks-odd");
    let fleet = format!(
        r#"
[[subscriptions]]
id = "{SUB1}"
defender = "full"

[[clusters]]
document = {{ id = "{id}", location = "westeurope", properties = {{ kubernetesVersion = "1.32.0", identityProfile = {{ kubeletidentity = {{ resourceId = "/nope", clientId = "c", objectId = "o" }} }} }} }}
"#
    );
    let env = start(&fleet, &[SUB1], |_| {}).await;
    let mut options = direct();
    options.dry_run = true;
    let dry = run(&backfill(&env), &selection(&env, &[]), &options, None).await;
    assert_eq!(dry.clusters[0].status, ClusterStatus::ChangesNeeded);
    assert!(dry.clusters[0].detail.as_deref().unwrap().contains("unreadable in Resource Graph"), "{:?}", dry.clusters[0]);
    let report = fleetgate::fleet::FleetReport::from_bulk(
        &fleetgate::fleet::bulk_plan(
            env.engine.arm(),
            &env.settings,
            env.engine.policy(),
            &selection(&env, &[]),
            fleetgate::fleet::BulkOptions { fic_mode: FicMode::Trust, max_clusters: None, concurrency: 1 },
        )
        .await
        .unwrap(),
    );
    assert_eq!(report.totals.unreadable, 1);
    assert!(report.clusters[0].error.as_deref().unwrap().contains("kubeletidentity/resourceId"));
    let real = run(&backfill(&env), &selection(&env, &[]), &direct(), None).await;
    assert_eq!(real.summary.failed, 1, "the per-cluster path reads it from ARM and says what is wrong");
    assert!(real.clusters[0].detail.as_deref().unwrap().contains("kubeletidentity/resourceId"), "{:?}", real.clusters[0]);
    assert!(!real.succeeded());
}

#[tokio::test]
async fn an_interrupt_before_execution_starts_no_cluster_in_either_mode_and_says_so() {
    use fleetgate::fleet::{Mode, PlanFile, Progress, ProgressStyle};
    use fleetgate::worker::Shutdown;
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let (b, sel) = (backfill(&env), selection(&env, &[]));
    let stop = Shutdown::new();
    stop.request();
    let prepared = b.prepare(&sel, &direct(), PlanFile::default()).await.unwrap();
    assert_eq!(prepared.to_write(), 3);
    let mut quiet = Progress::new(ProgressStyle::Quiet);
    let report = b.execute(prepared, &direct(), None, &mut quiet, &stop, std::time::Duration::ZERO).await.unwrap();
    assert!(report.interrupted);
    assert_eq!((report.count(ClusterStatus::NotReached), report.summary.converged), (3, 0));
    assert_eq!(report.not_reached().len(), 3);
    assert!(env.sim.journal().iter().all(|e| !e.is_write()), "nothing started, nothing written");

    let queue = common::queue::sas_queue(&env);
    let enqueue = fleetgate::fleet::BackfillOptions { mode: Mode::Enqueue, ..direct() };
    let prepared = b.prepare(&sel, &enqueue, PlanFile::default()).await.unwrap();
    let report = b.execute(prepared, &enqueue, Some(&queue), &mut quiet, &stop, std::time::Duration::ZERO).await.unwrap();
    assert_eq!((report.count(ClusterStatus::NotReached), report.summary.enqueued), (3, Some(0)));
    assert_eq!(env.sim.queue_depth(fleetgate::sim::servicebus::EVENTS_QUEUE), Some(0), "no batch was sent");
}
