//! `report --output html`: one self-contained page — inline CSS and a few lines of inline script, no
//! external scripts, fonts, images or requests (a Content-Security-Policy forbids them) — with the
//! totals, the roll-up as one stacked bar per subscription, the blocked clusters with their fix
//! commands, and the fleet table, sortable by clicking a column header (or `#sort=<column>` in the
//! address). Rows and bars carry `data-*` counts so a check can read them back from the DOM.

use std::fmt::Write as _;

use super::report::{FleetReport, ReportRow, ReportStatus};
use super::report_format::{UNDISCOVERABLE_NOTE, identity_cell, todo, totals_line};
use super::report_rollup::{SubscriptionRollup, rollup};

/// The bar segments: status class, label, colour.
pub const SEGMENTS: [(&str, &str, &str); 5] = [
    ("compliant", "compliant", "#2e7d32"),
    ("changes_needed", "needs changes", "#f9a825"),
    ("blocked", "blocked", "#c62828"),
    ("excluded", "excluded", "#757575"),
    ("failed", "failed", "#6a1b9a"),
];

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #e0e0e0;text-align:left;vertical-align:top}\
td.n{text-align:right}code{background:#f5f5f5;padding:1px 4px;border-radius:3px;word-break:break-all}\
code.sub{white-space:nowrap;word-break:normal}.bar{display:flex;width:320px;height:22px;border:1px solid #bdbdbd;background:#fafafa}.bar span{display:block;height:100%}\
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}\
th button{font:inherit;font-weight:bold;border:0;background:none;cursor:pointer;padding:0}\
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:8px 12px;max-width:900px}\
.blocker{margin:8px 0;max-width:1000px}";

/// Sorts the fleet table by a column: header buttons, and `#sort=<column>` or `#sort=-<column>` on load.
const SCRIPT: &str = "(function(){var t=document.getElementById('clusters');if(!t)return;\
function sort(col,desc){var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);\
rows.sort(function(x,y){var a=x.cells[col].textContent,c=y.cells[col].textContent;return desc?c.localeCompare(a):a.localeCompare(c);});\
rows.forEach(function(r){b.appendChild(r);});t.setAttribute('data-sorted',(desc?'-':'')+t.tHead.rows[0].cells[col].getAttribute('data-col'));}\
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){th.firstChild.addEventListener('click',function(){\
sort(i,t.getAttribute('data-sorted')===th.getAttribute('data-col'));});});\
var m=/sort=(-?)([a-z_]+)/.exec(location.hash);if(m){Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){\
if(th.getAttribute('data-col')===m[2])sort(i,m[1]==='-');});}})();";

/// `text` with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `` `commands` `` shown as `<code>`.
fn with_code(text: &str) -> String {
    text.split('`').enumerate().map(|(i, part)| if i % 2 == 1 { format!("<code>{}</code>", escape(part)) } else { escape(part) }).collect()
}

/// The page.
pub fn html(report: &FleetReport) -> String {
    let (subs, total) = rollup(&report.clusters);
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n");
    let _ = writeln!(out, "<title>fleetgate: gated deployment compliance</title>\n<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>Gated deployment compliance</h1>\n<p id=\"totals\" data-clusters=\"{}\">{}</p>",
        total.clusters,
        escape(&totals_line(report))
    );
    out.push_str(&rollup_section(&subs, &total));
    out.push_str(&blocked_section(report));
    out.push_str(&fleet_table(&report.clusters));
    for w in &report.warnings {
        let _ = writeln!(out, "<p class=\"warning\">warning: {}</p>", escape(w));
    }
    let _ = writeln!(out, "<p class=\"note\" id=\"scope-note\">{}</p>", escape(UNDISCOVERABLE_NOTE));
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}

fn counts(s: &SubscriptionRollup) -> [usize; 5] {
    [s.compliant, s.changes_needed, s.blocked, s.excluded, s.failed]
}

