//! A direct backfill with minutes-long AKS operations (simulator `update_duration`, `creating_for`,
//! `lro_outcome`), under paused tokio time (the simulator's clock is tokio's, so minutes pass at once):
//! the operation wait does not hold a `backfill.concurrency` slot, a failed operation is reported once,
//! polls are spaced and honour `Retry-After`, and a cluster still `Creating` is waited on without a slot.

mod backfill_support;
mod common;

use backfill_support::*;
use common::fleet::{attached, sub1_with_acrone};
use common::*;
use fleetgate::fleet::{ClusterStatus, RunReport};
use fleetgate::reconcile::Engine;
use fleetgate::sim::{Fleet, JournalEntry, Simulator};
use std::sync::Arc;
use tokio::time::{Duration, Instant};

/// `n` non-compliant clusters `aks-0…` in SUB1 (attached to `acrone`), each with more `lines`; cluster
/// `k` gets `extra(k)` too.
fn fleet(sim: &[&str], n: usize, extra: impl Fn(usize) -> Vec<String>) -> String {
    let acrone = attached(["acrone"]);
    (0..n)
        .fold(sub1_with_acrone().sim(sim), |f, k| {
            let more = extra(k);
            let mut lines: Vec<&str> = vec![&acrone];
            lines.extend(more.iter().map(String::as_str));
            f.cluster(SUB1, "rg-aks", &format!("aks-{k}"), &lines)
        })
        .build()
}

/// Runs a direct backfill with `backfill.concurrency = concurrency`; the report and the virtual time.
async fn backfill_with(fleet_toml: &str, concurrency: usize) -> (TestEnv, RunReport, Duration) {
    let env = env_with(fleet_toml, concurrency).await;
    let (report, took) = timed_run(&env).await;
    (env, report, took)
}

/// The simulator as AKS answers (no `Retry-After` unless the test sets one: `FleetToml::build` adds
/// `lro_retry_after_secs = 0`, which the poller would follow) and an engine.
async fn env_with(fleet_toml: &str, concurrency: usize) -> TestEnv {
    let mut fleet = Fleet::from_toml_str(fleet_toml).expect("fleet parses");
    if fleet_toml.contains("lro_retry_after_secs = 0\n") {
        fleet.sim.lro_retry_after_secs = None;
    }
    let sim = Simulator::start(fleet, "127.0.0.1:0".parse().expect("addr")).await.expect("simulator starts");
    let mut settings = settings_for(&sim, &[SUB1]);
    settings.backfill.concurrency = concurrency;
    settings.azure.operation_timeout = Duration::from_secs(900);
    let engine = Engine::new(arm_client(&settings), Arc::new(settings.clone())).expect("engine");
    TestEnv { sim, settings, engine }
}

async fn timed_run(env: &TestEnv) -> (RunReport, Duration) {
    let started = Instant::now();
    let report = run(&backfill(env), &selection(env, &[]), &direct(), None).await;
    (report, started.elapsed())
}

fn is_cluster_put(e: &JournalEntry) -> bool {
    e.is_write() && e.path.to_ascii_lowercase().contains("/managedclusters/") && !e.path.contains("/providers/Microsoft.Authorization")
}

fn is_operation_poll(e: &JournalEntry) -> bool {
    e.is_read() && e.path.to_ascii_lowercase().contains("/operations/")
}

fn status_of(report: &RunReport, name: &str) -> (ClusterStatus, Option<String>) {
    let r = report.clusters.iter().find(|r| r.cluster.name().eq_ignore_ascii_case(name)).expect("cluster in the report");
    (r.status, r.detail.clone())
}

