//! The worker's drift-resync loop against the simulator, with a resync interval of a couple of seconds
//! (real time, no paused clock: the loop sleeps on the wall clock across real sockets):
//! - two replicas fire in the same windows → the queue holds one command per cluster and window;
//! - `fleetgate run` repairs a deleted federated credential and a removed gating entry with no event
//!   published — only its own resync commands.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use common::child::{FleetgateCommand, TEST_NAMESPACE};
use common::queue::sas_queue;
use common::*;
use fleetgate::fleet::commands::resync_message_id;
use fleetgate::fleet::{Selection, window_start};
use fleetgate::id::ResourceId;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use fleetgate::worker::{Resync, Shutdown};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Two compliant clusters sharing a registry.
fn fleet() -> String {
    let lines = [r#"attached_registries = ["acrone"]"#, "compliant = true"];
    fleet::sub1_with_acrone().cluster(SUB1, "rg-a", "aks-a", &lines).cluster(SUB1, "rg-a", "aks-b", &lines).build()
}

fn clusters() -> Vec<ResourceId> {
    ["aks-a", "aks-b"].iter().map(|n| ResourceId::parse(&cluster_id(SUB1, "rg-a", n)).unwrap()).collect()
}

/// Waits, if needed, until the current window of `interval` is younger than `slack`.
async fn window_just_started(interval: Duration, slack: Duration) {
    let now = OffsetDateTime::now_utc();
    let age = now - window_start(now, interval);
    if age > slack {
        let wait: Duration = (window_start(now, interval) + interval - now).try_into().unwrap();
        tokio::time::sleep(wait + Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_replicas_firing_in_the_same_windows_leave_one_command_per_cluster_and_window() {
    let env = start(&fleet(), &[SUB1], |_| {}).await;
    let interval = Duration::from_secs(2);
    // Both replicas plan before the earliest fire slot (37.5 % into the window) of this window.
    window_just_started(interval, Duration::from_millis(300)).await;
    let (tx, mut fired) = tokio::sync::mpsc::unbounded_channel();
    let shutdown = Shutdown::new();
    let selection = Selection::new(&env.settings.scope.subscriptions, &[], &[]).unwrap();
    for r in [0.0, 0.99] {
        let replica =
            Resync::new(env.engine.arm().clone(), selection.clone(), sas_queue(&env), interval, 1).with_jitter(r).with_reports(tx.clone());
        tokio::spawn(replica.run(shutdown.clone()));
    }
    let mut by_window: BTreeMap<OffsetDateTime, usize> = BTreeMap::new();
    for _ in 0..4 {
        let f = tokio::time::timeout(Duration::from_secs(10), fired.recv()).await.expect("a fire within 10 s").unwrap();
        assert_eq!(f.sent, 2, "every cluster, in batches of one");
        *by_window.entry(f.window).or_default() += 1;
    }
    shutdown.request();
    assert_eq!(by_window.values().copied().collect::<Vec<_>>(), [2, 2], "both replicas fired once in each of two windows: {by_window:?}");
    let windows: Vec<OffsetDateTime> = by_window.keys().copied().collect();
    assert_eq!(windows[1] - windows[0], interval);
    let mut want: Vec<String> = windows.iter().flat_map(|w| clusters().into_iter().map(move |c| resync_message_id(&c, *w))).collect();
    want.sort();
    let mut got: Vec<String> = env.sim.peek_all(EVENTS_QUEUE).unwrap().into_iter().map(|p| p.message.message_id).collect();
    got.sort();
    assert_eq!(got, want, "8 sends, 4 commands: one per cluster and window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_repairs_a_deleted_credential_and_a_removed_gating_entry_without_any_event() {
    let env = start(&fleet(), &[SUB1], |_| {}).await;
    let [a, b] = <[ResourceId; 2]>::try_from(clusters()).unwrap();
    let (arm, versions) = (env.engine.arm(), &env.settings.azure.api_versions);
    let identity = format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-a-defender-gating"
    );
    let fics = arm.list(&format!("{identity}/federatedIdentityCredentials"), &versions.managed_identity, None).await.unwrap();
    assert_eq!(fics.len(), 1);
    assert!(arm.delete(fics[0]["id"].as_str().unwrap(), &versions.managed_identity).await.unwrap());
    let resp = arm.get(b.as_str(), &versions.managed_clusters).await.unwrap().unwrap();
    let mut doc = resp.body.clone();
    doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!([]);
    let put = arm.put(b.as_str(), &versions.managed_clusters, &doc, resp.etag.as_deref()).await.unwrap();
    arm.wait_for_lro(&put).await.unwrap();
    for c in [&a, &b] {
        assert!(!env.engine.plan(c).await.unwrap().is_compliant(), "{c} drifted");
    }
    env.sim.clear_journal();

    let started = OffsetDateTime::now_utc();
    let mut child = fleetgate_run(&env, "2s").spawn().expect("fleetgate run starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut handled: Vec<Value> = Vec::new();
    let repaired = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            handled.push(serde_json::from_str(&line).unwrap_or(Value::Null));
            let converged = |c: &ResourceId| handled.iter().any(|h| h["cluster"] == c.as_str() && h["outcome"] == "converged");
            if converged(&a) && converged(&b) {
                return true;
            }
        }
        false
    })
    .await;
    child.start_kill().unwrap();
    assert_eq!(repaired, Ok(true), "both clusters converged by resync commands: {handled:#?}");
    for c in [&a, &b] {
        assert!(env.engine.plan(c).await.unwrap().is_compliant(), "{c} repaired");
    }
    let journal = env.sim.journal();
    let writes: Vec<&str> = journal.iter().filter(|e| e.is_write() && e.status < 300).map(|e| e.path.as_str()).collect();
    assert!(writes.iter().any(|p| p.starts_with(&format!("{identity}/federatedIdentityCredentials/"))), "{writes:#?}");
    assert!(writes.contains(&b.as_str()), "{writes:#?}");
    // Every message the worker handled is one of its resync commands (no event was ever published).
    let windows: Vec<OffsetDateTime> =
        (0..40).map(|i| window_start(started, Duration::from_secs(2)) + Duration::from_secs(2 * i)).collect();
    let resync_ids: Vec<String> = windows.iter().flat_map(|w| [resync_message_id(&a, *w), resync_message_id(&b, *w)]).collect();
    for h in &handled {
        assert!(resync_ids.iter().any(|id| h["message"] == id.as_str()), "not a resync command: {h}");
    }
}

/// `fleetgate run` on the simulator's queue with resync every `interval`.
fn fleetgate_run(env: &TestEnv, interval: &str) -> tokio::process::Command {
    let mut cmd = FleetgateCommand::new(&env.sim, &[SUB1])
        .queue(&env.sim, TEST_NAMESPACE)
        .env("FLEETGATE__RESYNC__ENABLED", "true")
        .env("FLEETGATE__RESYNC__INTERVAL", interval)
        .args(["run", "--output", "json"])
        .tokio();
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    cmd
}
