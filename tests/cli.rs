//! The `fleetgate` binary end to end: `plan`/`apply` JSON shapes and exit codes against the simulator,
//! `config show` layering and redaction, configuration errors (exit 2), `doctor`.
//! The child authenticates with the real `ClientSecretCredential` through `azure.authority_host`
//! pointing at the simulator (loopback transport).

mod common;

use std::process::{Command, Output};

use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::*;
use fleetgate::sim::SimHandle;
use serde_json::Value;

async fn sim() -> SimHandle {
    start_sim(&fleet::new_and_old()).await
}

fn fleetgate(sim: &SimHandle, args: &[&str]) -> Output {
    FleetgateCommand::new(sim, &[SUB1]).args(args).output()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_json_shape_and_exit_code() {
    let sim = sim().await;
    let id = cluster_id(SUB1, "rg-aks", "aks-new");
    let out = fleetgate(&sim, &["plan", "--cluster", &id, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["cluster"], Value::String(id.clone()));
    assert_eq!(v["status"], "changes_needed");
    assert_eq!(v["identity"]["strategy"], "dedicated");
    assert!(v["identity"]["resource_id"].as_str().unwrap().ends_with("/userAssignedIdentities/aks-new-defender-gating"));
    assert!(v["identity"]["principal_id"].is_null());
    assert_eq!(v["registries"].as_array().unwrap().len(), 1);
    assert!(v["blockers"].as_array().unwrap().is_empty());
    let actions = v["actions"].as_array().unwrap();
    let fic = actions.iter().find(|a| a["kind"] == "create_federated_credential").expect("FIC action");
    assert_eq!(fic["subject"], "system:serviceaccount:kube-system:defender-admission-controller-serviceaccount");
    assert_eq!(fic["audience"], "api://AzureADTokenExchange");
    assert!(fic["issuer"].as_str().unwrap().starts_with("https://"));
    let acr = actions.iter().find(|a| a["kind"] == "assign_acr_pull").expect("AcrPull action");
    assert!(acr["registry"].as_str().unwrap().ends_with("/registries/acrone"));
    assert!(sim.journal().iter().filter(|e| e.is_arm()).all(|e| e.method == "GET"), "plan only reads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_text_reads_like_terraform() {
    let sim = sim().await;
    let out = fleetgate(&sim, &["plan", "--cluster", &cluster_id(SUB1, "rg-aks", "aks-new")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().filter(|l| l.trim_start().starts_with('+')).count() >= 4, "{text}");
    assert!(text.contains("Plan:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_json_then_plan_is_compliant() {
    let sim = sim().await;
    let id = cluster_id(SUB1, "rg-aks", "aks-new");
    let out = fleetgate(&sim, &["apply", "--yes", "--cluster", &id, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&out);
    assert_eq!((v["schema_version"].as_u64(), v["command"].as_str()), (Some(1), Some("apply")));
    assert_eq!(v["status"], "converged");
    assert!(v["error"].is_null());
    for a in v["actions"].as_array().unwrap() {
        assert!(a["kind"].is_string() && a["resource"].is_string() && a["attempts"].as_u64().unwrap() >= 1);
        assert!(["applied", "already_present"].contains(&a["outcome"].as_str().unwrap()), "{a}");
    }
    let again = json_of(&fleetgate(&sim, &["plan", "--cluster", &id, "--output", "json"]));
    assert_eq!(again["status"], "compliant");
    assert!(again["actions"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_cluster_exits_3_with_the_blocker() {
    let sim = sim().await;
    let id = cluster_id(SUB1, "rg-aks", "aks-old");
    for cmd in ["plan", "apply"] {
        let out = fleetgate(&sim, &[cmd, "--cluster", &id, "--output", "json"]);
        assert_eq!(out.status.code(), Some(3), "{cmd}");
        let v = json_of(&out);
        assert_eq!(v["status"], "blocked");
        assert_eq!(v["blockers"][0]["code"], "kubernetes_version_unsupported");
        assert!(v["blockers"][0]["message"].as_str().unwrap().contains("1.31"));
    }
    assert!(sim.journal().iter().all(|e| !e.is_write()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_config_errors_exit_2() {
    let sim = sim().await;
    let out = fleetgate(&sim, &["plan", "--cluster", "/subscriptions/x/../y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'..'"));
    let out = Command::new(env!("CARGO_BIN_EXE_fleetgate"))
        .args(["config", "show"])
        .env("FLEETGATE__GATING__IDENTITY_STRATEGY", "shared")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gating.identity_strategy") && err.contains("shared") && err.contains("dedicated"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_fleetgate")).arg("plan").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing --cluster is a usage error");
}

#[test]
fn config_show_layers_file_and_env_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleetgate.toml");
    std::fs::write(&file, "[gating]\nidentity_name = \"{cluster}-from-file\"\nregistry_reference = \"name\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetgate"))
        .args(["config", "show"])
        .env("FLEETGATE_CONFIG", &file)
        .env("FLEETGATE__GATING__REGISTRY_REFERENCE", "resource_id")
        .env("AZURE_CLIENT_SECRET", "do-not-print-me")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("identity_name = \"{cluster}-from-file\""), "{text}");
    assert!(text.contains("registry_reference = \"resource_id\""), "env wins over the file: {text}");
    assert!(text.contains("AZURE_CLIENT_SECRET: set (redacted)"), "{text}");
    assert!(!text.contains("do-not-print-me"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_against_the_simulator() {
    let sim = sim().await;
    let out = fleetgate(&sim, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().all(|l| l.starts_with('✔') || l.starts_with("- ")), "{text}");
    assert!(text.contains("- Service Bus: queue.namespace is not set"), "no queue configured: skipped, {text}");
    assert!(text.contains("obtained a token") && text.contains("api-version"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_wrong_secret_with_the_fix() {
    let sim = sim().await;
    let out = FleetgateCommand::new(&sim, &[SUB1]).env("AZURE_CLIENT_SECRET", "wrong-secret-value").args(["doctor"]).output();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("✖ credential") && text.contains("fix: set AZURE_TENANT_ID"), "{text}");
    assert!(!text.contains("wrong-secret-value") && !String::from_utf8_lossy(&out.stderr).contains("wrong-secret-value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_debug_never_shows_the_client_secret_or_the_sas_key() {
    let sim = sim().await;
    let cmd = FleetgateCommand::new(&sim, &[SUB1]).queue(&sim, TEST_NAMESPACE).args(["doctor"]);
    let shown = format!("{cmd:?}");
    assert!(shown.contains("AZURE_CLIENT_SECRET") && shown.contains("FLEETGATE_SAS_KEY") && shown.contains("doctor"), "{shown}");
    assert!(!shown.contains(CLIENT_SECRET) && !shown.contains(&sim.root_sas_key()), "{shown}");
}
