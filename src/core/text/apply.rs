//! `apply --output text`: what was written, per resource (`+` created, `~` updated in place, `=`
//! already present, `x` failed), then `Apply complete! Resources: …` — or, when nothing had to be
//! written, `No changes. …` (never "converged, 0 applied").

use super::changes::Op;
use super::layout::{Line, Paint, TextStyle, render};
use super::plan::{header_lines, op_paint};
use super::short_id;
use crate::core::names::KNOWN_AFTER_APPLY;
use crate::core::report::{AppliedAction, ApplyReport, ApplyStatus, Outcome};
use crate::id::ResourceId;

/// Renders an apply result.
pub fn render_apply(report: &ApplyReport, style: &TextStyle) -> String {
    let status = crate::core::text::status_word(&report.status);
    let mut lines = header_lines(&report.cluster, &status);
    for a in &report.actions {
        lines.push(action_line(a));
    }
    if !report.actions.is_empty() {
        lines.push(Line::blank());
    }
    for b in &report.blockers {
        lines.push(Line::marked(0, '!', Paint::Red, format!("{}: {}", b.code, b.message)));
    }
    if let Some(error) = &report.error {
        lines.push(Line::text(0, format!("Error: {error}")).painted(Paint::Red));
    }
    lines.push(closing(report));
    render(&lines, style)
}

fn action_line(a: &AppliedAction) -> Line {
    let op = Op::of(a.kind);
    let (mark, paint, what) = match a.outcome {
        Outcome::Applied => (op.mark(), op_paint(op), op.verb()),
        Outcome::AlreadyPresent => ('=', Paint::Dim, "already present"),
        Outcome::Failed => ('x', Paint::Red, "failed"),
    };
    let plural = if a.attempts == 1 { "" } else { "s" };
    let target = target(&a.resource);
    Line::marked(2, mark, paint, format!("{target}: {what} ({}, {} attempt{plural})", a.kind, a.attempts))
}

/// `resource "type" "name"` of a written resource; a role assignment whose name was not known is
/// named by its registry (never a placeholder inside a path).
fn target(resource: &str) -> String {
    const ASSIGNMENTS: &str = "/providers/Microsoft.Authorization/roleAssignments/";
    if let Some((scope, name)) = resource.split_once(ASSIGNMENTS)
        && name == KNOWN_AFTER_APPLY
    {
        let on = ResourceId::parse(scope).map(|s| s.name().to_string()).unwrap_or_else(|_| scope.to_string());
        return format!("resource \"Microsoft.Authorization/roleAssignments\" \"AcrPull on {on}\"");
    }
    match ResourceId::parse(resource) {
        Ok(id) => format!("resource {:?} {:?}", id.resource_type().unwrap_or_default(), id.name()),
        Err(_) => resource.to_string(),
    }
}

/// The last line: what was written, or why nothing was.
fn closing(report: &ApplyReport) -> Line {
    let count = |op: Op| report.actions.iter().filter(|a| a.outcome == Outcome::Applied && Op::of(a.kind) == op).count();
    let present = report.actions.iter().filter(|a| a.outcome == Outcome::AlreadyPresent).count();
    let failed = report.actions.iter().filter(|a| a.outcome == Outcome::Failed).count();
    let resources = format!(
        "Resources: {} added, {} changed, {} destroyed ({present} already present, {failed} failed).",
        count(Op::Create),
        count(Op::Update),
        count(Op::Delete)
    );
    let cluster = short_id(&report.cluster);
    match report.status {
        ApplyStatus::Converged if report.actions.is_empty() => {
            Line::text(0, format!("No changes. Cluster {cluster} matches the desired state; nothing was written.")).painted(Paint::Green)
        }
        ApplyStatus::Converged => Line::text(0, format!("Apply complete! {resources}")).painted(Paint::Green),
        ApplyStatus::Failed => Line::text(0, format!("Apply failed. {resources}")).painted(Paint::Red),
        ApplyStatus::Blocked if report.actions.is_empty() => {
            Line::text(0, format!("Nothing was written: cluster {cluster} is blocked; fix the above and apply again."))
        }
        ApplyStatus::Blocked => {
            Line::text(0, format!("Stopped: cluster {cluster} is blocked now; fix the above and apply again. {resources}"))
        }
        ApplyStatus::Excluded => Line::text(0, format!("Nothing was written: cluster {cluster} carries the exclude tag.")),
    }
}
