//! What a backfill run did: per-cluster results, the JSON summary
//! `{"clusters", "compliant", "converged", "blocked", "excluded", "failed", "writes", "arm_requests",
//! "throttled", "duration_s"}` (plus `changes_needed` on a dry run and `enqueued` in enqueue mode, the
//! two outcomes the ten keys cannot express), the whole `backfill --output json` document around it
//! ([`RunReport::json_document`]: `schema_version`, per-cluster `results`, `interrupted`,
//! `not_reached`, the subscription-wide changes) and the text table printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::changes::{Changes, action_summary};
use crate::core::{ActionKind, Blocker};
use crate::id::ResourceId;

/// `schema_version` of every `--output json` document (`docs/schemas/`).
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;

/// How a backfill reconciles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// This process reconciles, paced by the budget.
    Direct,
    /// One reconcile command per cluster goes to the queue; the workers reconcile.
    Enqueue,
}

/// One cluster's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterStatus {
    /// Nothing was needed.
    Compliant,
    /// Writes were made and the cluster is compliant.
    Converged,
    /// Blockers prevent any write.
    Blocked,
    /// Opted out by tag.
    Excluded,
    /// Could not be converged (see the detail).
    Failed,
    /// Dry run: would be changed (direct) or enqueued (enqueue).
    ChangesNeeded,
    /// A reconcile command was sent.
    Enqueued,
    /// `--plan FILE`: refused, it changed since the plan was made (nothing written; see the detail).
    ChangedSincePlan,
    /// Interrupted: never started (nothing written; a re-run takes it).
    NotReached,
    /// Interrupted while in flight and abandoned after the grace period (a re-run finishes it).
    Interrupted,
}

impl ClusterStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::Converged => "converged",
            Self::Blocked => "blocked",
            Self::Excluded => "excluded",
            Self::Failed => "failed",
            Self::ChangesNeeded => "changes_needed",
            Self::Enqueued => "enqueued",
            Self::ChangedSincePlan => "changed_since_plan",
            Self::NotReached => "not_reached",
            Self::Interrupted => "interrupted",
        }
    }
}

/// One cluster's line in the results (`results[]` of the JSON document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterResult {
    /// The cluster.
    pub cluster: ResourceId,
    /// Its outcome.
    pub status: ClusterStatus,
    /// Action kinds planned (dry run, or not yet run) or run (applied or found already present).
    pub actions: Vec<ActionKind>,
    /// Writes applied.
    pub writes: usize,
    /// Blockers, each with its code and fix.
    pub blockers: Vec<Blocker>,
    /// The blocker, error or plan in one line.
    pub detail: Option<String>,
}

impl ClusterResult {
    /// A result without actions or blockers.
    pub fn new(cluster: ResourceId, status: ClusterStatus, detail: Option<String>) -> Self {
        Self { cluster, status, actions: Vec::new(), writes: 0, blockers: Vec::new(), detail }
    }
}

/// The JSON summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Clusters processed.
    pub clusters: usize,
    /// Compliant without any write.
    pub compliant: usize,
    /// Converged with writes.
    pub converged: usize,
    /// Blocked.
    pub blocked: usize,
    /// Excluded by tag.
    pub excluded: usize,
    /// Failed.
    pub failed: usize,
    /// ARM write requests sent (attempts, retries included).
    pub writes: u64,
    /// ARM requests sent (reads, writes, Resource Graph queries, LRO polls; retries included).
    pub arm_requests: u64,
    /// 429 answers.
    pub throttled: u64,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// Dry run only: clusters that would be changed (or enqueued).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_needed: Option<usize>,
    /// Enqueue mode only: commands sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueued: Option<usize>,
}

impl Summary {
    /// Counts the statuses of `results`.
    pub fn count(results: &[ClusterResult], mode: Mode, dry_run: bool) -> Self {
        let n = |s: ClusterStatus| results.iter().filter(|r| r.status == s).count();
        Self {
            clusters: results.len(),
            compliant: n(ClusterStatus::Compliant),
            converged: n(ClusterStatus::Converged),
            blocked: n(ClusterStatus::Blocked),
            excluded: n(ClusterStatus::Excluded),
            failed: n(ClusterStatus::Failed),
            changes_needed: dry_run.then(|| n(ClusterStatus::ChangesNeeded)),
            enqueued: (mode == Mode::Enqueue).then(|| n(ClusterStatus::Enqueued)),
            ..Self::default()
        }
    }
}

