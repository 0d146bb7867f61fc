//! `fleetgate report` end to end: the JSON shape, table / CSV / Markdown renderings, bulk reads only
//! (no write, no per-cluster read), and an out-of-scope `--subscription` as a usage error.

mod backfill_support;
mod common;

use backfill_support::*;
use common::*;
use serde_json::{Value, json};

fn report(sim: &fleetgate::sim::SimHandle, format: &str) -> String {
    let out = fleetgate_cli(sim, &["report", "--format", format], &[]);
    assert_eq!(out.status.code(), Some(3), "blocked and excluded clusters: exit 3; stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn row<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["clusters"].as_array().unwrap().iter().find(|r| r["cluster"].as_str().unwrap().ends_with(&format!("/{name}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_shape_rows_and_totals_from_bulk_reads_only() {
    let sim = mixed_sim().await;
    let v: Value = serde_json::from_str(&report(&sim, "json")).unwrap();
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(top, ["schema_version", "command", "clusters", "totals", "subscriptions", "warnings"]);
    assert_eq!((v["schema_version"].as_u64(), v["command"].as_str()), (Some(1), Some("report")));
    assert_eq!(v["totals"], json!({"clusters": 7, "compliant": 1, "changes_needed": 3, "blocked": 2, "excluded": 1, "unreadable": 0}));
    assert_eq!(
        v["subscriptions"],
        json!([
            {"subscription": SUB1, "clusters": 5, "compliant": 1, "changes_needed": 2, "blocked": 2,
             "blocked_by_code": {"kubernetes_version_unsupported": 1, "oidc_issuer_disabled": 1}, "excluded": 0, "failed": 0},
            {"subscription": SUB2, "clusters": 2, "compliant": 0, "changes_needed": 1, "blocked": 0,
             "blocked_by_code": {}, "excluded": 1, "failed": 0}
        ])
    );
    let rows = v["clusters"].as_array().unwrap();
    for r in rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "cluster",
                "status",
                "identity",
                "identity_exists",
                "registries_wired",
                "registries_missing",
                "actions",
                "blockers",
                "error",
                "detail"
            ]
        );
        assert!(!r["cluster"].as_str().unwrap().contains(SUB3));
    }
    let acr = |sub: &str, n: &str| {
        json!(format!("/subscriptions/{sub}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/{n}"))
    };
    let ok = row(&v, "aks-compliant");
    assert_eq!((&ok["status"], &ok["identity_exists"]), (&json!("compliant"), &json!(true)));
    assert_eq!(ok["registries_wired"], json!([acr(SUB1, "acrone")]));
    assert_eq!(ok["registries_missing"], json!([]));
    let fresh = row(&v, "aks-fresh");
    assert_eq!(fresh["status"], "changes_needed");
    assert_eq!(fresh["registries_missing"], json!([acr(SUB1, "acrone"), acr(SUB2, "acrtwo")]));
    assert_eq!(
        fresh["actions"],
        json!([
            "enable_defender_plan",
            "create_identity",
            "create_federated_credential",
            "assign_acr_pull",
            "assign_acr_pull",
            "update_security_gating"
        ])
    );
    assert!(fresh["identity"].as_str().unwrap().ends_with("/userAssignedIdentities/aks-fresh-defender-gating"));
    let old = row(&v, "aks-old");
    assert_eq!(old["blockers"][0]["code"], "kubernetes_version_unsupported");
    assert!(old["blockers"][0]["message"].as_str().unwrap().contains("az aks upgrade"), "the blocker says how to fix it");
    assert_eq!(row(&v, "aks-nooidc")["blockers"][0]["code"], "oidc_issuer_disabled");
    assert_eq!(row(&v, "aks-excluded")["status"], "excluded");

    let journal = sim.journal();
    assert!(journal.iter().all(|e| !e.is_write()), "a report never writes");
    assert!(per_cluster_reads(&journal).is_empty(), "bulk reads only");
    assert!(!touched(&journal, SUB3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_csv_and_markdown_renderings() {
    let sim = mixed_sim().await;
    let table = report(&sim, "table");
    assert!(table.lines().next().unwrap().starts_with("SUBSCRIPTION"), "the roll-up comes first: {table}");
    assert!(table.contains("\nSTATUS          CLUSTER"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 120), "{table}");
    assert!(table.contains("assign_acr_pull ×2"), "repeats counted: {table}");
    assert!(table.contains("cannot be discovered (fleetgate never reads there)"), "{table}");
    assert_eq!(table.lines().filter(|l| l.starts_with("blocked ")).count(), 2, "{table}");
    assert!(table.contains("7 clusters: 1 compliant, 3 changes needed, 2 blocked, 1 excluded, 0 unreadable"));
    assert!(
        table.contains("Fixes:")
            && table.contains("…0001/rg-b/aks-nooidc [oidc_issuer_disabled]")
            && table.contains("--enable-oidc-issuer")
    );

    let csv = report(&sim, "csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 8, "header + one line per cluster: {csv}");
    assert!(lines[0].starts_with("cluster,status,identity,"));
    assert!(lines[1..].iter().all(|l| l.starts_with("/subscriptions/")));
    let compliant = lines.iter().find(|l| l.contains("/aks-compliant,")).unwrap();
    assert!(compliant.contains(",compliant,") && compliant.contains(",true,"), "{compliant}");

    let md = report(&sim, "markdown");
    assert!(md.starts_with("| Subscription | Clusters |"), "{md}");
    assert!(md.contains("| Status | Cluster | Subscription | Registries wired | Registries missing | Identity | To do / fix |\n|---|"));
    assert_eq!(md.lines().filter(|l| l.starts_with("| ") && l.contains(" | `rg-")).count(), 7, "{md}");
    assert!(md.contains("**Totals:** 7 clusters") && md.contains("**kubernetes_version_unsupported**"));
    assert!(sim.journal().iter().all(|e| !e.is_write()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_scope_subscription_is_a_usage_error() {
    let sim = mixed_sim().await;
    let out = fleetgate_cli(&sim, &["report", "--subscription", SUB3], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(SUB3));
    let out = fleetgate_cli(&sim, &["report", "--format", "yaml"], &[]);
    assert_eq!(out.status.code(), Some(2), "clap rejects an unknown format");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_resource_group_filters_narrow_rows_totals_and_rollup() {
    let sim = mixed_sim().await;
    let out = fleetgate_cli(&sim, &["report", "-o", "json", "--status", "blocked"], &[]);
    assert_eq!(out.status.code(), Some(3));
    let v = stdout_json(&out);
    let names: Vec<&str> =
        v["clusters"].as_array().unwrap().iter().map(|r| r["cluster"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["aks-old", "aks-nooidc"]);
    assert_eq!(v["totals"]["clusters"], 2);
    assert_eq!(v["subscriptions"].as_array().unwrap().len(), 1, "only SUB1 has blocked clusters");

    let out = fleetgate_cli(&sim, &["report", "-o", "json", "--status", "compliant,changes_needed", "-g", "RG-A"], &[]);
    assert_eq!(out.status.code(), Some(0), "nothing blocked among them: {}", String::from_utf8_lossy(&out.stderr));
    let v = stdout_json(&out);
    let names: Vec<&str> =
        v["clusters"].as_array().unwrap().iter().map(|r| r["cluster"].as_str().unwrap().rsplit('/').next().unwrap()).collect();
    assert_eq!(names, ["aks-compliant", "aks-fresh"]);

    let out = fleetgate_cli(&sim, &["report", "--subscription", SUB2, "--resource-group", "rg-c", "--status", "excluded"], &[]);
    assert_eq!(out.status.code(), Some(3));
    let table = String::from_utf8(out.stdout).unwrap();
    let rollup_row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(rollup_row, [SUB2, "1", "0", "0", "0", "1", "0"], "{table}");
    assert_eq!(table.lines().filter(|l| l.starts_with("excluded ")).count(), 1, "{table}");
    assert!(sim.journal().iter().all(|e| !e.is_write()));

    let out = fleetgate_cli(&sim, &["report", "--status", "wrong"], &[]);
    assert_eq!(out.status.code(), Some(2), "clap rejects an unknown status");
}
