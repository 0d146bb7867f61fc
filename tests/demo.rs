//! `fleetgate demo` end to end with the instant simulator (the realistic timing is the default; run
//! `cargo run --release -- demo` to see it): every convergeable cluster converges, blocked and excluded
//! ones are left alone, the attached registry gets wired, the malformed message is parked.

use std::process::Command;

use fleetgate::config::QueueAuthKind;
use fleetgate::core::PlanStatus;
use fleetgate::worker::demo::{self, DemoOptions, DemoSpeed};
use fleetgate::worker::output::OUTCOMES;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_converges_the_fleet_over_sas() {
    let mut out = Vec::new();
    let options = DemoOptions { speed: DemoSpeed::Instant, queue_auth: QueueAuthKind::Sas, ..DemoOptions::default() };
    let result = demo::run(options, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(result.ok(), "{:?}\n{text}", result.problems);
    assert_eq!(result.rows.len(), 12);
    let status = |name: &str| result.rows.iter().find(|r| r.cluster.name() == name).unwrap();
    assert_eq!(
        (status("aks-prod-batch").before.status.clone(), status("aks-prod-batch").after.status.clone()),
        (Ok(PlanStatus::Blocked), Ok(PlanStatus::Blocked))
    );
    assert_eq!(status("aks-dev-sandbox").after.status, Ok(PlanStatus::Excluded));
    let attached = status("aks-prod-weu-02");
    assert_eq!(
        (attached.before.used.len(), attached.after.used.len(), attached.after.wired_count()),
        (1, 2, 2),
        "acrshared attached and wired"
    );
    let converged = result
        .rows
        .iter()
        .filter(|r| r.before.status == Ok(PlanStatus::ChangesNeeded) && r.after.status == Ok(PlanStatus::Compliant))
        .count();
    assert_eq!(converged, 8, "every cluster that needed changes");
    let s = &result.summary;
    let counts: Vec<u64> = OUTCOMES.iter().map(|o| s.count(*o)).collect();
    assert_eq!(counts, [9, 2, 2, 1, 0, 4, 1, 0], "{text}");
    assert_eq!((result.published, result.parked), (19, 1));
    assert!(result.arm_writes > 20 && result.arm_reads > result.arm_writes, "{} reads, {} writes", result.arm_reads, result.arm_writes);
    for needle in [
        "CLUSTER",
        "changes_needed → compliant",
        "registry attached: acrshared → aks-prod-weu-02",
        "Wall time",
        "✔ every convergeable cluster converged",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_command_exits_0_with_entra() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetgate")).args(["demo", "--speed", "instant"]).env_clear().output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("auth: Microsoft Entra token") && stdout.contains("✔ every convergeable cluster converged"), "{stdout}");
}
