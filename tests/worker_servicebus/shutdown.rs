//! Graceful shutdown: through the token (in-flight work finishes, nothing new is received, what is left
//! after the grace period is abandoned) and with a real SIGTERM to the `fleetgate run` process.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fleetgate::dispatch::MessageOutcome;
use fleetgate::queue::Received;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use fleetgate::source::ServiceBusSource;
use fleetgate::worker::{Settled, WorkerOptions};
use tokio::io::AsyncReadExt;

use crate::support::*;

#[tokio::test]
async fn shutdown_lets_in_flight_messages_finish_and_receives_nothing_new() {
    let env = env(|_| {}).await;
    env.sim.add_fault(slow_cluster_get("aks-a", 1200, 1));
    env.sim.add_fault(slow_cluster_get("aks-b", 1200, 1));
    send_cluster_event(&env, "aks-a", "in-flight-a");
    send_cluster_event(&env, "aks-b", "in-flight-b");
    send_cluster_event(&env, "aks-c", "waiting-c");
    let mut worker = spawn(&env, sas(&env), options(2));
    assert!(eventually(Duration::from_secs(5), || worker.status.in_flight() == 2).await, "two messages in flight");
    worker.shutdown.request();
    let reports = worker.reports(2, Duration::from_secs(10)).await;
    let summary = worker.stop().await;
    assert!(reports.iter().all(|r| r.outcome == Some(MessageOutcome::Converged) && r.settled == Settled::Completed), "{reports:?}");
    assert_eq!((summary.finished(), summary.interrupted), (2, 0));
    let left = env.sim.peek_all(EVENTS_QUEUE).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].message.message_id.as_str(), left[0].delivery_count, left[0].locked), ("waiting-c", 0, false), "never received");
}

#[tokio::test]
async fn work_left_after_the_grace_period_is_abandoned_and_run_returns_ok() {
    let env = env(|_| {}).await;
    env.sim.add_fault(slow_cluster_get("aks-a", 8000, 1));
    send_cluster_event(&env, "aks-a", "too-slow");
    let options = WorkerOptions { grace: Duration::from_millis(300), ..options(1) };
    let worker = spawn(&env, sas(&env), options);
    assert!(eventually(Duration::from_secs(5), || worker.status.in_flight() == 1).await);
    let started = Instant::now();
    let summary = worker.stop().await;
    assert!(started.elapsed() < Duration::from_secs(3), "stopped after the grace period, not the reconcile: {:?}", started.elapsed());
    assert_eq!((summary.interrupted, summary.finished()), (1, 0));
    let reader = ServiceBusSource::from_settings(&env.settings.queue, sas(&env)).unwrap();
    let Received::Message(again) = reader.queue().receive(Duration::ZERO).await.unwrap() else { panic!("the message was not abandoned") };
    assert_eq!((again.message_id(), again.delivery_count()), ("too-slow", 2), "abandoned, so redelivered at once");
}

#[tokio::test]
async fn a_second_request_ends_the_grace_period_at_once() {
    let env = env(|_| {}).await;
    env.sim.add_fault(slow_cluster_get("aks-b", 8000, 1));
    send_cluster_event(&env, "aks-b", "slow");
    let options = WorkerOptions { grace: Duration::from_secs(30), ..options(1) };
    let mut worker = spawn(&env, sas(&env), options);
    assert!(eventually(Duration::from_secs(5), || worker.status.in_flight() == 1).await);
    let started = Instant::now();
    worker.shutdown.request();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!worker.task.is_finished(), "still inside the grace period");
    let report = {
        worker.shutdown.request();
        worker.reports(1, Duration::from_secs(5)).await.remove(0)
    };
    let summary = worker.stop().await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!((report.outcome, &report.settled), (None, &Settled::Interrupted));
    assert_eq!(summary.interrupted, 1);
    assert!(!env.sim.peek_all(EVENTS_QUEUE).unwrap()[0].locked);
}

/// `fleetgate run` against the simulator with SAS from `FLEETGATE_SAS_KEY`.
fn fleetgate_run(env: &TestEnv, health: &str) -> tokio::process::Command {
    let mut cmd = FleetgateCommand::new(&env.sim, &[SUB1])
        .queue(&env.sim, TEST_NAMESPACE)
        .env("FLEETGATE__HEALTH__LISTEN", health)
        .args(["run", "--output", "json"])
        .tokio();
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_fleetgate_run_process_and_exits_0() {
    let env = env(|_| {}).await;
    send_cluster_event(&env, "aks-a", "before-signal");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let health = format!("127.0.0.1:{port}");
    let mut child = fleetgate_run(&env, &health).spawn().expect("start fleetgate run");
    assert!(eventually(Duration::from_secs(15), || env.sim.queue_depth(EVENTS_QUEUE) == Some(0)).await, "first message handled");
    let http = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..50 {
        if let Ok(resp) = http.get(format!("http://{health}/readyz")).send().await {
            ready = Some(resp.status().as_u16());
            if ready == Some(200) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready, Some(200), "/readyz turns ready once the credential and the queue answered");
    let live = http.get(format!("http://{health}/healthz")).send().await.unwrap();
    assert_eq!(live.status().as_u16(), 200);

    env.sim.add_fault(slow_cluster_get("aks-b", 1500, 1));
    send_cluster_event(&env, "aks-b", "in-flight-at-signal");
    assert!(
        eventually(Duration::from_secs(5), || env.sim.peek_all(EVENTS_QUEUE).unwrap().iter().any(|m| m.locked)).await,
        "second message locked"
    );
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits after SIGTERM").unwrap();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut stdout).await.unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).await.unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "two messages and the summary: {stdout}");
    assert_eq!((lines[0]["message"].as_str(), lines[0]["outcome"].as_str()), (Some("before-signal"), Some("converged")));
    assert_eq!(
        (lines[1]["message"].as_str(), lines[1]["outcome"].as_str()),
        (Some("in-flight-at-signal"), Some("converged")),
        "finished after the signal"
    );
    assert_eq!(lines[2]["summary"]["converged"], 2);
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
    assert!(!stderr.contains(&env.sim.root_sas_key()) && !stdout.contains(&env.sim.root_sas_key()), "the key never shows");
}
