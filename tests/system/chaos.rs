//! Item 3, chaos: the replica scenario twice with the same seed — once clean, once with about 20 % of
//! ARM calls failing at random across the classifier's cases (seeded probability fault rules) plus
//! Service Bus 503s and lost locks — and the two end states must be equal.

use fleetgate::sim::faults::FaultRule;

use crate::audit::{self, successful_writes, writes_outside_scope};
use crate::common::faults::fault;
use crate::scenario::{self, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_20_clusters_ends_like_a_clean_run() {
    chaos(20, 100, 23).await;
}

/// The long figures: `cargo test --release --test system -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long suite (1,000 events over 200 clusters, twice); run with --ignored"]
async fn long_chaos_on_200_clusters_ends_like_a_clean_run() {
    chaos(200, 1000, 29).await;
}

fn rule(method: Option<&str>, path: &str, p: f64) -> FaultRule {
    FaultRule { probability: Some(p), ..fault(method, path) }
}

fn failing(method: Option<&str>, path: &str, p: f64, status: u16, code: Option<&str>) -> FaultRule {
    FaultRule { status: Some(status), code: code.map(str::to_string), ..rule(method, path, p) }
}

/// The fault rules: on every ARM call (ARM paths and Resource Graph) 429 with `Retry-After: 1`, 500,
/// 503 and connection resets, 5.5 % each (≈ 20 % together), latency spikes (1.5 s at 2 %, and 6 s —
/// beyond the request timeout — at 0.5 %); on the writes where they occur, 30 % each: 409
/// `OperationNotAllowed` and 412 (clusters), the concurrent-write 409 (FICs), `PrincipalNotFound` (role
/// assignments); on Service Bus, 503 on receive, on the poison send and on abandon, and lost locks
/// (404) on complete and renew.
pub fn chaos_rules() -> Vec<FaultRule> {
    let mut rules = Vec::new();
    for arm in ["/subscriptions/*", "/providers/*"] {
        rules.push(FaultRule { retry_after: Some(1), ..failing(None, arm, 0.055, 429, Some("TooManyRequests")) });
        rules.push(failing(None, arm, 0.055, 500, Some("InternalServerError")));
        rules.push(failing(None, arm, 0.055, 503, Some("ServiceUnavailable")));
        rules.push(FaultRule { reset: true, ..rule(None, arm, 0.055) });
        rules.push(FaultRule { latency_ms: Some(1500), ..rule(None, arm, 0.02) });
        rules.push(FaultRule { latency_ms: Some(6000), ..rule(None, arm, 0.005) });
    }
    let cluster = "/subscriptions/*/providers/Microsoft.ContainerService/managedClusters/*";
    rules.push(failing(Some("PUT"), cluster, 0.3, 409, Some("OperationNotAllowed")));
    rules.push(failing(Some("PUT"), cluster, 0.3, 412, Some("PreconditionFailed")));
    rules.push(failing(
        Some("PUT"),
        "*/federatedIdentityCredentials/*",
        0.3,
        409,
        Some("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"),
    ));
    rules.push(failing(Some("PUT"), "*/roleAssignments/*", 0.3, 400, Some("PrincipalNotFound")));
    rules.push(failing(Some("POST"), "/sb/*/messages/head", 0.1, 503, Some("ServerBusy")));
    rules.push(failing(Some("POST"), "/sb/*-poison/messages", 0.2, 503, Some("ServerBusy")));
    rules.push(failing(Some("PUT"), "/sb/*/messages/*/*", 0.1, 503, Some("ServerBusy")));
    rules.push(failing(Some("DELETE"), "/sb/*/messages/*/*", 0.05, 404, Some("MessageLockLost")));
    rules.push(failing(Some("POST"), "/sb/*/messages/*/*", 0.1, 404, Some("MessageLockLost")));
    rules
}

/// The ARM fault kinds every chaos run must inject at least once.
const ARM_KINDS: [&str; 10] = [
    "429",
    "500",
    "503",
    "reset",
    "1.5 s latency",
    "6 s latency",
    "409 OperationNotAllowed",
    "412",
    "409 FIC concurrent write",
    "400 PrincipalNotFound",
];

/// The classifier cases an ARM rule injects.
fn kinds(r: &FaultRule) -> Vec<&'static str> {
    let mut out = Vec::new();
    match (r.status, r.code.as_deref()) {
        (Some(409), Some("OperationNotAllowed")) => out.push("409 OperationNotAllowed"),
        (Some(409), _) => out.push("409 FIC concurrent write"),
        (Some(400), _) => out.push("400 PrincipalNotFound"),
        (Some(412), _) => out.push("412"),
        (Some(429), _) => out.push("429"),
        (Some(500), _) => out.push("500"),
        (Some(503), _) => out.push("503"),
        (Some(_), _) => out.push("other"),
        (None, _) => {}
    }
    if r.reset {
        out.push("reset");
    }
    match r.latency_ms {
        Some(6000) => out.push("6 s latency"),
        Some(_) => out.push("1.5 s latency"),
        None => {}
    }
    out
}