/// Everything a run measured (the summary plus what a benchmark needs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// A first SIGINT/SIGTERM stopped the run early (see the `not_reached` and `interrupted` results).
    pub interrupted: bool,
    /// What the run was to write (planned; the subscription-wide changes listed once each).
    pub changes: Changes,
    /// Mode.
    pub mode: Mode,
    /// Dry run.
    pub dry_run: bool,
    /// The JSON summary.
    pub summary: Summary,
    /// Per-cluster results, sorted by cluster ID.
    pub clusters: Vec<ClusterResult>,
    /// ARM requests by `METHOD kind` (attempts).
    pub requests_by_kind: BTreeMap<String, u64>,
    /// ARM read requests.
    pub reads: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Distinct writes the bulk plans listed (a subscription's Defender plan counted once).
    pub planned_writes: u64,
    /// Writes applied (actions with outcome `applied`; "already present" and retries excluded).
    /// `applied_writes / planned_writes` is the write amplification.
    pub applied_writes: u64,
    /// Seconds requests waited for the budget (summed over concurrent requests).
    pub paced_s: f64,
    /// Reads that failed without stopping the run.
    pub warnings: Vec<String>,
}

impl RunReport {
    /// True when no cluster failed (exit code 0).
    pub fn succeeded(&self) -> bool {
        self.summary.failed == 0
    }

    /// Clusters with `status`.
    pub fn count(&self, status: ClusterStatus) -> usize {
        self.clusters.iter().filter(|r| r.status == status).count()
    }

    /// The clusters never started because of an interrupt.
    pub fn not_reached(&self) -> Vec<&ResourceId> {
        self.clusters.iter().filter(|r| r.status == ClusterStatus::NotReached).map(|r| &r.cluster).collect()
    }

    /// The `backfill --output json` document: `schema_version`, the summary's keys, `mode`, `dry_run`,
    /// `interrupted`, `not_reached`, `changed_since_plan`, `subscription_changes`, `warnings` and the
    /// per-cluster `results` (`docs/schemas/backfill.schema.json`).
    pub fn json_document(&self) -> Value {
        let mut doc = serde_json::Map::new();
        doc.insert("schema_version".into(), json!(OUTPUT_SCHEMA_VERSION));
        doc.insert("command".into(), json!("backfill"));
        if let Ok(Value::Object(summary)) = serde_json::to_value(&self.summary) {
            doc.extend(summary);
        }
        doc.insert("mode".into(), json!(self.mode));
        doc.insert("dry_run".into(), json!(self.dry_run));
        doc.insert("interrupted".into(), json!(self.interrupted));
        doc.insert("not_reached".into(), json!(self.not_reached()));
        doc.insert("changed_since_plan".into(), json!(self.count(ClusterStatus::ChangedSincePlan)));
        doc.insert("subscription_changes".into(), json!(self.changes.subscriptions));
        doc.insert("warnings".into(), json!(self.warnings));
        doc.insert("results".into(), json!(self.clusters));
        Value::Object(doc)
    }

    /// The summary table printed at the end of a text run.
    pub fn render_text(&self) -> String {
        let s = &self.summary;
        let mode = match self.mode {
            Mode::Direct => "direct",
            Mode::Enqueue => "enqueue",
        };
        let dry = if self.dry_run { ", dry run: nothing written" } else { "" };
        let mut out = format!("\nfleetgate backfill ({mode}{dry}): {} clusters in {:.1}s\n\n", s.clusters, s.duration_s);
        let mut rows = vec![
            ("compliant", s.compliant),
            ("converged", s.converged),
            ("blocked", s.blocked),
            ("excluded", s.excluded),
            ("failed", s.failed),
        ];
        if let Some(n) = s.changes_needed {
            rows.push((if self.mode == Mode::Enqueue { "to enqueue" } else { "changes needed" }, n));
        }
        if let Some(n) = s.enqueued {
            rows.push(("enqueued", n));
        }
        for status in [ClusterStatus::ChangedSincePlan, ClusterStatus::Interrupted, ClusterStatus::NotReached] {
            let n = self.count(status);
            if n > 0 {
                rows.push((status_label(status), n));
            }
        }
        for (label, n) in rows {
            let _ = writeln!(out, "  {label:<15}{n:>7}");
        }
        let _ = writeln!(
            out,
            "\n  ARM requests {} (reads {}, writes {}), retries {}, throttled (429) {}, paced {:.1}s",
            s.arm_requests, self.reads, s.writes, self.retries, s.throttled, self.paced_s
        );
        if !self.requests_by_kind.is_empty() {
            let kinds: Vec<String> = self.requests_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(out, "  by kind: {}", kinds.join(", "));
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let attention: Vec<&ClusterResult> = self
            .clusters
            .iter()
            .filter(|r| matches!(r.status, ClusterStatus::Failed | ClusterStatus::Blocked | ClusterStatus::ChangedSincePlan))
            .collect();
        if !attention.is_empty() {
            let _ = writeln!(out, "\n  needs attention:");
            for r in attention {
                let status = match r.status {
                    ClusterStatus::Failed => "failed ",
                    ClusterStatus::Blocked => "blocked",
                    _ => "changed",
                };
                let _ = writeln!(out, "    {status} {}\n            {}", r.cluster, r.detail.as_deref().unwrap_or(""));
            }
        }
        if self.interrupted {
            let _ = writeln!(
                out,
                "\n  interrupted: {} clusters not reached, {} abandoned in flight; run the same backfill again to finish (every write is idempotent)",
                self.count(ClusterStatus::NotReached),
                self.count(ClusterStatus::Interrupted)
            );
        }
        out
    }
}

/// The label of a status row in the text table.
fn status_label(status: ClusterStatus) -> &'static str {
    match status {
        ClusterStatus::ChangedSincePlan => "changed (plan)",
        ClusterStatus::NotReached => "not reached",
        ClusterStatus::Interrupted => "interrupted",
        other => other.as_str(),
    }
}

