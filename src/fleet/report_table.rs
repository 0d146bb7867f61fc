//! `report --output table`: the per-subscription roll-up first, then one row per cluster in columns
//! that fit [`TABLE_WIDTH`] (cluster IDs shortened to `sub/rg/name`, repeated actions counted, long
//! cells cut with `…`; full IDs are in JSON and CSV), the totals, each blocker's fix, warnings, and
//! what a report cannot see.

use std::fmt::Write as _;

use super::report::{FleetReport, ReportRow};
use super::report_format::{UNDISCOVERABLE_NOTE, identity_cell, short_cluster, todo, totals_line};
use super::report_rollup::{SubscriptionRollup, rollup};
use crate::core::text::wrap;

/// The table never gets wider than this.
pub const TABLE_WIDTH: usize = 120;

/// Renders the whole table report.
pub fn table(report: &FleetReport) -> String {
    let mut out = rollup_table(report);
    out.push('\n');
    out.push_str(&cluster_table(report));
    let _ = writeln!(out, "\n{}", totals_line(report));
    let blocked: Vec<&ReportRow> = report.clusters.iter().filter(|r| !r.blockers.is_empty()).collect();
    if !blocked.is_empty() {
        let _ = writeln!(out, "\nFixes:");
        for r in blocked {
            for b in &r.blockers {
                let _ = writeln!(out, "  {} [{}]", short_cluster(&r.cluster), b.code);
                for piece in wrap(&b.message, TABLE_WIDTH - 4) {
                    let _ = writeln!(out, "    {piece}");
                }
            }
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out.push('\n');
    for piece in wrap(UNDISCOVERABLE_NOTE, TABLE_WIDTH) {
        let _ = writeln!(out, "{piece}");
    }
    out
}

/// The per-subscription roll-up with a `blocked by code` line under each subscription that has
/// blocked clusters, and a TOTAL row.
pub fn rollup_table(report: &FleetReport) -> String {
    let header = ["SUBSCRIPTION", "CLUSTERS", "COMPLIANT", "NEEDS CHANGES", "BLOCKED", "EXCLUDED", "FAILED"];
    let cells = |s: &SubscriptionRollup, name: &str| {
        [name.to_string()]
            .into_iter()
            .chain([s.clusters, s.compliant, s.changes_needed, s.blocked, s.excluded, s.failed].map(|n| n.to_string()))
            .collect::<Vec<_>>()
    };
    let (subs, total) = rollup(&report.clusters);
    let mut rows: Vec<(Vec<String>, Option<String>)> = vec![(header.map(String::from).to_vec(), None)];
    for s in &subs {
        let codes = (s.blocked > 0).then(|| format!("  blocked by code: {}", s.codes_line()));
        rows.push((cells(s, &s.subscription), codes));
    }
    rows.push((cells(&total, "TOTAL"), None));
    let widths: Vec<usize> = (0..header.len()).map(|c| rows.iter().map(|(r, _)| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (row, codes) in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| if i == 0 { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if let Some(codes) = codes {
            for (i, piece) in wrap(codes, TABLE_WIDTH).iter().enumerate() {
                let _ = writeln!(out, "{}{piece}", if i == 0 { "" } else { "    " });
            }
        }
    }
    out
}

/// The cluster rows: STATUS, CLUSTER (`sub/rg/name`), ACR (wired/used), IDENTITY, TO DO.
pub fn cluster_table(report: &FleetReport) -> String {
    let header = ["STATUS", "CLUSTER", "ACR", "IDENTITY", "TO DO"].map(String::from);
    let mut rows = vec![header];
    for r in &report.clusters {
        let used = r.registries_wired.len() + r.registries_missing.len();
        rows.push([
            r.status.as_str().to_string(),
            short_cluster(&r.cluster),
            format!("{}/{used}", r.registries_wired.len()),
            identity_cell(r),
            todo(r),
        ]);
    }
    let mut widths: Vec<usize> = (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    fit(&mut widths, &[(4, 40), (1, 36), (4, 20)], TABLE_WIDTH);
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<Vec<String>> = r.iter().zip(&widths).map(|(c, &w)| cell_lines(c, w)).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let line: Vec<String> =
                cells.iter().zip(&widths).map(|(c, &w)| format!("{:<w$}", c.get(i).map(String::as_str).unwrap_or(""))).collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
    }
    out
}

/// A cell wrapped to `width` (at a space, `/` or `,`), continuation lines indented by two.
fn cell_lines(text: &str, width: usize) -> Vec<String> {
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let mut pieces = wrap(text, width);
    for p in pieces.iter_mut().skip(1) {
        p.insert_str(0, "  ");
    }
    pieces
}

/// Shrinks columns until the row fits `max` (two spaces between columns): each `(column, floor)`
/// step in order takes at most what is over, never below its floor.
fn fit(widths: &mut [usize], steps: &[(usize, usize)], max: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    for &(c, floor) in steps {
        let over = total(widths).saturating_sub(max);
        if over == 0 {
            return;
        }
        widths[c] = widths[c].saturating_sub(over).max(floor.min(widths[c]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::report_fixture::fleet;

    /// Compares with `tests/snapshots/<name>` (`FLEETGATE_UPDATE_SNAPSHOTS=1` rewrites it).
    fn snapshot(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
        if std::env::var_os("FLEETGATE_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(actual, expected, "snapshot {name} differs (FLEETGATE_UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
    }

    #[test]
    fn the_rollup_comes_first_with_blocked_clusters_by_code() {
        let text = rollup_table(&fleet());
        snapshot("report_rollup.txt", &text);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("SUBSCRIPTION") && lines[0].ends_with("CLUSTERS  COMPLIANT  NEEDS CHANGES  BLOCKED  EXCLUDED  FAILED")
        );
        assert!(lines.last().unwrap().starts_with("TOTAL") && lines.last().unwrap().split_whitespace().nth(1) == Some("12"));
        assert!(text.contains("  blocked by code: kubernetes_version_unsupported 1, oidc_issuer_disabled 1\n"), "{text}");
    }

    #[test]
    fn the_cluster_table_fits_120_columns_with_short_ids_and_counted_actions() {
        let report = fleet();
        let text = table(&report);
        snapshot("report_table.txt", &text);
        assert!(text.starts_with("SUBSCRIPTION"), "the roll-up is printed first");
        assert!(text.lines().all(|l| l.chars().count() <= TABLE_WIDTH), "{text}");
        assert!(text.contains("00000000…0001/rg-prod-aks/aks-prod-weu-01"), "{text}");
        assert!(text.contains("assign_acr_pull ×2"), "{text}");
        assert!(!text.contains("assign_acr_pull, assign_acr_pull"), "{text}");
        assert!(text.contains("\n12 clusters: 4 compliant, 3 changes needed, 3 blocked, 1 excluded, 1 unreadable\n"), "{text}");
        assert!(text.contains("cannot be discovered (fleetgate never reads there)"), "{text}");
    }

    #[test]
    fn fit_shrinks_the_flexible_columns_in_order_and_cells_wrap() {
        let steps = [(4, 40), (1, 36), (4, 20)];
        let mut w = vec![14, 40, 3, 9, 80];
        fit(&mut w, &steps, 120);
        assert_eq!(w, [14, 40, 3, 9, 46]);
        let mut w = vec![14, 90, 3, 9, 80];
        fit(&mut w, &steps, 120);
        assert_eq!(w, [14, 46, 3, 9, 40]);
        let mut w = vec![60, 150, 3, 9, 80];
        fit(&mut w, &steps, 120);
        assert_eq!(w, [60, 36, 3, 9, 20], "floors hold even when the row cannot fit");
        assert_eq!(cell_lines("assign_acr_pull ×2, update_security_gating", 26), ["assign_acr_pull ×2,", "  update_security_gating"]);
    }
}
