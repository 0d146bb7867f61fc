//! Rendering a [`FleetReport`]: `table` (aligned text, then each blocker's fix), `json` (the report as
//! is), `csv` (one row per cluster; lists joined with `;`) and `markdown` (a table plus totals).

use std::fmt::Write as _;

use super::changes::action_summary;
use super::report::{FleetReport, ReportRow};
use super::report_rollup::rollup;
use crate::id::ResourceId;

/// Output format of `fleetgate report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The roll-up, then aligned columns that fit 120 characters.
    Table,
    /// `{"clusters": […], "totals": {…}, "subscriptions": […], "warnings": […]}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// GitHub-flavoured Markdown: the roll-up and the cluster table.
    Markdown,
    /// One self-contained HTML page (no scripts, fonts or requests from elsewhere).
    Html,
}

/// What a report cannot see, said in every human rendering.
pub const UNDISCOVERABLE_NOTE: &str = "Note: a registry in a subscription outside scope.subscriptions cannot be discovered (fleetgate never reads there), so a cluster that pulls from one reads \"compliant\" without it. Add that subscription to scope.subscriptions, or list the registry in gating.extra_registries (outside scope it is then reported as blocked, registry_out_of_scope, instead of silently missing).";

/// Renders the report.
pub fn render(report: &FleetReport, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => super::report_table::table(report),
        ReportFormat::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        ReportFormat::Csv => csv(report),
        ReportFormat::Markdown => markdown(report),
        ReportFormat::Html => super::report_html::html(report),
    }
}

/// `00000000…0001`: a subscription ID shortened for a table (the roll-up shows it in full).
pub(super) fn short_subscription(sub: &str) -> String {
    let chars: Vec<char> = sub.chars().collect();
    if chars.len() <= 14 {
        return sub.to_string();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `sub/rg/name` with the subscription shortened.
pub(super) fn short_cluster(id: &ResourceId) -> String {
    format!("{}/{}/{}", short_subscription(id.subscription_id()), id.resource_group().unwrap_or_default(), id.name())
}

fn names(ids: &[ResourceId]) -> String {
    ids.iter().map(|r| r.name().to_string()).collect::<Vec<_>>().join(", ")
}

/// Pending actions (repeats counted: `assign_acr_pull ×2`), or blocker codes, or the error.
pub(super) fn todo(r: &ReportRow) -> String {
    if let Some(e) = &r.error {
        return format!("unreadable: {e}");
    }
    if !r.blockers.is_empty() {
        return r.blockers.iter().map(|b| b.code.as_str()).collect::<Vec<_>>().join(", ");
    }
    let mut text = action_summary(&r.actions);
    if !r.registries_missing.is_empty() {
        let _ = write!(text, " (missing: {})", names(&r.registries_missing));
    }
    text
}

/// The gating identity: `exists`, `to create`, or `-`.
pub(super) fn identity_cell(r: &ReportRow) -> String {
    match &r.identity {
        Some(_) if r.identity_exists => "exists".to_string(),
        Some(_) => "to create".to_string(),
        None => "-".to_string(),
    }
}

fn identity_name(r: &ReportRow) -> String {
    match &r.identity {
        Some(id) if r.identity_exists => id.name().to_string(),
        Some(id) => format!("{} (to create)", id.name()),
        None => "-".to_string(),
    }
}

/// `7 clusters: 1 compliant, 3 changes needed, 2 blocked, 1 excluded, 0 unreadable`.
pub(super) fn totals_line(report: &FleetReport) -> String {
    let t = &report.totals;
    format!(
        "{} clusters: {} compliant, {} changes needed, {} blocked, {} excluded, {} unreadable",
        t.clusters, t.compliant, t.changes_needed, t.blocked, t.excluded, t.unreadable
    )
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value.to_string() }
}

fn ids(ids: &[ResourceId]) -> String {
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
        "| Subscription | Clusters | Compliant | Needs changes | Blocked | Blocked by code | Excluded | Failed |\n|---|--:|--:|--:|--:|---|--:|--:|\n",
    );
    let (subs, total) = rollup(&report.clusters);
    for s in subs.iter().chain(std::iter::once(&total)) {
        let name = if s.subscription == "total" { "**Total**".to_string() } else { format!("`{}`", s.subscription) };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            s.clusters,
            s.compliant,
            s.changes_needed,
            s.blocked,
            md(&s.codes_line()),
            s.excluded,
            s.failed
        );
    }
    out.push_str(
        "\n| Status | Cluster | Subscription | Registries wired | Registries missing | Identity | To do / fix |\n|---|---|---|---|---|---|---|\n",
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
            md(&format!("{}/{}", r.cluster.resource_group().unwrap_or_default(), r.cluster.name())),
            r.cluster.subscription_id(),
            md(&names(&r.registries_wired)),
            md(&names(&r.registries_missing)),
            md(&identity_name(r)),
            md(&fix)
        );
    }
    let _ = writeln!(out, "\n**Totals:** {}", totals_line(report));
    for w in &report.warnings {
        let _ = writeln!(out, "\n> warning: {}", md(w));
    }
    let _ = writeln!(out, "\n> {}", md(UNDISCOVERABLE_NOTE));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::report_fixture::fleet;

    #[test]
    fn csv_keeps_full_ids_one_line_per_cluster() {
        let report = fleet();
        let text = render(&report, ReportFormat::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), report.clusters.len() + 1);
        assert_eq!(lines[0], "cluster,status,identity,identity_exists,registries_wired,registries_missing,actions,blockers");
        assert!(lines[1..].iter().all(|l| l.starts_with("/subscriptions/")), "{text}");
        let fresh = lines.iter().find(|l| l.contains("/aks-prod-weu-01,")).unwrap();
        assert!(
            fresh.contains(",changes_needed,")
                && fresh.contains("create_identity;create_federated_credential;assign_acr_pull;assign_acr_pull;update_security_gating"),
            "{fresh}"
        );
        let blocked = lines.iter().find(|l| l.contains(",blocked,")).unwrap();
        assert!(blocked.contains(": cluster /subscriptions/"), "{blocked}");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn markdown_has_the_rollup_then_the_clusters_and_escapes_pipes() {
        let report = fleet();
        let text = render(&report, ReportFormat::Markdown);
        assert!(
            text.starts_with("| Subscription | Clusters | Compliant | Needs changes | Blocked | Blocked by code | Excluded | Failed |")
        );
        assert!(text.contains("| **Total** | 12 |"), "{text}");
        let statuses = ["| compliant |", "| changes_needed |", "| blocked |", "| excluded |", "| unreadable |"];
        assert_eq!(text.lines().filter(|l| statuses.iter().any(|s| l.starts_with(s))).count(), 12, "{text}");
        assert!(text.contains("**oidc_issuer_disabled**: cluster"), "{text}");
        assert!(text.contains("> Note: a registry in a subscription outside scope.subscriptions cannot be discovered"));
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn todo_counts_repeated_actions_and_names_missing_registries() {
        let report = fleet();
        let fresh = report.clusters.iter().find(|r| r.cluster.name() == "aks-prod-weu-01").unwrap();
        assert_eq!(
            todo(fresh),
            "create_identity, create_federated_credential, assign_acr_pull ×2, update_security_gating (missing: acrprodweu, acrshared)"
        );
        assert_eq!(short_subscription("00000000-0000-0000-0000-000000000001"), "00000000…0001");
        assert_eq!(short_cluster(&fresh.cluster), "00000000…0001/rg-prod-aks/aks-prod-weu-01");
    }
}