/// One line for a cluster's progress note: `converged /subscriptions/… (3 writes): detail`.
pub fn result_note(r: &ClusterResult) -> String {
    let what = if r.writes > 0 || r.actions.is_empty() { format!("{} writes", r.writes) } else { action_summary(&r.actions) };
    match &r.detail {
        Some(d) => format!("{} {} ({what}): {d}", r.status.as_str(), r.cluster),
        None => format!("{} {} ({what})", r.status.as_str(), r.cluster),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(name: &str, status: ClusterStatus) -> ClusterResult {
        let id = format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
        );
        ClusterResult::new(ResourceId::parse(&id).unwrap(), status, Some(format!("{name} detail")))
    }

    #[test]
    fn json_summary_has_exactly_the_documented_keys_in_order() {
        let results = [result("a", ClusterStatus::Compliant), result("b", ClusterStatus::Converged), result("c", ClusterStatus::Failed)];
        let mut s = Summary::count(&results, Mode::Direct, false);
        (s.writes, s.arm_requests, s.throttled, s.duration_s) = (5, 40, 0, 1.5);
        let v = serde_json::to_value(&s).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["clusters", "compliant", "converged", "blocked", "excluded", "failed", "writes", "arm_requests", "throttled", "duration_s"]
        );
        assert_eq!(v["clusters"], json!(3));
        assert_eq!(v["failed"], json!(1));
        let dry = serde_json::to_value(Summary::count(&results, Mode::Direct, true)).unwrap();
        assert_eq!(dry["changes_needed"], json!(0));
        assert!(dry.get("enqueued").is_none());
        let enq = serde_json::to_value(Summary::count(&[result("x", ClusterStatus::Enqueued)], Mode::Enqueue, false)).unwrap();
        assert_eq!(enq["enqueued"], json!(1));
    }

    #[test]
    fn text_lists_counts_kinds_and_what_needs_attention() {
        let clusters =
            vec![result("ok", ClusterStatus::Compliant), result("old", ClusterStatus::Blocked), result("bad", ClusterStatus::Failed)];
        let report = RunReport {
            interrupted: false,
            changes: Changes::default(),
            mode: Mode::Direct,
            dry_run: false,
            summary: Summary::count(&clusters, Mode::Direct, false),
            clusters,
            requests_by_kind: BTreeMap::from([("GET managedClusters".to_string(), 3)]),
            reads: 3,
            retries: 0,
            planned_writes: 0,
            applied_writes: 0,
            paced_s: 0.0,
            warnings: vec!["pricing of s failed".into()],
        };
        let text = report.render_text();
        assert!(text.contains("compliant            1") && text.contains("failed               1"), "{text}");
        assert!(text.contains("by kind: GET managedClusters 3"));
        assert!(text.contains("blocked /subscriptions/") && text.contains("old detail") && text.contains("bad detail"));
        assert!(text.contains("warning: pricing of s failed"));
        assert!(!report.succeeded());
    }

    #[test]
    fn the_json_document_carries_schema_version_results_and_the_interrupt() {
        let clusters =
            vec![result("a", ClusterStatus::Converged), result("b", ClusterStatus::NotReached), result("c", ClusterStatus::Blocked)];
        let report = RunReport {
            interrupted: true,
            changes: Changes::default(),
            mode: Mode::Direct,
            dry_run: false,
            summary: Summary::count(&clusters, Mode::Direct, false),
            clusters,
            requests_by_kind: BTreeMap::new(),
            reads: 0,
            retries: 0,
            planned_writes: 0,
            applied_writes: 0,
            paced_s: 0.0,
            warnings: vec![],
        };
        let v = report.json_document();
        assert_eq!(v["schema_version"], json!(OUTPUT_SCHEMA_VERSION));
        assert_eq!((v["interrupted"].as_bool(), v["clusters"].as_u64()), (Some(true), Some(3)));
        assert_eq!(v["not_reached"], json!([report.clusters[1].cluster.as_str()]));
        assert_eq!(v["results"][2]["status"], "blocked");
        assert!(v["results"][0]["actions"].is_array() && v["results"][0]["blockers"].is_array());
        let text = report.render_text();
        assert!(text.contains("not reached          1") && text.contains("interrupted: 1 clusters not reached"), "{text}");
    }
}
