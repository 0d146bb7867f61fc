//! Header pacing (`azure.header_pacing`) against the simulator's ARM buckets (on by default, as in
//! Azure): two independent clients — two replicas of one principal that cannot see each other —
//! hammer one subscription's read bucket (250 + 25/s). Paced, neither is answered 429; unpaced, the
//! same load is.

mod common;

use std::time::Duration;

use fleetgate::arm::{ArmClient, ArmStats};
use fleetgate::config::Settings;
use futures::StreamExt;

use common::fleet::FleetToml;
use common::{SUB1, arm_client, settings_for, start_sim};

const MANAGED_CLUSTERS: &str = "2026-08-01";

/// Two clients, `per_client` GETs each, eight at a time per client; their stats.
async fn hammer(settings: &Settings, per_client: usize) -> (ArmStats, ArmStats) {
    let (a, b) = (arm_client(settings), arm_client(settings));
    tokio::join!(reads(a, per_client), reads(b, per_client))
}

async fn reads(client: ArmClient, n: usize) -> ArmStats {
    futures::stream::iter(0..n)
        .for_each_concurrent(8, |i| {
            let client = client.clone();
            async move {
                let path = format!("/subscriptions/{SUB1}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/none-{i}");
                match client.get(&path, MANAGED_CLUSTERS).await {
                    Ok(found) => assert!(found.is_none(), "{path}"),
                    Err(e) => assert_eq!(e.status(), Some(429), "{path}: {e}"),
                }
            }
        })
        .await;
    client.stats()
}

/// A simulator (ARM throttling on, its default) and settings for it. Unpaced runs give up at the
/// first 429 so the test does not wait out the bucket.
async fn settings(header_pacing: bool) -> (fleetgate::sim::SimHandle, Settings) {
    let sim = start_sim(&FleetToml::new().sim(&[]).subscription(SUB1, "off", &[]).build()).await;
    let mut s = settings_for(&sim, &[SUB1]);
    s.azure.header_pacing = header_pacing;
    s.azure.retry.max_attempts = if header_pacing { 8 } else { 1 };
    (sim, s)
}

#[tokio::test]
async fn two_paced_replicas_share_one_bucket_without_a_429() {
    let (sim, s) = settings(true).await;
    let (a, b) = hammer(&s, 150).await;
    assert_eq!((a.throttled, b.throttled), (0, 0), "{a:?} {b:?}");
    assert_eq!(a.reads + b.reads, 300, "every request sent once");
    assert!(a.paced + b.paced > Duration::ZERO, "300 reads overdraw 250 + 25/s unless paced: {a:?} {b:?}");
    let throttled = sim.journal().iter().filter(|e| e.status == 429).count();
    assert_eq!(throttled, 0);
}

#[tokio::test]
async fn the_same_load_unpaced_is_throttled() {
    let (_sim, s) = settings(false).await;
    let (a, b) = hammer(&s, 150).await;
    assert!(a.throttled + b.throttled > 0, "{a:?} {b:?}");
    assert_eq!(a.paced + b.paced, Duration::ZERO);
}
