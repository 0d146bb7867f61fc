//! Issue 14 through the binary against the simulator: confirmation before writes (no terminal and no
//! `--yes` → refusal with 0 writes; `--yes` → the same writes the engine made before; a real terminal
//! via a pty asks and applies only after `yes`), billing is opt-in (a Free plan under the default mode
//! → `blocked defender_plan_off`, 0 writes to pricing), saved plans (round trip, refusal after a
//! change), and a graceful interrupt of a backfill with a real SIGINT (summary + JSON with
//! `interrupted: true`, exit 130, a re-run finishes).

mod backfill_support;
mod common;
#[path = "common/schemas.rs"]
mod schemas;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use backfill_support::*;
use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::fleet::{FleetToml, attached};
use common::*;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use fleetgate::sim::{JournalEntry, SimHandle};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Successful ARM writes as `METHOD path` (lower case), sorted. A role assignment's name derives from
/// the principal ID the simulator gave the identity (random, in creation order), so it is masked.
fn write_set(journal: &[JournalEntry]) -> Vec<String> {
    let mask = |p: String| match p.find("/roleassignments/") {
        Some(at) => format!("{}/roleassignments/<name>", &p[..at]),
        None => p,
    };
    let mut w: Vec<String> = ok_writes(journal).iter().map(|e| format!("{} {}", e.method, mask(e.path.to_ascii_lowercase()))).collect();
    w.sort();
    w
}