/// Firings of the ARM rules per kind.
fn fired_by_kind(firings: &[(FaultRule, u64)]) -> std::collections::BTreeMap<&'static str, u64> {
    let mut out = std::collections::BTreeMap::new();
    for (rule, n) in firings.iter().filter(|(r, _)| !r.path.starts_with("/sb/")) {
        for kind in kinds(rule) {
            *out.entry(kind).or_insert(0) += n;
        }
    }
    out
}

async fn chaos(clusters: usize, messages: usize, seed: u64) {
    let clean = scenario::run(&Setup::new(3, clusters, messages, seed)).await;
    let clean_inventory = audit::inventory(&clean.env.sim, clean.env.engine.arm(), &clean.world).await;
    let clean_end = audit::end_state(&clean.env.engine, &clean.world).await;
    assert!(clean_end.wrong.is_empty(), "{:#?}", clean_end.wrong);

    let mut setup = Setup::new(3, clusters, messages, seed);
    setup.faults = chaos_rules();
    setup.env.push(("FLEETGATE__AZURE__REQUEST_TIMEOUT", "5s".into()));
    // Fewer attempts per call than the default 8, so some reconciles fail as a whole and their
    // messages take the abandon → redelivery path too.
    setup.env.push(("FLEETGATE__AZURE__RETRY__MAX_ATTEMPTS", "3".into()));
    setup.deadline *= 3;
    let run = scenario::run(&setup).await;
    let firings = &run.firings;
    let inventory = audit::inventory(&run.env.sim, run.env.engine.arm(), &run.world).await;
    let end = audit::end_state(&run.env.engine, &run.world).await;

    let arm_calls = run.journal.iter().filter(|e| e.is_arm()).count();
    let arm_faults: u64 =
        firings.iter().filter(|(r, _)| !r.path.starts_with("/sb/") && (r.status.is_some() || r.reset)).map(|(_, n)| n).sum();
    let sb_calls = run.journal.iter().filter(|e| e.path.starts_with("/sb/")).count();
    let sb_faults: u64 = firings.iter().filter(|(r, _)| r.path.starts_with("/sb/")).map(|(_, n)| n).sum();
    let writes = successful_writes(&run.journal, &run.test_writes);
    let rules_fired: Vec<String> = firings
        .iter()
        .map(|(r, n)| {
            let what = match (r.status, r.reset, r.latency_ms) {
                (Some(s), _, _) => format!("{s} {}", r.code.as_deref().unwrap_or("")),
                (None, true, _) => "connection reset".into(),
                (None, false, Some(ms)) => format!("+{ms} ms latency"),
                _ => "?".into(),
            };
            format!("{} {} {what}: {n}", r.method.as_deref().unwrap_or("*"), r.path)
        })
        .collect();
    let failed = format!("{} {:#?}", run.ledger.failures.values().sum::<usize>(), run.ledger.failures);
    let figures = format!(
        "chaos ({} × fleetgate run, {messages} events, {clusters} clusters, seed {seed}):\n  clean run: {:.1} s, chaos run: {:.1} s\n  ARM calls {arm_calls}, failed by a fault {arm_faults} ({:.1} %); Service Bus calls {sb_calls}, faults {sb_faults}\n  ARM faults per kind: {:?}\n  faults fired per rule:\n    {}\n  ledger: {}\n  failed deliveries (retried later): {}\n  end state: {:?}, wrong {}\n  inventory equal to the clean run: {}; duplicates {}; identities/FICs/role assignments {:?} (clean {:?})\n  successful writes {} (needed {}; amplification {:.2}), writes outside scope {}",
        setup.replicas,
        clean.elapsed.as_secs_f64(),
        run.elapsed.as_secs_f64(),
        100.0 * arm_faults as f64 / arm_calls.max(1) as f64,
        fired_by_kind(firings),
        rules_fired.join("\n    "),
        run.ledger.summary(),
        failed,
        end.by_kind,
        end.wrong.len(),
        inventory == clean_inventory,
        inventory.duplicates().len(),
        inventory.totals(),
        clean_inventory.totals(),
        writes.len(),
        run.needed.total(),
        writes.len() as f64 / run.needed.total() as f64,
        writes_outside_scope(&run.journal),
    );
    println!("{figures}");
    assert!(end.wrong.is_empty(), "{figures}\n{:#?}", end.wrong);
    assert!(inventory.duplicates().is_empty(), "{figures}\n{:#?}", inventory.duplicates());
    assert_eq!(inventory, clean_inventory, "{figures}");
    assert!(run.ledger.clean(), "{figures}\nlost {:?}\nwrong outcomes {:#?}", run.ledger.lost, run.ledger.wrong_outcome);
    let parking = crate::ledger::check_parking(&run.ledger, &run.traffic.all().collect::<Vec<_>>());
    assert!(parking.is_empty(), "{figures}\n{parking:#?}");
    assert_eq!(writes_outside_scope(&run.journal), 0);
    assert!(arm_faults as f64 >= 0.15 * arm_calls as f64, "{figures}: too few faults to call it chaos");
    let by_kind = fired_by_kind(firings);
    for kind in ARM_KINDS {
        assert!(
            by_kind.get(kind).is_some_and(|n| *n > 0),
            "{figures}: no {kind} fault fired; every case of the classifier must be exercised"
        );
    }
    for e in run.exited.iter().chain(&clean.exited) {
        assert_eq!(e.code, Some(0), "{} after SIGTERM: {}", e.name, crate::proc::tail(&e.stderr, 2000));
    }
}

