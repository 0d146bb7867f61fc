//! Enqueue mode and drift resync through the simulator's Service Bus queue (duplicate detection on):
//! one command per cluster needing work, re-runs with the same run ID dedupe; two resync "replicas" in
//! one window send each cluster once; a resync command repairs a removed credential and a removed
//! gating entry that the bulk observation cannot see or must not trust.

mod backfill_support;
mod common;

use std::time::Duration;

use backfill_support::*;
use common::faults::fault;
use common::queue::sas_queue;
use common::*;
use fleetgate::dispatch::{Dispatcher, MessageOutcome};
use fleetgate::fleet::commands::backfill_message_id;
use fleetgate::fleet::{BulkOptions, FicMode, Mode, enumerate_clusters, next_resync, reconcile_messages, window_start};
use fleetgate::id::ResourceId;
use fleetgate::queue::{Received, ServiceBusQueue};
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use serde_json::json;
use time::OffsetDateTime;

async fn env() -> TestEnv {
    start(&mixed_fleet(), &[SUB1, SUB2], |_| {}).await
}

fn ids_in_queue(env: &TestEnv) -> Vec<String> {
    env.sim.peek_all(EVENTS_QUEUE).unwrap().into_iter().map(|p| p.message.message_id).collect()
}

#[tokio::test]
async fn enqueue_sends_one_command_per_cluster_and_reruns_with_the_same_run_id_dedupe() {
    let env = env().await;
    let (b, q, sel) = (backfill(&env), sas_queue(&env), selection(&env, &[]));
    let mut options = direct();
    options.mode = Mode::Enqueue;
    let first = run(&b, &sel, &options, Some(&q)).await;
    assert_eq!(first.summary.enqueued, Some(3), "{}", first.render_text());
    assert_eq!((first.summary.compliant, first.summary.blocked, first.summary.excluded, first.summary.writes), (1, 2, 1, 0));
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(3));
    let expected: Vec<String> = to_converge().iter().map(|c| backfill_message_id(&ResourceId::parse(c).unwrap(), "run-1")).collect();
    let mut got = ids_in_queue(&env);
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want, "MessageId = cluster + run ID");
    let batches = env.sim.journal().iter().filter(|e| e.method == "POST" && e.path.ends_with("/messages")).count();
    assert_eq!(batches, 1, "one batch send (batch_size {})", env.settings.backfill.batch_size);

    run(&b, &sel, &options, Some(&q)).await;
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(3), "same run ID: the queue drops the repeats");

    options.all = true;
    let all = run(&b, &sel, &options, Some(&q)).await;
    assert_eq!(all.summary.enqueued, Some(7), "--all: every cluster in scope");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(7), "3 repeats dropped, 4 new");

    options.run_id = "run-2".into();
    options.all = false;
    options.dry_run = true;
    let dry = run(&b, &sel, &options, None).await;
    assert_eq!((dry.summary.enqueued, dry.summary.changes_needed), (Some(0), Some(3)));
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(7), "a dry run sends nothing");

    let bodies: Vec<serde_json::Value> =
        env.sim.peek_all(EVENTS_QUEUE).unwrap().iter().map(|p| serde_json::from_slice(&p.message.body).unwrap()).collect();
    assert!(bodies.iter().all(|b| b["type"] == "io.fleetgate.reconcile" && b["specversion"] == "1.0"));
    assert!(bodies.iter().all(|b| !b["subject"].as_str().unwrap().contains(SUB3)));
}

#[tokio::test]
async fn resync_messages_of_two_replicas_in_one_window_dedupe() {
    let env = env().await;
    let clusters = enumerate_clusters(env.engine.arm(), &selection(&env, &[])).await.unwrap();
    assert_eq!(clusters.len(), 7);
    let interval = Duration::from_secs(6 * 3600);
    // Both replicas plan from the start of a window (before any fire slot), with opposite jitter.
    let now = window_start(OffsetDateTime::now_utc(), interval) + Duration::from_secs(60);
    let (fire_a, window_a) = next_resync(now, interval, 0.05, None);
    let (fire_b, window_b) = next_resync(now + Duration::from_secs(1), interval, 0.95, None);
    assert!(fire_b - fire_a > Duration::from_secs(3600), "the replicas fire over an hour apart");
    assert_eq!(window_a, window_b);
    let (replica_a, replica_b) = (sas_queue(&env), sas_queue(&env));
    replica_a.send_batch(&reconcile_messages(&clusters, window_a)).await.unwrap();
    replica_b.send_batch(&reconcile_messages(&clusters, window_b)).await.unwrap();
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(7), "one command per cluster survives");
    replica_b.send_batch(&reconcile_messages(&clusters, window_a + interval)).await.unwrap();
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(14), "the next window checks again");
}