fn cli(sim: &SimHandle) -> FleetgateCommand {
    FleetgateCommand::new(sim, &[SUB1, SUB2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_apply_and_backfill_refuse_and_write_nothing() {
    let sim = mixed_sim().await;
    let fresh = cluster_id(SUB1, "rg-a", "aks-fresh");
    let out = cli(&sim).args(["apply", "--cluster", &fresh]).output();
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("standard input is not a terminal") && stderr(&out).contains("--yes (or --auto-approve)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("+ resource \"Microsoft.ManagedIdentity/userAssignedIdentities\""),
        "the plan is shown before the refusal: {}",
        stdout(&out)
    );

    let out = cli(&sim).args(["backfill", "--mode", "direct"]).output();
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.contains("fleetgate will change 3 clusters:") && shown.contains("aks-fresh2: create_identity"), "{shown}");
    let wide = shown.split("Subscription-wide changes").nth(1).unwrap_or_else(|| panic!("a separate section: {shown}"));
    assert!(wide.contains(&format!("Free → Standard on subscription {SUB2} (billed per vCore")), "{shown}");

    let out = cli(&sim).queue(&sim, TEST_NAMESPACE).args(["backfill", "--mode", "enqueue"]).output();
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0), "no command was sent");
    assert!(sim.journal().iter().all(|e| !e.is_write()), "0 writes: {:?}", write_set(&sim.journal()));
    assert!(!sim.journal().iter().any(|e| e.path.starts_with("/sb/") && e.method == "POST" && e.path.ends_with("/messages")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yes_makes_the_writes_the_engine_made_before() {
    let fresh = cluster_id(SUB1, "rg-a", "aks-fresh");
    let before = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let applied = before.engine.apply(&fleetgate::id::ResourceId::parse(&fresh).unwrap()).await;
    assert_eq!(applied.report.status, fleetgate::core::ApplyStatus::Converged);
    let after = mixed_sim().await;
    let out = cli(&after).args(["apply", "--yes", "--cluster", &fresh]).output();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let expected = write_set(&before.sim.journal());
    assert!(expected.len() >= 5, "pricing, identity, FIC, AcrPull ×2, cluster: {expected:#?}");
    assert_eq!(write_set(&after.journal()), expected, "--yes writes exactly what the engine wrote");

    let before = start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await;
    let report = run(&backfill(&before), &selection(&before, &[]), &direct(), None).await;
    assert_eq!(report.summary.converged, 3);
    let after = mixed_sim().await;
    let out = cli(&after).args(["backfill", "--auto-approve"]).output();
    assert_eq!(out.status.code(), Some(3), "blocked and excluded clusters remain; stderr: {}", stderr(&out));
    assert_eq!(write_set(&after.journal()), write_set(&before.sim.journal()), "the same writes as the library backfill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_plan_under_the_default_mode_blocks_with_defender_plan_off_and_no_pricing_write() {
    let sim = mixed_sim().await;
    let default = || FleetgateCommand::new(&sim, &[SUB1, SUB2]).default_defender_plan();
    let sub2 = cluster_id(SUB2, "rg-c", "aks-sub2");
    let out = default().args(["plan", "--cluster", &sub2, "-o", "json"]).output();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((plan["status"].as_str(), plan["blockers"][0]["code"].as_str()), (Some("blocked"), Some("defender_plan_off")));
    let fix = plan["blockers"][0]["message"].as_str().unwrap();
    assert!(fix.contains(&format!("az security pricing create -n Containers --tier standard --subscription {SUB2}")), "{fix}");
    assert!(fix.contains("Defender plans > Containers: On"), "the portal path: {fix}");

    let out = default().args(["apply", "--yes", "--cluster", &sub2, "-o", "json"]).output();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    let out = default().args(["backfill", "--yes", "-o", "json"]).output();
    assert_eq!(out.status.code(), Some(3), "stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    schemas::assert_valid("backfill", &doc);
    let status = |name: &str| {
        let r = doc["results"].as_array().unwrap().iter().find(|r| r["cluster"].as_str().unwrap().ends_with(&format!("/{name}"))).unwrap();
        (r["status"].as_str().unwrap().to_string(), r["blockers"][0]["code"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(status("aks-sub2"), ("blocked".into(), "defender_plan_off".into()));
    assert_eq!(status("aks-fresh"), ("blocked".into(), "defender_plan_off".into()), "its registry's subscription is on Free");
    assert_eq!(status("aks-fresh2").0, "converged", "SUB1's plan is Standard: its pieces are turned on");
    assert!(doc["subscription_changes"].as_array().unwrap().iter().all(|c| c["starts_billing"] == false), "{doc:#}");
    let pricing_writes = ok_writes_to(&sim.journal(), &format!("/subscriptions/{SUB2}/providers/Microsoft.Security/pricings"));
    assert_eq!(pricing_writes, 0, "the Free plan was never written");
    assert!(sim.journal().iter().all(|e| !e.is_write() || !e.path.contains("aks-sub2")), "nothing written for the blocked clusters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_round_trips_and_is_refused_after_a_change() {
    let sim = mixed_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.json"), dir.path().join("two.json"));
    let fresh2 = cluster_id(SUB1, "rg-b", "aks-fresh2");
    let out = cli(&sim).args(["plan", "--cluster", &fresh2, "--out", one.to_str().unwrap()]).output();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("fleetgate apply --plan"), "{}", stderr(&out));
    let out = cli(&sim).args(["apply", "--plan", one.to_str().unwrap(), "-o", "json"]).output();
    assert_eq!(out.status.code(), Some(0), "a saved plan needs no terminal: it was the approval; stderr: {}", stderr(&out));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"], "converged");

    let sub2 = cluster_id(SUB2, "rg-c", "aks-sub2");
    let out = cli(&sim).args(["plan", "--cluster", &sub2, "--out", two.to_str().unwrap()]).output();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    another_writer_changes(&sim, &sub2).await;
    sim.clear_journal();
    let out = cli(&sim).args(["apply", "--plan", two.to_str().unwrap()]).output();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("refusing to apply the saved plan") && stderr(&out).contains("fingerprint"), "{}", stderr(&out));
    assert!(sim.journal().iter().all(|e| !e.is_write()), "0 writes after the refusal");
    let out = cli(&sim).args(["apply", "--plan", one.to_str().unwrap()]).output();
    assert_eq!(out.status.code(), Some(1), "the first plan is stale too now (the cluster converged): {}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_fleet_plan_applies_exactly_and_refuses_the_cluster_that_changed() {
    let sim = mixed_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet.json");
    let out = cli(&sim).args(["backfill", "--dry-run", "--out", file.to_str().unwrap()]).output();
    assert_eq!(out.status.code(), Some(3), "blocked/excluded in the plan; stderr: {}", stderr(&out));
    let sub2 = cluster_id(SUB2, "rg-c", "aks-sub2");
    another_writer_changes(&sim, &sub2).await;
    sim.clear_journal();
    let out = cli(&sim).args(["backfill", "--plan", file.to_str().unwrap(), "-o", "json"]).output();
    assert_eq!(out.status.code(), Some(1), "a refused cluster is a failure; stderr: {}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    schemas::assert_valid("backfill", &doc);
    assert_eq!((doc["converged"].as_u64(), doc["changed_since_plan"].as_u64()), (Some(2), Some(1)), "{doc:#}");
    let refused = doc["results"].as_array().unwrap().iter().find(|r| r["cluster"] == sub2.as_str()).unwrap();
    assert_eq!(refused["status"], "changed_since_plan");
    assert!(sim.journal().iter().all(|e| !e.is_write() || !e.path.contains("aks-sub2")), "nothing written to the changed cluster");
}

/// Another writer changes the cluster's document (a tag the fingerprint covers, `false` = not
/// excluded: the plan would stay the same).
async fn another_writer_changes(sim: &SimHandle, cluster: &str) {
    let settings = settings_for(sim, &[SUB1, SUB2]);
    let (arm, version) = (arm_client(&settings), settings.azure.api_versions.managed_clusters.clone());
    let resp = arm.get(cluster, &version).await.unwrap().unwrap();
    let mut doc = resp.body.clone();
    doc["tags"]["fleetgate.io/exclude"] = Value::String("false".into());
    let put = arm.put(cluster, &version, &doc, resp.etag.as_deref()).await.unwrap();
    arm.wait_for_lro(&put).await.unwrap();
}

/// Five clusters to converge, one at a time, each cluster PUT taking `lro` in the simulator.
async fn slow_fleet(lro: &str) -> SimHandle {
    let lro = format!("lro_duration = \"{lro}\"");
    let mut fleet = FleetToml::new().sim(&[&lro]).subscription(SUB1, "full", &[]).registry(SUB1, "rg-acr", "acrone");
    for i in 1..=5 {
        fleet = fleet.cluster(SUB1, "rg-aks", &format!("aks-{i}"), &[&attached(["acrone"])]);
    }
    start_sim(&fleet.build()).await
}

fn sigint(pid: u32) {
    let ok = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("run kill");
    assert!(ok.success(), "kill -INT {pid}");
}

/// Spawns `backfill --yes -o json` one cluster at a time; returns the child and its stderr lines.
fn spawn_backfill(sim: &SimHandle) -> (tokio::process::Child, tokio::io::Lines<BufReader<tokio::process::ChildStderr>>) {
    let mut child = FleetgateCommand::new(sim, &[SUB1])
        .env("FLEETGATE__BACKFILL__CONCURRENCY", "1")
        .env("FLEETGATE__SHUTDOWN__GRACE", "20s")
        .args(["backfill", "--yes", "-o", "json"])
        .tokio()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fleetgate");
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, lines)
}

/// Reads stderr until a line starts with `prefix` (at most 30 s); returns what was read.
async fn read_until(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>, prefix: &str) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.starts_with(prefix) {
                    return seen;
                }
            }
            _ => break,
        }
    }
    panic!("no stderr line starting with {prefix:?}:\n{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_backfill_finishes_in_flight_reports_interrupted_and_a_rerun_finishes() {
    // The slowness must be in the job's own requests: a cluster PUT's operation holds no slot (issue 13),
    // so with only a slow LRO every cluster would be started at once.
    let sim = slow_fleet("1500ms").await;
    sim.add_fault(FaultRule { latency_ms: Some(1500), ..common::faults::fault(Some("PUT"), "*/userAssignedIdentities/*") });
    let (mut child, mut lines) = spawn_backfill(&sim);
    let pid = child.id().unwrap();
    read_until(&mut lines, "converged ").await;
    sigint(pid);
    let signalled = Instant::now();
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    assert_eq!(status.code(), Some(130), "interrupted: exit 130\n{rest}");
    assert!(signalled.elapsed() < Duration::from_secs(10), "the in-flight cluster only: {:?}", signalled.elapsed());
    assert!(rest.contains("interrupted — no further clusters are started"), "{rest}");
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("JSON summary ({e}): {out}\n{rest}"));
    schemas::assert_valid("backfill", &doc);
    assert_eq!(doc["interrupted"], true);
    let reached = doc["converged"].as_u64().unwrap();
    let not_reached = doc["not_reached"].as_array().unwrap().len() as u64;
    assert!((1..5).contains(&reached) && reached + not_reached == 5, "finished in flight, never started the rest: {doc:#}");
    assert!(doc["results"].as_array().unwrap().iter().all(|r| r["status"] == "converged" || r["status"] == "not_reached"), "{doc:#}");

    let again = FleetgateCommand::new(&sim, &[SUB1]).args(["backfill", "--yes", "-o", "json"]).output();
    assert_eq!(again.status.code(), Some(0), "the re-run finishes; stderr: {}", stderr(&again));
    let doc: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (doc["interrupted"].as_bool(), doc["converged"].as_u64(), doc["compliant"].as_u64()),
        (Some(false), Some(not_reached), Some(reached))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let sim = slow_fleet("3s").await;
    let (mut child, mut lines) = spawn_backfill(&sim);
    let pid = child.id().unwrap();
    read_until(&mut lines, "[").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigint(pid);
    read_until(&mut lines, "fleetgate: interrupted").await;
    let signalled = Instant::now();
    sigint(pid);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits").unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(signalled.elapsed() < Duration::from_secs(2), "at once, not after the 3 s cluster update: {:?}", signalled.elapsed());
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
    assert!(out.trim().is_empty(), "no summary after a second signal: {out}");
}

/// Runs `fleetgate` on a pseudo-terminal (Python's `pty`), answers `answer` at the prompt (`^C`: a
/// SIGINT instead), and returns the exit code and everything the terminal showed.
fn on_a_terminal(cmd: &FleetgateCommand, answer: &str) -> (Option<i32>, String) {
    const SCRIPT: &str = r#"
import os, pty, select, signal, sys, time
answer, argv = sys.argv[1].encode() + b"\n", sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, answered, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not answered and b"Enter a value:" in seen:
        if answer == b"^C\n":
            os.kill(pid, signal.SIGINT)
        else:
            os.write(fd, answer)
        answered = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let std = cmd.std();
    let program = std.get_program().to_owned();
    let mut python = std::process::Command::new("python3");
    python.arg("-c").arg(SCRIPT).arg(answer).arg(program).args(std.get_args()).env_clear();
    for (k, v) in std.get_envs() {
        if let Some(v) = v {
            python.env(k, v);
        }
    }
    let out = python.output().expect("python3 runs (the pty test needs it: apt-get install python3)");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_apply_asks_and_writes_only_after_yes() {
    let sim = mixed_sim().await;
    let fresh2 = cluster_id(SUB1, "rg-b", "aks-fresh2");
    let cmd = cli(&sim).args(["apply", "--cluster", &fresh2]);
    let (code, screen) = tokio::task::spawn_blocking({
        let cmd = cmd.clone();
        move || on_a_terminal(&cmd, "no")
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("Do you want to perform these actions?") && screen.contains("Apply cancelled"), "{screen}");
    assert!(sim.journal().iter().all(|e| !e.is_write()), "'no' writes nothing");
    let (code, screen) = tokio::task::spawn_blocking({
        let cmd = cmd.clone();
        move || on_a_terminal(&cmd, "^C")
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130), "Ctrl-C at the prompt: {screen}");
    assert!(screen.contains("cancelled by a signal; nothing was written"), "{screen}");
    assert!(sim.journal().iter().all(|e| !e.is_write()), "Ctrl-C writes nothing");
    let (code, screen) = tokio::task::spawn_blocking(move || on_a_terminal(&cmd, "yes")).await.unwrap();
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("converged") && screen.contains("Apply complete! Resources: "), "{screen}");
    assert!(ok_writes_to(&sim.journal(), "/managedClusters/aks-fresh2") == 1, "written after 'yes'");
}
