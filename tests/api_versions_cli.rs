//! The managed-cluster api-version through the binary: a known version without `securityGating` is a
//! configuration error (exit 2, the good versions listed) before any request; the default passes
//! `doctor`'s check.

mod common;

use common::child::FleetgateCommand;
use common::fleet::new_and_old;
use common::*;

const KEY: &str = "FLEETGATE__AZURE__API_VERSIONS__MANAGED_CLUSTERS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_without_security_gating_exits_2_before_any_request() {
    let sim = start_sim(&new_and_old()).await;
    let cluster = cluster_id(SUB1, "rg-aks", "aks-new");
    for bad in ["2026-05-01", "2026-01-01", "2024-10-02-preview"] {
        for command in ["plan", "apply"] {
            let out = FleetgateCommand::new(&sim, &[SUB1]).env(KEY, bad).args([command, "--cluster", cluster.as_str()]).output();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} at {bad}: {err}");
            assert!(err.contains("azure.api_versions.managed_clusters") && err.contains(bad), "{err}");
            assert!(err.contains("2026-08-01, 2026-07-01, 2026-06-01"), "the good versions are listed: {err}");
        }
    }
    assert!(sim.journal().iter().all(|e| !e.is_arm() && !e.is_token_call()), "nothing was requested: {:#?}", sim.journal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_version_passes_doctor_and_a_plan() {
    let sim = start_sim(&new_and_old()).await;
    let out = FleetgateCommand::new(&sim, &[SUB1]).args(["doctor"]).output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("✔ azure.api_versions.managed_clusters = 2026-08-01 carries securityGating"), "{text}");
    let cluster = cluster_id(SUB1, "rg-aks", "aks-new");
    let out = FleetgateCommand::new(&sim, &[SUB1]).args(["plan", "--cluster", cluster.as_str()]).output();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let gets = sim.journal().iter().filter(|e| e.is_read() && e.path.ends_with("/aks-new")).map(|e| e.query.clone()).collect::<Vec<_>>();
    assert!(!gets.is_empty() && gets.iter().all(|q| q.contains("api-version=2026-08-01")), "{gets:?}");
}
