//! The fleet as the demo shows it: each cluster's plan status and which of its registries are wired into
//! `securityGating.identities`, before and after; the table; and the check that every convergeable
//! cluster converged.

use std::fmt::Write as _;

use serde_json::Value;

use crate::core::PlanStatus;
use crate::id::ResourceId;
use crate::reconcile::Engine;
use crate::sim::SimHandle;

/// One cluster at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// The plan's verdict, or why planning failed.
    pub status: Result<PlanStatus, String>,
    /// Registry names the cluster pulls from.
    pub used: Vec<String>,
    /// Registry names present in `securityGating.identities`.
    pub wired: Vec<String>,
}

impl ClusterView {
    /// The status label (`compliant`, `changes_needed`, …, `error`).
    pub fn label(&self) -> &'static str {
        match &self.status {
            Ok(PlanStatus::Compliant) => "compliant",
            Ok(PlanStatus::ChangesNeeded) => "changes_needed",
            Ok(PlanStatus::Blocked) => "blocked",
            Ok(PlanStatus::Excluded) => "excluded",
            Err(_) => "error",
        }
    }

    /// Used registries that are wired.
    pub fn wired_count(&self) -> usize {
        self.used.iter().filter(|u| self.wired.iter().any(|w| w.eq_ignore_ascii_case(u))).count()
    }
}

/// One table row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRow {
    /// The cluster.
    pub cluster: ResourceId,
    /// Before the worker ran.
    pub before: ClusterView,
    /// After.
    pub after: ClusterView,
}

/// Plans every cluster (GETs only) and reads its gating entries from the simulator.
pub async fn snapshot(engine: &Engine, sim: &SimHandle, clusters: &[ResourceId]) -> Vec<ClusterView> {
    let plans = futures::future::join_all(clusters.iter().map(|c| engine.plan(c))).await;
    clusters
        .iter()
        .zip(plans)
        .map(|(cluster, plan)| {
            let doc = sim.with_state(|s| s.cluster_document(cluster.as_str()));
            let wired = doc.as_ref().map(wired_registries).unwrap_or_default();
            match plan {
                Ok(plan) => {
                    ClusterView { status: Ok(plan.status), used: plan.registries.iter().map(|r| r.name().to_string()).collect(), wired }
                }
                Err(e) => ClusterView { status: Err(e.to_string()), used: Vec::new(), wired },
            }
        })
        .collect()
}

/// Registry names in a cluster document's `securityGating.identities` (login server, name or ID).
fn wired_registries(doc: &Value) -> Vec<String> {
    let Some(entries) = doc.pointer("/properties/securityProfile/defender/securityGating/identities").and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| e.get("azureContainerRegistry").and_then(Value::as_str))
        .map(|r| r.rsplit('/').next().unwrap_or(r).split('.').next().unwrap_or(r).to_string())
        .collect()
}

/// What is wrong after the run: a cluster that could converge but is not compliant with all its
/// registries wired, a blocked/excluded one whose status changed, the attached registry not wired.
pub fn problems(rows: &[ClusterRow], attached: Option<(&ResourceId, &str)>) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        let name = row.cluster.name();
        match &row.before.status {
            Ok(s @ (PlanStatus::Blocked | PlanStatus::Excluded)) if row.after.status != Ok(*s) => {
                out.push(format!("{name}: was {} and is now {}", row.before.label(), row.after.label()));
            }
            Ok(PlanStatus::Blocked | PlanStatus::Excluded) => {}
            _ if row.after.status != Ok(PlanStatus::Compliant) => {
                let why = row.after.status.as_ref().err().map_or(String::new(), |e| format!(" ({e})"));
                out.push(format!("{name}: convergeable but {} after the run{why}", row.after.label()));
            }
            _ if row.after.wired_count() != row.after.used.len() => {
                out.push(format!("{name}: {}/{} registries wired", row.after.wired_count(), row.after.used.len()));
            }
            _ => {}
        }
    }
    if let Some((cluster, registry)) = attached {
        let row = rows.iter().find(|r| &r.cluster == cluster);
        if !row.is_some_and(|r| r.after.wired.iter().any(|w| w.eq_ignore_ascii_case(registry))) {
            out.push(format!("{}: the registry attached during the demo ({registry}) is not wired", cluster.name()));
        }
    }
    out
}