/// A reconcile that keeps failing transiently is retried at a slowing pace (1 s, 2 s, 4 s, … ±20 %)
/// instead of spending `MaxDeliveryCount` at once; after the last delivery it is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_at_a_slowing_pace() {
    use std::time::{Duration, Instant};

    use fleetgate::events::{Schema, cluster_write_event};
    use fleetgate::sim::servicebus::{EVENTS_QUEUE, MAX_DELIVERY_COUNT_EXCEEDED, NewMessage, QueueSpec};

    use crate::proc::{Worker, run_env};
    use crate::world::{FULL_SUB, World};

    let world = World::generate(10, 3);
    let env = crate::common::start(&world.fleet_toml(""), &[FULL_SUB], |_| {}).await;
    env.sim.create_queue(QueueSpec::new(EVENTS_QUEUE).max_delivery_count(3)).unwrap();
    let cluster = world.cases.iter().find(|c| c.id.subscription_id() == FULL_SUB).unwrap().id.clone();
    env.sim.add_fault(FaultRule { status: Some(503), ..fault(Some("GET"), &format!("*/managedClusters/{}", cluster.name())) });
    env.sim.send(EVENTS_QUEUE, NewMessage::new(cluster_write_event(&cluster, Schema::EventGrid).to_string()).message_id("doomed")).unwrap();
    let run_env = run_env(&env.sim, &[FULL_SUB]).env("FLEETGATE__AZURE__RETRY__MAX_ATTEMPTS", "2");
    let started = Instant::now();
    let workers = [Worker::start(&run_env, "pacing")];
    crate::scenario::wait_until(
        Duration::from_secs(40),
        &workers,
        || !env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty(),
        "dead-lettered",
    )
    .await;
    let took = started.elapsed();
    let [worker] = workers;
    let exited = worker.drain().await;
    let dead = env.sim.dead_letters(EVENTS_QUEUE).unwrap().remove(0);
    println!("pacing: 3 deliveries failing with 503, dead-lettered after {:.1} s (pauses of 1 s, 2 s, 4 s ±20 %)", took.as_secs_f64());
    assert_eq!((dead.message_id.as_str(), dead.reason.as_str(), dead.delivery_count), ("doomed", MAX_DELIVERY_COUNT_EXCEEDED, 3));
    assert!(took >= Duration::from_millis(800 + 1600 + 3200), "paced, not spent at once: {took:?}");
    assert_eq!(exited.reports().len(), 3, "three deliveries, each reported failed: {}", exited.stdout);
    assert_eq!(exited.code, Some(0));
}
