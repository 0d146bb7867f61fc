//! The one exit-code table (README "Exit codes"), per command through the binary: 0 ok, 1 failure,
//! 2 usage/configuration, 3 blocked or excluded, 4 not found / nothing in scope — for `plan`, `apply`,
//! `report`, `backfill` and `run --source file:`. Also the habits of az/terraform: `-g`/`-n`,
//! subscription names, `completions`, `man`, `--version`, `-q`, and configuration messages.

mod backfill_support;
mod common;

use std::process::Output;

use backfill_support::*;
use common::child::FleetgateCommand;
use common::faults::fault;
use common::fleet::new_and_old;
use common::*;
use fleetgate::sim::SimHandle;
use fleetgate::sim::faults::FaultRule;
use serde_json::{Value, json};

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sub1(sim: &SimHandle) -> FleetgateCommand {
    FleetgateCommand::new(sim, &[SUB1])
}

/// Runs with `scope.subscriptions` at its default (empty).
fn no_scope(sim: &SimHandle, args: &[&str]) -> Output {
    let mut cmd = sub1(sim).args(args).std();
    cmd.env_remove("FLEETGATE__SCOPE__SUBSCRIPTIONS");
    cmd.output().expect("run fleetgate")
}

/// SUB1 with one compliant cluster; SUB2 exists with none.
async fn compliant_sim() -> SimHandle {
    let fleet = fleet::sub1_with_acrone()
        .sim(&[])
        .subscription(SUB2, "full", &[])
        .cluster(SUB1, "rg-aks", "aks-done", &[r#"attached_registries = ["acrone"]"#, "compliant = true"])
        .build();
    start_sim(&fleet).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply() {
    let sim = start_sim(&new_and_old()).await;
    let (new, old) = (cluster_id(SUB1, "rg-aks", "aks-new"), cluster_id(SUB1, "rg-aks", "aks-old"));
    let gone = cluster_id(SUB1, "rg-aks", "aks-gone");
    let outside = cluster_id(SUB3, "rg-x", "aks-x");
    let run = |args: &[&str]| sub1(&sim).args(args).output();
    assert_eq!(code(&run(&["plan", "--cluster", &new])), Some(0), "changes needed is a plan");
    assert_eq!(code(&run(&["plan", "--cluster", &old])), Some(3), "blocked");
    assert_eq!(code(&run(&["plan", "--cluster", &gone])), Some(4), "not found");
    assert_eq!(code(&run(&["plan", "--cluster", &outside])), Some(4), "outside scope.subscriptions");
    assert_eq!(code(&run(&["plan", "--cluster", "/subscriptions/x/../y"])), Some(2), "a malformed ID");
    assert_eq!(code(&run(&["plan"])), Some(2), "no cluster named");
    assert_eq!(code(&run(&["apply", "--cluster", &old])), Some(3), "blocked: nothing to confirm");
    assert_eq!(code(&run(&["apply", "--yes", "--cluster", &gone])), Some(4));
    assert_eq!(code(&run(&["apply", "--cluster", &new])), Some(2), "no terminal, no --yes");
    sim.add_fault(FaultRule {
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        ..fault(Some("PUT"), "*/userAssignedIdentities/aks-new-defender-gating")
    });
    let failed = run(&["apply", "--yes", "--cluster", &new]);
    assert_eq!(code(&failed), Some(1), "{}", err(&failed));
    sim.clear_faults();
    assert_eq!(code(&run(&["apply", "--yes", "--cluster", &new])), Some(0));
    assert_eq!(code(&run(&["apply", "--cluster", &new])), Some(0), "compliant: nothing to confirm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report() {
    let sim = compliant_sim().await;
    assert_eq!(code(&sub1(&sim).args(["report"]).output()), Some(0), "all compliant");
    let empty = FleetgateCommand::new(&sim, &[SUB2]).args(["report"]).output();
    assert_eq!(code(&empty), Some(4), "no cluster in the selection: {}", err(&empty));
    let none = no_scope(&sim, &["report"]);
    assert_eq!(code(&none), Some(4), "empty scope: {}", err(&none));
    assert!(err(&none).contains("scope.subscriptions is empty"));
    assert_eq!(code(&sub1(&sim).args(["report", "--format", "yaml"]).output()), Some(2));
    assert_eq!(code(&sub1(&sim).args(["report", "-o", "csv"]).output()), Some(0), "-o and --format are the same flag");
    let mixed = mixed_sim().await;
    assert_eq!(code(&fleetgate_cli(&mixed, &["report"], &[])), Some(3), "blocked and excluded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill() {
    let sim =
        start_sim(&fleet::sub1_with_acrone().sim(&[]).cluster(SUB1, "rg-aks", "aks-new", &[r#"attached_registries = ["acrone"]"#]).build())
            .await;
    assert_eq!(code(&sub1(&sim).args(["backfill", "--dry-run"]).output()), Some(0), "planned");
    assert_eq!(code(&sub1(&sim).args(["backfill", "--yes"]).output()), Some(0), "converged");
    assert_eq!(code(&FleetgateCommand::new(&sim, &[SUB2]).args(["backfill", "--yes"]).output()), Some(4), "no cluster in SUB2");
    assert_eq!(code(&no_scope(&sim, &["backfill", "--yes"])), Some(4), "empty scope");
    assert_eq!(code(&sub1(&sim).args(["backfill", "--all"]).output()), Some(2));
    assert_eq!(code(&sub1(&sim).args(["backfill"]).output()), Some(0), "compliant now: nothing to confirm");
    let mixed = mixed_sim().await;
    assert_eq!(code(&fleetgate_cli(&mixed, &["backfill", "--yes"], &[])), Some(3), "blocked and excluded");
    let failing = mixed_sim().await;
    failing.add_fault(FaultRule {
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        ..fault(Some("PUT"), "*/userAssignedIdentities/*")
    });
    assert_eq!(code(&fleetgate_cli(&failing, &["backfill", "--yes"], &[])), Some(1), "failed clusters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_a_file_source() {
    let sim = start_sim(&new_and_old()).await;
    let dir = tempfile::tempdir().unwrap();
    let event = |name: &str| {
        json!({"id": format!("e-{name}"), "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": cluster_id(SUB1, "rg-aks", name),
            "eventTime": "2025-06-02T09:00:00Z", "dataVersion": "2", "metadataVersion": "1", "topic": format!("/subscriptions/{SUB1}"),
            "data": {"resourceUri": cluster_id(SUB1, "rg-aks", name), "operationName": "Microsoft.ContainerService/managedClusters/write", "status": "Succeeded", "subscriptionId": SUB1}})
        .to_string()
    };
    let replay = |name: &str, lines: &[String]| {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        sub1(&sim).args(["run", "--source", &format!("file:{}", path.display())]).output()
    };
    assert_eq!(code(&replay("ok.jsonl", &[event("aks-new")])), Some(0), "converged");
    assert_eq!(code(&replay("blocked.jsonl", &[event("aks-new"), event("aks-old")])), Some(3), "a blocked message");
    assert_eq!(code(&replay("bad.jsonl", &[event("aks-new"), "{ not json".into()])), Some(1), "a rejected message");
    assert_eq!(code(&sub1(&sim).args(["run", "--source", "file:/nonexistent/events.jsonl"]).output()), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_by_resource_group_and_name_and_subscriptions_by_name() {
    let sim = start_sim(&new_and_old()).await;
    let id = cluster_id(SUB1, "rg-aks", "aks-new");
    let by_id: Value = serde_json::from_slice(&sub1(&sim).args(["plan", "--cluster", &id, "-o", "json"]).output().stdout).unwrap();
    let name = format!("simulated SUBSCRIPTION {SUB1}");
    let out = sub1(&sim).args(["plan", "--subscription", &name, "-g", "rg-aks", "-n", "aks-new", "-o", "json"]).output();
    assert_eq!(code(&out), Some(0), "{}", err(&out));
    let by_name: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&by_name["cluster"], &by_name["actions"]), (&by_id["cluster"], &by_id["actions"]), "the same cluster, the same plan");
    let out = sub1(&sim).args(["plan", "--subscription", SUB1, "-g", "rg-aks", "-n", "aks-new"]).output();
    assert_eq!(code(&out), Some(0), "a subscription ID works too: {}", err(&out));
    let out = sub1(&sim).args(["plan", "--subscription", "Production", "-g", "rg-aks", "-n", "aks-new"]).output();
    assert_eq!(code(&out), Some(4), "{}", err(&out));
    assert!(err(&out).contains("no subscription in scope.subscriptions has that name") && err(&out).contains(SUB1), "{}", err(&out));
    assert_eq!(code(&sub1(&sim).args(["plan", "-g", "rg-aks", "-n", "aks-new"]).output()), Some(2), "-n needs --subscription");
    assert_eq!(code(&sub1(&sim).args(["plan", "--cluster", &id, "-n", "aks-new"]).output()), Some(2), "one way to name it");
    let reads = sim.journal().iter().filter(|e| e.path == format!("/subscriptions/{SUB1}")).count();
    assert!(reads >= 1, "the name was matched by reading the subscription in scope");
    assert!(sim.journal().iter().all(|e| e.path != "/subscriptions"), "never a tenant-wide subscription list");
    let report = fleetgate_cli(&sim, &["report", "--subscription", &name, "-o", "json"], &[]);
    assert_eq!(code(&report), Some(3), "{}", err(&report));
}

#[test]
fn completions_man_and_version() {
    let bin = || std::process::Command::new(env!("CARGO_BIN_EXE_fleetgate"));
    let out = bin().args(["completions", "bash"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), Some(0));
    assert!(text.contains("_fleetgate()") && text.contains("--auto-approve") && text.contains("backfill"), "from the real definitions");
    let out = bin().args(["completions", "zsh"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("#compdef fleetgate"));
    let out = bin().arg("man").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with(".ie") && page.contains(".TH fleetgate 1") && page.contains("backfill"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(code(&bin().args(["man", "--out-dir", dir.path().to_str().unwrap()]).output().unwrap()), Some(0));
    assert!(dir.path().join("fleetgate-backfill.1").is_file() && dir.path().join("fleetgate.1").is_file());
    let out = bin().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let defaults: toml::Value = toml::from_str(fleetgate::config::DEFAULT_TOML).unwrap();
    let api = defaults["azure"]["api_versions"]["managed_clusters"].as_str().unwrap();
    assert!(version.starts_with(&format!("fleetgate {} (commit ", env!("CARGO_PKG_VERSION"))), "{version}");
    assert!(version.ends_with(&format!(", managed-clusters api-version {api})")), "{version}");
}

#[test]
fn configuration_messages() {
    let bin = || std::process::Command::new(env!("CARGO_BIN_EXE_fleetgate"));
    let out = bin().args(["--config", "/nonexistent/fleetgate.toml", "config", "show"]).output().unwrap();
    assert_eq!(code(&out), Some(2));
    assert!(err(&out).contains("file not found: /nonexistent/fleetgate.toml") && !err(&out).contains("Fix the key"), "{}", err(&out));
    let out = bin().args(["config", "show"]).env("FLEETGATE__RESYNC__INTERVAL", "often").output().unwrap();
    assert_eq!(code(&out), Some(2));
    assert!(err(&out).contains("resync.interval") && err(&out).contains("\"30s\"") && err(&out).contains("\"6h\""), "{}", err(&out));
    let out = bin().args(["config", "show"]).env("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", "true").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("manage_defender_plan = \"extensions\""), "the old true loads as extensions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_drops_progress_and_one_shot_commands_log_at_warn() {
    let sim = mixed_sim().await;
    let loud = fleetgate_cli(&sim, &["backfill", "--dry-run"], &[]);
    let listed = String::from_utf8_lossy(&loud.stdout);
    assert!(
        listed.contains("fleetgate will change 3 clusters:") && listed.contains("aks-fresh2: create_identity"),
        "the per-cluster plan is on stdout: {listed}"
    );
    assert!(err(&loud).contains("would change /subscriptions/"), "progress lines on stderr: {}", err(&loud));
    assert!(!err(&loud).contains(" INFO "), "CLI commands log at warn by default: {}", err(&loud));
    let quiet = fleetgate_cli(&sim, &["backfill", "--dry-run", "-q"], &[]);
    assert!(!err(&quiet).contains("would change"), "{}", err(&quiet));
    let verbose = fleetgate_cli(&sim, &["backfill", "--dry-run", "-v"], &[]);
    assert!(err(&verbose).contains(" INFO ") || err(&verbose).contains("INFO"), "-v shows info logs: {}", err(&verbose));
}
