//! The simulator driven by a real client no one here wrote: the official Azure SDK for Python management
//! libraries (tests/python_sdk/drive_sim.py, pinned in tests/python_sdk/requirements.txt). Clusters (get,
//! paged lists, an update and a create through the SDK's LRO poller), identities and FICs, role
//! definitions and assignments (RoleAssignmentExists included), pricings, Resource Graph paging, resource
//! groups and registries: every call must behave and every response deserialize without unmapped
//! fields. The simulator runs with its recorded-Azure defaults (no `Retry-After`, signed operation URLs).
//!
//! The venv comes from `bash ci/python_sdk.sh` (CI runs it); when it is missing this test runs that
//! script itself, and fails with the command to run if it cannot.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::fleet::FleetToml;
use common::*;
use fleetgate::sim::{Fleet, Simulator};
use serde_json::Value;

const CLUSTERS: usize = 3;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, creating the venv with ci/python_sdk.sh when it is missing.
fn python() -> PathBuf {
    let venv = std::env::var_os("FLEETGATE_PY_SDK_VENV").map_or_else(|| repo().join("target/python-sdk-venv"), PathBuf::from);
    let python = venv.join("bin/python");
    let ready =
        |p: &Path| Command::new(p).args(["-c", "import azure.mgmt.containerservice, azure.mgmt.msi"]).status().is_ok_and(|s| s.success());
    if !ready(&python) {
        let status = Command::new("bash").arg(repo().join("ci/python_sdk.sh")).env("FLEETGATE_PY_SDK_VENV", &venv).status();
        assert!(
            status.is_ok_and(|s| s.success()) && ready(&python),
            "the Azure SDK for Python venv is missing at {} and could not be created; run `bash ci/python_sdk.sh` (needs python3 and PyPI)",
            venv.display()
        );
    }
    python
}

fn fleet() -> Fleet {
    let mut toml = FleetToml::new()
        .sim(&[r#"update_duration = "300ms""#, r#"create_duration = "300ms""#, "list_page_size = 2"])
        .subscription(SUB1, "partial", &[])
        .registry(SUB1, "rg-acr", "acrone");
    for i in 1..=CLUSTERS {
        toml = toml.cluster(SUB1, "rg-aks", &format!("aks-{i}"), &[r#"attached_registries = ["acrone"]"#]);
    }
    let mut fleet = Fleet::from_toml_str(&toml.build()).expect("fleet");
    fleet.sim.lro_retry_after_secs = None; // as recorded: no Retry-After; the SDK polls at its own interval
    fleet
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_sdk_drives_the_simulator_without_surprises() {
    let python = python();
    let sim = Simulator::start(fleet(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let token = sim.issue_token("https://management.azure.com");
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(repo().join("tests/python_sdk/drive_sim.py"))
        .env("SIM_URL", sim.base_url())
        .env("SIM_TOKEN", &token)
        .env("SUB", SUB1)
        .env("RG", "rg-aks")
        .env("CLUSTER", "aks-1")
        .env("CLUSTERS", CLUSTERS.to_string())
        .env("REGISTRY", "acrone")
        .env("REGISTRY_RG", "rg-acr")
        .env("REGISTRY_ID", registry_id(SUB1, "rg-acr", "acrone"))
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("the script finishes within 2 minutes").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("no JSON report ({e}); stdout: {stdout}\nstderr: {stderr}"));
    assert!(report["problems"].as_array().is_some_and(Vec::is_empty), "{:#}\nstderr: {stderr}", report["problems"]);
    assert!(out.status.success(), "stderr: {stderr}");
    let calls: Vec<&str> = report["calls"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for wanted in [
        "managed_clusters.get",
        "managed_clusters.list[item]",
        "managed_clusters.begin_create_or_update(update)",
        "managed_clusters.begin_create_or_update(create)",
        "user_assigned_identities.create_or_update",
        "federated_identity_credentials.list[item]",
        "role_definitions.list[item]",
        "role_definitions.get_by_id",
        "role_assignments.create",
        "role_assignments.create(RoleAssignmentExists)",
        "role_assignments.list_for_scope[item]",
        "pricings.get",
        "pricings.update",
        "resources",
        "resource_groups.get",
        "registries.get",
    ] {
        assert!(calls.contains(&wanted), "{wanted} was not made: {calls:?}");
    }
    // The SDK's poller followed the signed Azure-AsyncOperation URL unchanged, and the lists paged.
    let journal = sim.journal();
    let polls: Vec<_> =
        journal.iter().filter(|e| e.path.contains("/providers/Microsoft.ContainerService/locations/westeurope/operations/")).collect();
    assert!(polls.len() >= 2, "{} operation polls", polls.len());
    assert!(
        polls.iter().all(|p| p.query.starts_with("api-version=2025-03-01&t=") && p.query.contains("&s=") && p.status == 200),
        "{polls:?}"
    );
    let paged = journal.iter().filter(|e| e.path.ends_with("/managedClusters") && e.query.contains("skipToken")).count();
    assert!(paged >= 1, "the cluster list was not paged");
    eprintln!("python SDK run: {} calls in {:?}", calls.len(), started.elapsed());
    sim.shutdown().await;
}