#[tokio::test(start_paused = true)]
async fn long_operations_do_not_hold_a_slot() {
    let (env, report, took) = backfill_with(&fleet(&[r#"update_duration = "2m""#], 8, |_| Vec::new()), 2).await;
    assert_eq!(report.summary.converged, 8, "{:?}", report.clusters);
    let journal = env.sim.journal();
    let last_put = journal.iter().filter(|e| is_cluster_put(e)).map(|e| e.seq).max().expect("cluster PUTs");
    let first_poll = journal.iter().filter(|e| is_operation_poll(e)).map(|e| e.seq).min().expect("operation polls");
    assert!(last_put < first_poll, "all 8 PUTs were accepted before the first operation was even polled");
    // 4 waves of 2 would take ≥ 8 min; one 2-minute operation plus the writes (and the poll spacing).
    assert!(took < Duration::from_secs(180), "took {took:?}");
    assert!(took >= Duration::from_secs(120), "converged is reported only after the operation ended: {took:?}");
    let polls = report.requests_by_kind.get("GET operations").copied().unwrap_or(0);
    assert_eq!(polls, 8 * 9, "9 polls per 2-minute operation, each counted by the run's budget");
}

#[tokio::test(start_paused = true)]
async fn a_failed_operation_is_reported_once_and_not_retried() {
    let toml = fleet(&[r#"update_duration = "1m""#], 3, |k| if k == 1 { vec![r#"lro_outcome = "failed""#.into()] } else { Vec::new() });
    let (env, report, _) = backfill_with(&toml, 2).await;
    assert_eq!(report.summary.converged, 2, "{:?}", report.clusters);
    let (status, detail) = status_of(&report, "aks-1");
    assert_eq!(status, ClusterStatus::Failed);
    let detail = detail.expect("a failure detail");
    assert!(detail.contains("Failed"), "the operation's outcome is in the detail: {detail}");
    let journal = env.sim.journal();
    let puts = journal.iter().filter(|e| is_cluster_put(e) && e.path.ends_with("/aks-1")).count();
    assert_eq!(puts, 1, "the failed cluster PUT is not retried in this run");
}

#[tokio::test(start_paused = true)]
async fn polls_honour_retry_after() {
    // Retry-After 50 s: polls at 50, 100, 150 s (our own spacing would poll 9 times).
    let (_, report, _) = backfill_with(&fleet(&[r#"update_duration = "2m""#, "lro_retry_after_secs = 50"], 3, |_| Vec::new()), 2).await;
    assert_eq!(report.summary.converged, 3);
    assert_eq!(report.requests_by_kind.get("GET operations").copied(), Some(3 * 3));
    // Retry-After 1 s: the first polls follow it, then the spacing grows with the running time
    // (1, 2, 3, 4, 5, 6.25, 7.8, … s): 20 polls for 2 minutes instead of 120.
    let (_, report, _) = backfill_with(&fleet(&[r#"update_duration = "2m""#, "lro_retry_after_secs = 1"], 1, |_| Vec::new()), 1).await;
    assert_eq!(report.summary.converged, 1);
    let polls = report.requests_by_kind.get("GET operations").copied().unwrap_or(0);
    assert!((15..=25).contains(&polls), "{polls}");
}

#[tokio::test(start_paused = true)]
async fn a_busy_cluster_is_waited_on_without_a_slot() {
    // One slot. aks-0 is `Updating` (someone else's 2-minute update) when the run reaches it: it is
    // parked and the other three are written meanwhile. (A cluster still `Creating` is half-provisioned:
    // the bulk plan reports it blocked before any job — see the report of this change.)
    let env = env_with(&fleet(&[r#"update_duration = "2m""#], 4, |_| Vec::new()), 1).await;
    let (arm, version) = (env.engine.arm(), env.settings.azure.api_versions.managed_clusters.clone());
    let busy = cluster_id(SUB1, "rg-aks", "aks-0");
    let doc = arm.get(&busy, &version).await.expect("GET").expect("exists").body;
    let update = arm.put(&busy, &version, &doc, None).await.expect("someone else's update is accepted");
    assert_eq!(update.provisioning_state(), Some("Updating"));
    let (report, took) = timed_run(&env).await;
    assert_eq!(report.summary.converged, 4, "{:?}", report.clusters);
    let journal = env.sim.journal();
    let puts: Vec<&str> = journal.iter().filter(|e| is_cluster_put(e)).map(|e| e.path.rsplit('/').next().unwrap_or("")).collect();
    assert_eq!(puts, ["aks-0", "aks-1", "aks-2", "aks-3", "aks-0"], "the busy cluster is written last, once terminal");
    let reads_of_0 = journal.iter().filter(|e| e.is_read() && e.path.ends_with("/aks-0")).count();
    assert!(reads_of_0 <= 16, "~9 spaced GETs while it was Updating (one every 2 s would be 60), then its own reads: {reads_of_0}");
    assert!(took < Duration::from_secs(2 * 60 + 2 * 60 + 60), "its 2-minute wait, its own 2-minute update (+ spacing): {took:?}");
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_while_operations_run_reports_them_accepted_not_converged() {
    use fleetgate::fleet::{PlanFile, Progress, ProgressStyle};
    use fleetgate::worker::Shutdown;
    let env = env_with(&fleet(&[r#"update_duration = "2m""#], 4, |_| Vec::new()), 2).await;
    let (b, sel) = (backfill(&env), selection(&env, &[]));
    let prepared = b.prepare(&sel, &direct(), PlanFile::default()).await.expect("prepared");
    let stop = Shutdown::new();
    let (mut quiet, options) = (Progress::new(ProgressStyle::Quiet), direct());
    let (report, ()) = tokio::join!(b.execute(prepared, &options, None, &mut quiet, &stop, Duration::from_secs(10)), async {
        // Every PUT is accepted within the first seconds; the operations run for 2 minutes.
        tokio::time::sleep(Duration::from_secs(30)).await;
        stop.request();
    });
    let report = report.expect("the run reports");
    assert!(report.interrupted);
    assert_eq!((report.count(ClusterStatus::Interrupted), report.summary.converged), (4, 0), "{:?}", report.clusters);
    for r in &report.clusters {
        let detail = r.detail.as_deref().unwrap_or("");
        assert!(detail.contains("PUT was accepted") && detail.contains("re-run verifies"), "{detail}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_operation_followed_by_its_location_header_converges_too() {
    let toml = fleet(&[r#"update_duration = "1m""#, "lro_location_header = true"], 3, |k| {
        if k == 2 { vec![r#"lro_outcome = "canceled""#.into()] } else { Vec::new() }
    });
    let (_, report, took) = backfill_with(&toml, 1).await;
    assert_eq!(report.summary.converged, 2, "{:?}", report.clusters);
    assert_eq!(status_of(&report, "aks-2").0, ClusterStatus::Failed, "a canceled operation fails its cluster");
    assert!(took < Duration::from_secs(120), "one 1-minute operation, not three in a row: {took:?}");
}
