//! Rendering a [`FleetReport`]: `table` (aligned text, then each blocker's fix), `json` (the report as
//! is), `csv` (one row per cluster; lists joined with `;`) and `markdown` (a table plus totals).

use std::fmt::Write as _;

use super::report::{FleetReport, ReportRow};

/// Output format of `fleetgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned columns for a terminal.
    Table,
    /// `{"clusters": […], "totals": {…}, "warnings": […]}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A GitHub-flavoured Markdown table.
    Markdown,
}

/// Renders the report.
pub fn render(report: &FleetReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => table(report),
        ReportFormat::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        ReportFormat::Csv => csv(report),
        ReportFormat::Markdown => markdown(report),
    }
}

fn short(id: &crate::id::ResourceId) -> String {
    format!("{}/{}", id.resource_group().unwrap_or_default(), id.name())
}

fn names(ids: &[crate::id::ResourceId]) -> String {
    ids.iter().map(|r| r.name().to_string()).collect::<Vec<_>>().join(", ")
}

/// Pending actions, or blocker codes, or the error — what the row is waiting for.
fn todo(r: &ReportRow) -> String {
    if let Some(e) = &r.error {
        return e.clone();
    }
    if !r.blockers.is_empty() {
        return r.blockers.iter().map(|b| b.code.as_str()).collect::<Vec<_>>().join(", ");
    }
    r.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
}

fn identity(r: &ReportRow) -> String {
    match &r.identity {
        Some(id) if r.identity_exists => id.name().to_string(),
        Some(id) => format!("{} (to create)", id.name()),
        None => "-".to_string(),
    }
}

fn totals_line(report: &FleetReport) -> String {
    let t = &report.totals;
    format!(
        "{} clusters: {} compliant, {} changes needed, {} blocked, {} excluded, {} unreadable",
        t.clusters, t.compliant, t.changes_needed, t.blocked, t.excluded, t.unreadable
    )
}

fn table(report: &FleetReport) -> String {
    let header = ["STATUS", "CLUSTER", "SUBSCRIPTION", "WIRED", "MISSING", "IDENTITY", "TO DO"].map(String::from);
    let mut rows = vec![header];
    for r in &report.clusters {
        rows.push([
            r.status.as_str().to_string(),
            short(&r.cluster),
            r.cluster.subscription_id().to_string(),
            names(&r.registries_wired),
            names(&r.registries_missing),
            identity(r),
            todo(r),
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out, "\n{}", totals_line(report));
    let blocked: Vec<&ReportRow> = report.clusters.iter().filter(|r| !r.blockers.is_empty()).collect();
    if !blocked.is_empty() {
        let _ = writeln!(out, "\nFixes:");
        for r in blocked {
            for b in &r.blockers {
                let _ = writeln!(out, "  {} [{}]\n    {}", short(&r.cluster), b.code, b.message);
            }
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value.to_string() }
}

fn ids(ids: &[crate::id::ResourceId]) -> String {
    ids.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(";")
}

fn csv(report: &FleetReport) -> String {
    let mut out = String::from("cluster,status,identity,identity_exists,registries_wired,registries_missing,actions,blockers\n");
    for r in &report.clusters {
        let blockers: Vec<String> = r.blockers.iter().map(|b| format!("{}: {}", b.code, b.message)).collect();
        let actions: Vec<&str> = r.actions.iter().map(|a| a.as_str()).collect();
        let fields = [
            r.cluster.to_string(),
            r.status.as_str().to_string(),
            r.identity.as_ref().map(ToString::to_string).unwrap_or_default(),
            r.identity_exists.to_string(),
            ids(&r.registries_wired),
            ids(&r.registries_missing),
            actions.join(";"),
            r.error.clone().unwrap_or_else(|| blockers.join(";")),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    }
    out
}

fn md(value: &str) -> String {
    value.replace('|', "\\|").replace('\n', " ")
}

fn markdown(report: &FleetReport) -> String {
    let mut out = String::from(
        "| Status | Cluster | Subscription | Registries wired | Registries missing | Identity | To do / fix |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &report.clusters {
        let fix = if r.blockers.is_empty() {
            todo(r)
        } else {
            r.blockers.iter().map(|b| format!("**{}**: {}", b.code, b.message)).collect::<Vec<_>>().join("<br>")
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            r.status.as_str(),
            md(&short(&r.cluster)),
            r.cluster.subscription_id(),
            md(&names(&r.registries_wired)),
            md(&names(&r.registries_missing)),
            md(&identity(r)),
            md(&fix)
        );
    }
    let _ = writeln!(out, "\n**Totals:** {}", totals_line(report));
    for w in &report.warnings {
        let _ = writeln!(out, "\n> warning: {}", md(w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ActionKind, Blocker};
    use crate::fleet::report::{ReportStatus, Totals};
    use crate::id::ResourceId;

    fn id(s: &str) -> ResourceId {
        ResourceId::parse(s).unwrap()
    }

    fn report() -> FleetReport {
        let sub = "00000000-0000-0000-0000-000000000001";
        let cluster =
            |n: &str| id(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{n}"));
        let acr = id(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1"));
        let mi = id(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a-gating"));
        let blocker = Blocker::cluster_not_found(&cluster("b"));
        let rows = vec![
            ReportRow {
                cluster: cluster("a"),
                status: ReportStatus::ChangesNeeded,
                identity: Some(mi),
                identity_exists: false,
                registries_wired: vec![],
                registries_missing: vec![acr],
                actions: vec![ActionKind::CreateIdentity, ActionKind::AssignAcrPull],
                blockers: vec![],
                error: None,
                detail: None,
            },
            ReportRow {
                cluster: cluster("b"),
                status: ReportStatus::Blocked,
                identity: None,
                identity_exists: false,
                registries_wired: vec![],
                registries_missing: vec![],
                actions: vec![],
                blockers: vec![blocker],
                error: None,
                detail: None,
            },
        ];
        let totals = Totals { clusters: 2, changes_needed: 1, blocked: 1, ..Totals::default() };
        FleetReport { clusters: rows, totals, warnings: vec![] }
    }

    #[test]
    fn table_aligns_and_lists_fixes() {
        let text = render(&report(), ReportFormat::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STATUS          CLUSTER"), "{text}");
        assert!(lines[1].contains("rg/a") && lines[1].contains("acr1") && lines[1].contains("a-gating (to create)"));
        assert!(lines[1].contains("create_identity, assign_acr_pull"));
        assert!(text.contains("2 clusters: 0 compliant, 1 changes needed, 1 blocked"));
        assert!(text.contains("Fixes:\n  rg/b [cluster_not_found]\n    cluster /subscriptions/"));
    }

    #[test]
    fn csv_quotes_fields_and_keeps_one_line_per_cluster() {
        let text = render(&report(), ReportFormat::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "cluster,status,identity,identity_exists,registries_wired,registries_missing,actions,blockers");
        assert!(lines[1].ends_with(",changes_needed,/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a-gating,false,,/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1,create_identity;assign_acr_pull,"));
        assert!(lines[2].contains(",blocked,") && lines[2].contains("cluster_not_found: cluster"));
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn markdown_escapes_pipes_and_shows_totals() {
        let text = render(&report(), ReportFormat::Markdown);
        assert!(text.starts_with("| Status | Cluster |"));
        assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 3);
        assert!(text.contains("**cluster_not_found**: cluster"));
        assert!(text.contains("**Totals:** 2 clusters"));
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }
}