/// Receives one message and hands it to the dispatcher, as the worker does.
async fn handle_next(q: &ServiceBusQueue, dispatcher: &Dispatcher) -> MessageOutcome {
    let Received::Message(m) = q.receive(Duration::ZERO).await.unwrap() else { panic!("expected a resync command") };
    let handled = dispatcher.handle(m.body().as_bytes()).await;
    m.complete().await.unwrap();
    handled.outcome
}

#[tokio::test]
async fn a_resync_command_repairs_a_removed_credential_and_a_removed_gating_entry() {
    let env = env().await;
    let cluster = ResourceId::parse(&cluster_id(SUB1, "rg-a", "aks-compliant")).unwrap();
    let arm = env.engine.arm();
    let versions = &env.settings.azure.api_versions;
    let identity = format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-compliant-defender-gating"
    );
    assert!(
        arm.delete(&format!("{identity}/federatedIdentityCredentials/defender-admission-controller"), &versions.managed_identity)
            .await
            .unwrap()
    );

    let sel = selection(&env, &[]);
    let bulk = |mode| BulkOptions { fic_mode: mode, max_clusters: None, concurrency: 2 };
    let trusted = fleetgate::fleet::bulk_plan(arm, &env.settings, env.engine.policy(), &sel, bulk(FicMode::Trust)).await.unwrap();
    let entry = trusted.items.iter().find(|e| e.cluster == cluster).unwrap();
    assert!(entry.plan().unwrap().is_compliant(), "the trusted bulk view cannot see a deleted credential");
    let verified = fleetgate::fleet::bulk_plan(arm, &env.settings, env.engine.policy(), &sel, bulk(FicMode::Verify)).await.unwrap();
    assert!(!verified.items.iter().find(|e| e.cluster == cluster).unwrap().plan().unwrap().is_compliant(), "--verify-fics sees it");

    let q = sas_queue(&env);
    let dispatcher = Dispatcher::new(env.engine.clone(), std::sync::Arc::new(env.settings.clone()));
    let (_, window) = next_resync(OffsetDateTime::now_utc(), Duration::from_secs(3600), 0.5, None);
    q.send_batch(&reconcile_messages(std::slice::from_ref(&cluster), window)).await.unwrap();
    env.sim.clear_journal();
    assert_eq!(handle_next(&q, &dispatcher).await, MessageOutcome::Converged);
    assert_eq!(ok_writes(&env.sim.journal()).len(), 1, "exactly the credential is written back");
    assert!(ok_writes(&env.sim.journal())[0].path.contains("/federatedIdentityCredentials/"));

    let resp = arm.get(cluster.as_str(), &versions.managed_clusters).await.unwrap().unwrap();
    let mut doc = resp.body.clone();
    doc["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!([]);
    let put = arm.put(cluster.as_str(), &versions.managed_clusters, &doc, resp.etag.as_deref()).await.unwrap();
    arm.wait_for_lro(&put).await.unwrap();
    q.send_batch(&reconcile_messages(std::slice::from_ref(&cluster), window + Duration::from_secs(3600))).await.unwrap();
    env.sim.clear_journal();
    assert_eq!(handle_next(&q, &dispatcher).await, MessageOutcome::Converged);
    let writes = ok_writes(&env.sim.journal()).into_iter().map(|e| e.path.clone()).collect::<Vec<_>>();
    assert_eq!(writes, vec![cluster.as_str().to_string()], "only the gating entry is put back");
    assert!(env.engine.plan(&cluster).await.unwrap().is_compliant());
}

#[tokio::test]
async fn a_failed_batch_says_how_many_were_sent_and_the_same_run_id_completes_the_rest() {
    let env = start(&mixed_fleet(), &[SUB1, SUB2], |s| s.backfill.batch_size = 2).await;
    let (b, q, sel) = (backfill(&env), sas_queue(&env), selection(&env, &[]));
    let mut options = direct();
    options.mode = Mode::Enqueue;
    env.sim.add_fault(fleetgate::sim::faults::FaultRule {
        status: Some(503),
        code: Some("ServerBusy".into()),
        count: Some(1),
        ..fault(Some("POST"), &format!("/sb/{EVENTS_QUEUE}/messages"))
    });
    let err =
        b.run(&sel, &options, Some(&q), &mut fleetgate::fleet::Progress::new(fleetgate::fleet::ProgressStyle::Quiet)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("0 of 3 reconcile commands were sent") && text.contains("--run-id run-1"), "{text}");
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(0));
    let retry = run(&b, &sel, &options, Some(&q)).await;
    assert_eq!(retry.summary.enqueued, Some(3));
    assert_eq!(env.sim.queue_depth(EVENTS_QUEUE), Some(3));
    let batches = env.sim.journal().iter().filter(|e| e.method == "POST" && e.path.ends_with("/messages")).count();
    assert_eq!(batches, 3, "the failed batch, then 2 + 1");
}
