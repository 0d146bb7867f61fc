//! Item 1, replicas: three `fleetgate run` processes on one queue, duplicates, interleaved registry
//! attachments and noise. Afterwards every convergeable cluster is compliant, nothing is duplicated,
//! every message is accounted for, and each needed write was made exactly once (amplification 1.00).

use fleetgate::sim::state::SimCounts;

use crate::audit::{self, per_kind, successful_writes, writes_outside_scope, written_twice};
use crate::scenario::{self, Run, Setup};
use crate::world::Kind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_150_events_30_clusters() {
    replicas(Setup::new(3, 30, 150, 11)).await;
}

/// The long figures: `cargo test --release --test system -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long suite (1,000 events over 200 clusters); run with --ignored"]
async fn long_three_replicas_1000_events_200_clusters() {
    replicas(Setup::new(3, 200, 1000, 7)).await;
}

async fn replicas(setup: Setup) {
    let run = scenario::run(&setup).await;
    let figures = check_run(&run).await;
    println!(
        "replicas ({} × fleetgate run, {} events, {} clusters, seed {}):\n{figures}",
        setup.replicas, setup.messages, setup.clusters, setup.seed
    );
    for e in &run.exited {
        assert_eq!(e.code, Some(0), "{} exit after SIGTERM; stderr tail: {}", e.name, crate::proc::tail(&e.stderr, 3000));
    }
}

/// The message count with its make-up by label.
fn messages(run: &Run) -> String {
    let labels: std::collections::BTreeSet<&str> = run.traffic.all().map(|m| m.label).collect();
    let parts: Vec<String> = labels.iter().map(|l| format!("{l} {}", run.traffic.count(l))).collect();
    format!("{} ({})", run.traffic.len(), parts.join(", "))
}

/// Checks and returns the figures of a fault-free run: end state, duplicates, accounting, writes.
pub async fn check_run(run: &Run) -> String {
    let end = audit::end_state(&run.env.engine, &run.world).await;
    let inventory = audit::inventory(&run.env.sim, run.env.engine.arm(), &run.world).await;
    let after: SimCounts = run.env.sim.with_state(|s| s.counts());
    let writes = successful_writes(&run.journal, &run.test_writes);
    let needed = run.needed.per_kind();
    let made = per_kind(&writes);
    let twice = written_twice(&writes);
    let outside = writes_outside_scope(&run.journal);
    let amplification = writes.len() as f64 / run.needed.total() as f64;
    let attachments = run.test_writes.len();
    let grew = (
        after.identities - run.counts_before.identities,
        after.fics - run.counts_before.fics,
        after.role_assignments - run.counts_before.role_assignments - attachments,
    );
    let kinds: Vec<String> = [Kind::Convergeable, Kind::Compliant, Kind::Attach, Kind::OidcOff, Kind::OldKubernetes, Kind::Excluded]
        .iter()
        .map(|k| format!("{k:?} {} → {:?}", run.world.of(*k).count(), end.by_kind.get(k)))
        .collect();
    let figures = format!(
        "  elapsed (workers start → all settled): {:.1} s\n  clusters: {}\n  messages: {}\n  ledger: {}\n  needed writes {} {:?}\n  successful writes {} {:?}\n  write amplification {:.2}\n  resources written twice {}\n  writes outside scope {}\n  created (sim counts): identities {}, FICs {}, role assignments {} (+{attachments} attachments by the test)\n  duplicates listed via ARM: {}\n  wrong end states: {}\n  ARM answers 429: {} of {} ARM requests\n  failed deliveries (retried): {:#?}",
        run.elapsed.as_secs_f64(),
        kinds.join("; "),
        messages(run),
        run.ledger.summary(),
        run.needed.total(),
        needed,
        writes.len(),
        made,
        amplification,
        twice.len(),
        outside,
        grew.0,
        grew.1,
        grew.2,
        inventory.duplicates().len(),
        end.wrong.len(),
        run.journal.iter().filter(|e| e.is_arm() && e.status == 429).count(),
        run.journal.iter().filter(|e| e.is_arm()).count(),
        run.ledger.failures,
    );
    assert!(end.wrong.is_empty(), "{figures}\nwrong end states: {:#?}", end.wrong);
    assert!(inventory.duplicates().is_empty(), "{figures}\n{:#?}", inventory.duplicates());
    assert!(run.ledger.clean(), "{figures}\nlost {:?}\nwrong outcomes {:#?}", run.ledger.lost, run.ledger.wrong_outcome);
    let parking = crate::ledger::check_parking(&run.ledger, &run.traffic.all().collect::<Vec<_>>());
    assert!(parking.is_empty(), "{figures}\n{parking:#?}");
    assert!(run.ledger.dead_lettered.is_empty(), "{figures}\nnothing needs the DLQ without faults: {:?}", run.ledger.dead_lettered);
    assert_eq!(outside, 0, "{figures}");
    assert_eq!((grew.0, grew.1, grew.2), (needed["identity"], needed["federated_credential"], needed["role_assignment"]), "{figures}");
    assert_eq!(made, needed, "{figures}\nresources written twice: {twice:#?}");
    assert!(twice.is_empty(), "{figures}\n{twice:#?}");
    figures
}

/// The race behind amplification > 1, without processes: two engines (as two replicas would) apply one
/// cluster at the same moment — both observe before either writes — and each resource is still
/// written once; the loser of each create gets 412 and moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_racing_on_one_cluster_write_each_resource_once() {
    use fleetgate::core::ApplyStatus;
    use fleetgate::sim::faults::FaultRule;

    use crate::world::{FULL_SUB, World};

    let world = World::generate(10, 5);
    let env = crate::common::start(&world.fleet_toml(""), &crate::world::SCOPE, |_| {}).await;
    let case = world.of(Kind::Convergeable).find(|c| c.id.subscription_id() == FULL_SUB).expect("a convergeable cluster");
    let needed = env.engine.plan(&case.id).await.unwrap().actions.len();
    // Hold both first observations, so both plans are made before either replica writes; then hold
    // the first identity create for a second, so the other engine's create (planned from the same
    // observation) surely reaches ARM first: the held one must be refused with 412, not rewrite.
    let cluster_get = crate::common::faults::fault(Some("GET"), &format!("*/managedClusters/{}", case.id.name()));
    env.sim.add_fault(FaultRule { latency_ms: Some(300), count: Some(2), ..cluster_get });
    let identity_put = crate::common::faults::fault(Some("PUT"), "*/userAssignedIdentities/*");
    env.sim.add_fault(FaultRule { latency_ms: Some(1000), count: Some(1), ..identity_put });
    let second =
        fleetgate::reconcile::Engine::new(crate::common::arm_client(&env.settings), std::sync::Arc::new(env.settings.clone())).unwrap();
    let (a, b) = tokio::join!(env.engine.apply(&case.id), second.apply(&case.id));
    assert_eq!((a.report.status, b.report.status), (ApplyStatus::Converged, ApplyStatus::Converged), "{:?} {:?}", a.report, b.report);
    let journal = env.sim.journal();
    let writes = successful_writes(&journal, &Default::default());
    let refused: Vec<String> = journal.iter().filter(|e| e.is_write() && e.status == 412).map(|e| e.path.clone()).collect();
    assert_eq!(writes.len(), needed, "each needed write once: {:?}", writes.iter().map(|w| &w.path).collect::<Vec<_>>());
    assert!(written_twice(&writes).is_empty());
    assert!(!refused.is_empty(), "the race happened: the loser's creates were refused with 412");
}