/// The before/after table.
pub fn table(rows: &[ClusterRow]) -> String {
    let header = ["CLUSTER", "SUBSCRIPTION", "STATUS BEFORE → AFTER", "REGISTRIES WIRED"];
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|r| {
            let sub = r.cluster.subscription_id();
            let registries = if r.after.used.is_empty() { String::new() } else { format!("  ({})", r.after.used.join(", ")) };
            [
                r.cluster.name().to_string(),
                format!("…{}", &sub[sub.len().saturating_sub(4)..]),
                format!("{} → {}", r.before.label(), r.after.label()),
                format!(
                    "{}/{} → {}/{}{registries}",
                    r.before.wired_count(),
                    r.before.used.len(),
                    r.after.wired_count(),
                    r.after.used.len()
                ),
            ]
        })
        .collect();
    let width = |i: usize| cells.iter().map(|c| c[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    let mut line = |c: [&str; 4]| {
        let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
        let _ = writeln!(out, "  {}  {}  {}  {}", pad(c[0], widths[0]), pad(c[1], widths[1]), pad(c[2], widths[2]), c[3]);
    };
    line(header);
    for c in &cells {
        line([&c[0], &c[1], &c[2], &c[3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
        ))
        .unwrap()
    }

    fn view(status: PlanStatus, used: &[&str], wired: &[&str]) -> ClusterView {
        ClusterView {
            status: Ok(status),
            used: used.iter().map(|s| s.to_string()).collect(),
            wired: wired.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn wired_entries_are_read_in_any_reference_form() {
        let doc = serde_json::json!({"properties": {"securityProfile": {"defender": {"securityGating": {"identities": [
            {"azureContainerRegistry": "acrone.azurecr.io"},
            {"azureContainerRegistry": "acrtwo"},
            {"azureContainerRegistry": "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerRegistry/registries/acrthree"}
        ]}}}}});
        assert_eq!(wired_registries(&doc), ["acrone", "acrtwo", "acrthree"]);
        assert!(wired_registries(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn problems_and_table() {
        let ok = ClusterRow {
            cluster: id("aks-a"),
            before: view(PlanStatus::ChangesNeeded, &["acr1"], &[]),
            after: view(PlanStatus::Compliant, &["acr1", "acr2"], &["acr1.azurecr.io", "acr2"].map(|s| s.split('.').next().unwrap())),
        };
        let blocked =
            ClusterRow { cluster: id("aks-b"), before: view(PlanStatus::Blocked, &[], &[]), after: view(PlanStatus::Blocked, &[], &[]) };
        assert!(problems(&[ok.clone(), blocked.clone()], Some((&id("aks-a"), "acr2"))).is_empty());
        let mut half = ok.clone();
        half.after.wired.pop();
        assert_eq!(problems(&[half.clone()], None), ["aks-a: 1/2 registries wired"]);
        assert_eq!(problems(&[half], Some((&id("aks-a"), "acr2"))).len(), 2);
        let mut stuck = ok.clone();
        stuck.after.status = Err("HTTP 503".into());
        assert!(problems(&[stuck], None)[0].contains("convergeable but error after the run (HTTP 503)"));
        let mut changed = blocked.clone();
        changed.after.status = Ok(PlanStatus::Compliant);
        assert_eq!(problems(&[changed], None), ["aks-b: was blocked and is now compliant"]);
        let t = table(&[ok, blocked]);
        assert!(t.contains("changes_needed → compliant") && t.contains("0/1 → 2/2  (acr1, acr2)") && t.contains("…0001"), "{t}");
        assert_eq!(t.lines().count(), 3);
    }
}
