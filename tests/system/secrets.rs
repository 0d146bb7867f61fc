//! Item 6, secrets: `fleetgate run` at `FLEETGATE_LOG=trace` (text and JSON logs), with a SAS key, a
//! client secret and Entra tokens for ARM and Service Bus, through successes, a parked message, ARM
//! errors, a refused SAS key and a refused client secret. Nothing it prints — stdout or stderr — may
//! contain a SAS key, a SAS signature it presented, a client secret, or any token the simulator issued.

use std::time::Duration;

use fleetgate::events::{Schema, cluster_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage};

use crate::common::child::FleetgateCommand;
use crate::common::faults::fault;
use crate::common::{CLIENT_SECRET, SUB1, cluster_id, fleet, start};
use crate::proc::{Exited, Worker, run_env};

/// A SAS key the namespace does not know (valid base64, 32 bytes).
const WRONG_SAS_KEY: &str = "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3I=";
/// A client secret Entra refuses.
const WRONG_CLIENT_SECRET: &str = "wrong-client-secret-Zq8~value";

fn fleet() -> String {
    fleet::attached_clusters(&[], ["aks-s1", "aks-s2", "aks-s3", "aks-s4"])
}

fn cluster(name: &str) -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", name)).unwrap()
}

fn send(env: &crate::common::TestEnv, id: &str, body: String) {
    env.sim.send(EVENTS_QUEUE, NewMessage::new(body).message_id(id)).expect("queue");
}

/// Runs a worker until `stop_when` holds (or `max` passes), then SIGTERM.
async fn run_until(env: &FleetgateCommand, name: &str, max: Duration, mut stop_when: impl FnMut(&Worker) -> bool) -> Exited {
    let worker = Worker::start(env, name);
    let deadline = tokio::time::Instant::now() + max;
    while tokio::time::Instant::now() < deadline && !stop_when(&worker) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.drain().await
}

/// Every form a secret could take in output: as is, URL-encoded, and (for base64 keys) decoded.
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut out = vec![secret.to_string(), url::form_urlencoded::byte_serialize(secret.as_bytes()).collect()];
    if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(secret)
        && let Ok(text) = String::from_utf8(raw)
        && text.len() >= 16
    {
        out.push(text);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_never_contain_keys_signatures_secrets_or_tokens() {
    let env = start(&fleet(), &[SUB1], |_| {}).await;
    let base = run_env(&env.sim, &[SUB1]).env("FLEETGATE_LOG", "trace");
    send(&env, "s-1", cluster_write_event(&cluster("aks-s1"), Schema::EventGrid).to_string());
    send(&env, "s-2", "{\"truncated\": ".into());
    // One ARM error the worker logs (and retries), one it parks.
    env.sim.add_fault(FaultRule { status: Some(503), count: Some(3), ..fault(Some("GET"), "*/managedClusters/aks-s1") });
    let forbidden = FaultRule {
        status: Some(403),
        code: Some("AuthorizationFailed".into()),
        count: Some(1),
        ..fault(Some("GET"), "*/managedClusters/aks-s2")
    };
    env.sim.add_fault(forbidden);
    send(&env, "s-3", cluster_write_event(&cluster("aks-s2"), Schema::CloudEvents).to_string());
    let sas_text = run_until(&base, "sas-text", Duration::from_secs(30), |w| w.reports_now().len() >= 3).await;

    send(&env, "s-4", cluster_write_event(&cluster("aks-s3"), Schema::EventGrid).to_string());
    let entra = base.clone().env("FLEETGATE__QUEUE__AUTH", "entra").env("FLEETGATE__TELEMETRY__LOG_FORMAT", "json");
    let entra_json =
        run_until(&entra, "entra-json", Duration::from_secs(30), |w| w.reports_now().iter().any(|r| r["message"] == "s-4")).await;

    let wrong_key = base.clone().env("FLEETGATE_SAS_KEY", WRONG_SAS_KEY);
    let refused_key = run_until(&wrong_key, "wrong-sas-key", Duration::from_secs(3), |_| false).await;

    send(&env, "s-5", cluster_write_event(&cluster("aks-s4"), Schema::EventGrid).to_string());
    let wrong_secret = base.clone().env("AZURE_CLIENT_SECRET", WRONG_CLIENT_SECRET);
    let refused_secret = run_until(&wrong_secret, "wrong-client-secret", Duration::from_secs(20), |w| !w.reports_now().is_empty()).await;

    let outputs = [&sas_text, &entra_json, &refused_key, &refused_secret];
    let mut secrets: Vec<(String, String)> = Vec::new();
    for (what, value) in [
        ("SAS key", env.sim.root_sas_key()),
        ("refused SAS key", WRONG_SAS_KEY.to_string()),
        ("client secret", CLIENT_SECRET.to_string()),
        ("refused client secret", WRONG_CLIENT_SECRET.to_string()),
    ] {
        secrets.extend(forms(&value).into_iter().map(|f| (what.to_string(), f)));
    }
    let signatures = env.sim.sas_signatures_seen();
    let tokens = env.sim.issued_token_values();
    secrets.extend(signatures.iter().map(|s| ("SAS signature".to_string(), s.clone())));
    secrets.extend(tokens.iter().map(|t| ("token".to_string(), t.clone())));

    let mut leaks = Vec::new();
    let mut bytes = 0;
    for out in outputs {
        bytes += out.stdout.len() + out.stderr.len();
        for (what, secret) in &secrets {
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                if text.contains(secret.as_str()) {
                    leaks.push(format!("{} {stream} contains a {what}", out.name));
                }
            }
        }
    }
    let lines: usize = outputs.iter().map(|o| o.stderr.lines().count()).sum();
    println!(
        "secrets at trace level: {} processes, {lines} log lines ({bytes} bytes) searched for {} secret values (2 SAS keys, {} SAS signature values as sent and decoded, 2 client secrets, {} tokens; keys and secrets also URL-encoded and decoded): {} found",
        outputs.len(),
        secrets.len(),
        signatures.len(),
        tokens.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "{leaks:#?}");

    // The runs did what they were meant to, at trace level.
    assert!(sas_text.stderr.contains("TRACE"), "trace level was on: {}", crate::proc::tail(&sas_text.stderr, 2000));
    assert!(entra_json.stderr.contains("\"level\":\"TRACE\""), "JSON logs at trace level");
    let outcome =
        |e: &Exited, id: &str| e.reports().iter().find(|r| r["message"] == id).and_then(|r| r["outcome"].as_str().map(str::to_string));
    assert_eq!(outcome(&sas_text, "s-1").as_deref(), Some("converged"), "{}", sas_text.stdout);
    assert_eq!(outcome(&sas_text, "s-2").as_deref(), Some("rejected"));
    assert_eq!(outcome(&sas_text, "s-3").as_deref(), Some("failed"), "the 403 is parked");
    assert_eq!(outcome(&entra_json, "s-4").as_deref(), Some("converged"), "{}", entra_json.stdout);
    assert!(refused_key.stderr.contains("401"), "the refused key was logged as such: {}", crate::proc::tail(&refused_key.stderr, 2000));
    assert_eq!(outcome(&refused_secret, "s-5").as_deref(), Some("failed"), "{}", refused_secret.stdout);
    assert!(tokens.len() >= 2 && signatures.len() >= 2, "tokens {} signatures {}", tokens.len(), signatures.len());
    for e in outputs {
        assert_eq!(e.code, Some(0), "{} exits 0 after SIGTERM", e.name);
    }
}
