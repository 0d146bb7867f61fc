//! Duplicate events for one cluster, handled at once, make exactly one set of writes.

use std::collections::HashSet;
use std::time::Duration;

use fleetgate::dispatch::MessageOutcome;

use crate::support::*;

#[tokio::test]
async fn four_copies_of_one_cluster_event_make_one_set_of_writes() {
    let env = env(|_| {}).await;
    for i in 0..4 {
        send_cluster_event(&env, "aks-a", &format!("copy-{i}"));
    }
    let mut worker = spawn(&env, sas(&env), options(4));
    let reports = worker.reports(4, Duration::from_secs(15)).await;
    let summary = worker.stop().await;
    assert_eq!(summary.count(MessageOutcome::Converged), 1, "{reports:?}");
    assert_eq!(summary.count(MessageOutcome::Compliant), 3, "the others find the cluster compliant: {reports:?}");

    let journal = env.sim.journal();
    let writes = writes(&journal);
    let distinct: HashSet<(String, String)> = writes.iter().map(|e| (e.method.clone(), e.path.to_ascii_lowercase())).collect();
    assert_eq!(distinct.len(), writes.len(), "no write repeated: {:?}", writes.iter().map(|e| (&e.method, &e.path)).collect::<Vec<_>>());
    assert_eq!(ok_writes_to(&journal, "/managedClusters/aks-a"), 1);
    assert_eq!(ok_writes_to(&journal, "/userAssignedIdentities/aks-a-defender-gating"), 2, "the identity and its federated credential");
    assert_eq!(ok_writes_to(&journal, "/roleAssignments/"), 1, "AcrPull on the one registry");
}
