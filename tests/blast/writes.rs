//! Items 1 and 4 through the binary (the engine-level tests are in tests/write_guards.rs):
//!
//! - item 1: with `gating.identity_strategy = "kubelet"`, a kubelet identity in a subscription outside
//!   `scope.subscriptions` is the blocker `identity_out_of_scope` — in `plan`, `apply` and a backfill's
//!   bulk plan — and costs zero requests there;
//! - item 4: a cluster tagged `fleetgate.io/exclude` after fleetgate planned it (here: right after its
//!   federated credential was written) gets no cluster PUT — with and without eTags, since the tag is
//!   re-checked on the read that precedes the write.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fleetgate::sim::{JournalEntry, SimHandle};
use serde_json::json;

use crate::common::child::FleetgateCommand;
use crate::common::fleet::{attached, sub1_with_acrone};
use crate::common::{SUB1, SUB3, cluster_id, start_sim};
use crate::outside_scope;
use crate::proxy::{Answer, Exchange, Proxy};

const EXCLUDE: &str = "fleetgate.io/exclude";

/// ARM writes in the journal (Resource Graph queries are reads).
fn writes(journal: &[JournalEntry]) -> Vec<String> {
    journal.iter().filter(|e| e.is_arm() && !e.is_graph_query() && e.method != "GET").map(|e| format!("{} {}", e.method, e.path)).collect()
}

fn kubelet_fleet() -> String {
    let kubelet =
        format!("/subscriptions/{SUB3}/resourceGroups/rg-far/providers/Microsoft.ManagedIdentity/userAssignedIdentities/far-kubelet");
    sub1_with_acrone()
        .subscription(SUB3, "full", &[])
        .sim(&[])
        .cluster(SUB1, "rg-aks", "aks-far", &[&attached(["acrone"])])
        .raw(&format!("[clusters.kubelet_identity]\nresource_id = \"{kubelet}\"\n"))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item1_a_kubelet_identity_outside_scope_is_blocked_and_never_touched() {
    let sim = start_sim(&kubelet_fleet()).await;
    let cluster = cluster_id(SUB1, "rg-aks", "aks-far");
    let runs: [&[&str]; 3] = [
        &["plan", "--cluster", &cluster, "-o", "json"],
        &["apply", "--yes", "--cluster", &cluster, "-o", "json"],
        &["backfill", "--dry-run", "-o", "json"],
    ];
    for args in runs {
        let out = FleetgateCommand::new(&sim, &[SUB1]).env("FLEETGATE__GATING__IDENTITY_STRATEGY", "kubelet").args(args).output();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: blocked\n{stdout}\n{stderr}");
        assert!(stdout.contains("identity_out_of_scope") && stdout.contains("far-kubelet"), "{args:?}: {stdout}");
    }
    let journal = sim.journal();
    assert_eq!(outside_scope(&journal, &[SUB1]), Vec::<String>::new(), "requests outside the scope");
    assert_eq!(writes(&journal), Vec::<String>::new(), "a blocked cluster gets zero writes");
}

/// `aks-one` in SUB1, attached to `acrone`; eTags served or not.
fn optout_fleet(etags: bool) -> String {
    sub1_with_acrone().sim(&[&format!("cluster_etags = {etags}")]).cluster(SUB1, "rg-aks", "aks-one", &[&attached(["acrone"])]).build()
}

/// Tags the stored cluster as another tool would (a new eTag when it has one).
fn tag_excluded(sim: &SimHandle, cluster: &str) {
    let edited = sim.with_state(|s| s.edit_cluster_document(cluster, |doc| doc["tags"][EXCLUDE] = json!("true")));
    assert!(edited, "the cluster is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item4_a_cluster_tagged_after_planning_gets_no_cluster_put() {
    for etags in [false, true] {
        let sim = Arc::new(start_sim(&optout_fleet(etags)).await);
        let cluster = cluster_id(SUB1, "rg-aks", "aks-one");
        let (tagger, target, tagged) = (sim.clone(), cluster.clone(), Arc::new(AtomicBool::new(false)));
        let fired = tagged.clone();
        let tamper = Arc::new(move |x: &Exchange| {
            let fic_written = x.method == "PUT" && x.path.contains("/federatedIdentityCredentials/") && x.status < 300;
            if fic_written && !fired.swap(true, Ordering::SeqCst) {
                tag_excluded(&tagger, &target);
            }
            Answer::pass(x)
        });
        let proxy = Proxy::start(&sim.base_url(), tamper).await;
        let out = FleetgateCommand::new(&sim, &[SUB1])
            .env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", &proxy.base)
            .args(["apply", "--yes", "--cluster", &cluster, "-o", "json"])
            .output();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(tagged.load(Ordering::SeqCst), "eTags {etags}: the tag was set mid-apply\n{stdout}\n{stderr}");
        assert_eq!(out.status.code(), Some(3), "eTags {etags}: excluded\n{stdout}\n{stderr}");
        assert!(stdout.contains("excluded"), "eTags {etags}: {stdout}");
        let puts: Vec<String> = writes(&sim.journal()).into_iter().filter(|w| w.eq_ignore_ascii_case(&format!("PUT {cluster}"))).collect();
        assert_eq!(puts, Vec::<String>::new(), "eTags {etags}: no cluster PUT after the opt-out");
    }
}