fn rollup_section(subs: &[SubscriptionRollup], total: &SubscriptionRollup) -> String {
    let mut out = String::from("<h2>Per subscription</h2>\n<p class=\"legend\">");
    for (class, label, colour) in SEGMENTS {
        let _ = write!(out, "<span class=\"{class}\" style=\"background:{colour}\"></span>{label}");
    }
    out.push_str("</p>\n<table id=\"rollup\">\n<thead><tr><th>Subscription</th><th>Clusters</th><th></th>");
    for (_, label, _) in SEGMENTS {
        let _ = write!(out, "<th>{}</th>", escape(label));
    }
    out.push_str("<th>Blocked by code</th></tr></thead>\n<tbody>\n");
    for s in subs.iter().chain(std::iter::once(total)) {
        let name = if s.subscription == "total" { "Total".to_string() } else { escape(&s.subscription) };
        let attrs: String = SEGMENTS.iter().zip(counts(s)).map(|((class, _, _), n)| format!(" data-{class}=\"{n}\"")).collect();
        let _ = write!(
            out,
            "<tr class=\"rollup\" data-subscription=\"{}\" data-clusters=\"{}\"{attrs}><td><code class=\"sub\">{name}</code></td><td class=\"n\">{}</td><td>{}</td>",
            escape(&s.subscription),
            s.clusters,
            s.clusters,
            bar(s)
        );
        for n in counts(s) {
            let _ = write!(out, "<td class=\"n\">{n}</td>");
        }
        let _ = writeln!(out, "<td>{}</td></tr>", escape(&s.codes_line()));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The stacked bar: one segment per non-empty status, its width the share of the subscription's clusters.
fn bar(s: &SubscriptionRollup) -> String {
    let mut out = format!("<div class=\"bar\" data-subscription=\"{}\">", escape(&s.subscription));
    for ((class, label, colour), n) in SEGMENTS.iter().zip(counts(s)) {
        if n == 0 || s.clusters == 0 {
            continue;
        }
        let pct = n as f64 * 100.0 / s.clusters as f64;
        let _ = write!(
            out,
            "<span class=\"seg {class}\" data-count=\"{n}\" style=\"width:{pct:.2}%;background:{colour}\" title=\"{label}: {n}\"></span>"
        );
    }
    out.push_str("</div>");
    out
}

fn blocked_section(report: &FleetReport) -> String {
    let blocked: Vec<&ReportRow> = report.clusters.iter().filter(|r| r.status == ReportStatus::Blocked).collect();
    let mut out = format!("<h2>Blocked clusters ({})</h2>\n", blocked.len());
    if blocked.is_empty() {
        out.push_str("<p>None.</p>\n");
    }
    for r in blocked {
        let _ = writeln!(
            out,
            "<div class=\"blocker\" data-cluster=\"{}\"><code>{}</code>",
            escape(r.cluster.as_str()),
            escape(r.cluster.as_str())
        );
        out.push_str("<ul>");
        for b in &r.blockers {
            let _ = write!(out, "<li data-code=\"{}\"><b>{}</b>: {}</li>", b.code, b.code, with_code(&b.message));
        }
        out.push_str("</ul></div>\n");
    }
    out
}

fn fleet_table(rows: &[ReportRow]) -> String {
    let columns = [
        ("status", "Status"),
        ("cluster", "Cluster"),
        ("subscription", "Subscription"),
        ("acr", "ACR wired"),
        ("identity", "Identity"),
        ("todo", "To do"),
    ];
    let mut out = format!("<h2>Clusters ({})</h2>\n<table id=\"clusters\">\n<thead><tr>", rows.len());
    for (key, label) in columns {
        let _ = write!(out, "<th data-col=\"{key}\"><button type=\"button\">{label}</button></th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let used = r.registries_wired.len() + r.registries_missing.len();
        let name = format!("{}/{}", r.cluster.resource_group().unwrap_or_default(), r.cluster.name());
        let _ = writeln!(
            out,
            "<tr class=\"cluster\" data-status=\"{}\" data-cluster=\"{}\"><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td class=\"n\">{}/{used}</td><td>{}</td><td>{}</td></tr>",
            r.status.as_str(),
            escape(r.cluster.as_str()),
            r.status.as_str(),
            escape(r.cluster.as_str()),
            escape(&name),
            escape(r.cluster.subscription_id()),
            r.registries_wired.len(),
            identity_cell(r),
            escape(&todo(r))
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::report_fixture::fleet;

    #[test]
    fn the_page_is_self_contained_and_carries_the_counts() {
        let report = fleet();
        let page = html(&report);
        assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
        for external in ["src=", "href=", "@import", "url(", "<link", "<img", "<iframe"] {
            assert!(!page.contains(external), "nothing loaded from elsewhere: {external}");
        }
        assert!(page.contains("default-src 'none'"), "a CSP forbids any request");
        assert_eq!(page.matches("<tr class=\"cluster\"").count(), report.clusters.len());
        assert_eq!(page.matches("<tr class=\"cluster\" data-status=\"blocked\"").count(), report.totals.blocked);
        assert_eq!(page.matches("<tr class=\"rollup\"").count(), report.subscriptions.len() + 1);
        assert_eq!(page.matches("<div class=\"bar\"").count(), report.subscriptions.len() + 1);
        assert!(page.contains("<code>az aks update -g rg-prod-aks -n aks-legacy-01 --enable-oidc-issuer</code>"), "fix commands as code");
        assert!(page.contains("id=\"scope-note\""));
    }

    #[test]
    fn bars_have_one_segment_per_present_status_summing_to_the_whole() {
        let (subs, _) = rollup(&fleet().clusters);
        let b = bar(&subs[0]);
        let widths: f64 = b.split("width:").skip(1).map(|w| w.split('%').next().unwrap().parse::<f64>().unwrap()).sum();
        assert!((widths - 100.0).abs() < 0.05, "{b}");
        assert_eq!(b.matches("class=\"seg ").count(), counts(&subs[0]).iter().filter(|&&n| n > 0).count());
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
