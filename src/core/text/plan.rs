//! `plan --output text`, terraform-style: the cluster, then each resource with `+` create, `~` update
//! in place (the changed attribute paths), `-` delete; blockers with `!` and their fix; a summary
//! `Plan: N to add, N to change, N to destroy, N blocked.`

use super::changes::{Counts, Op, ResourceChange, resource_changes};
use super::layout::{Line, Paint, TextStyle, render};
use super::short_id;
use crate::core::plan::{Plan, PlanStatus};

/// The mark colour of an operation.
pub(super) fn op_paint(op: Op) -> Paint {
    match op {
        Op::Create => Paint::Green,
        Op::Update => Paint::Yellow,
        Op::Delete => Paint::Red,
    }
}

/// Renders a plan.
pub fn render_plan(plan: &Plan, style: &TextStyle) -> String {
    let changes = resource_changes(&plan.actions);
    let mut lines = header(plan);
    match plan.status {
        PlanStatus::ChangesNeeded => {
            lines.push(Line::text(0, "fleetgate will perform the following actions:"));
            for change in &changes {
                lines.push(Line::blank());
                lines.extend(resource_lines(change));
            }
        }
        PlanStatus::Blocked => {
            lines.push(Line::text(0, "fleetgate will not write to this cluster until these are fixed:"));
            for b in &plan.blockers {
                lines.push(Line::blank());
                lines.push(Line::marked(2, '!', Paint::Red, b.code.as_str()).painted(Paint::Bold));
                lines.push(Line::text(6, b.message.clone()));
            }
        }
        PlanStatus::Compliant => {
            let text = format!("No changes. Cluster {} matches the desired state.", short_id(&plan.cluster));
            lines.push(Line::text(0, text).painted(Paint::Green));
        }
        PlanStatus::Excluded => {
            let text = format!(
                "No changes. Cluster {} carries the exclude tag; fleetgate leaves it alone (remove the tag to manage it).",
                short_id(&plan.cluster)
            );
            lines.push(Line::text(0, text));
        }
    }
    lines.push(Line::blank());
    lines.push(Line::text(0, summary(&Counts::of(&changes), plan.blockers.len())).painted(Paint::Bold));
    render(&lines, style)
}

/// `Plan: 3 to add, 2 to change, 0 to destroy, 1 blocked.`
pub fn summary(counts: &Counts, blocked: usize) -> String {
    format!("Plan: {} to add, {} to change, {} to destroy, {blocked} blocked.", counts.add, counts.change, counts.destroy)
}

/// `Cluster sub/rg/name: status` and the full ID under it.
pub(super) fn header_lines(cluster: &crate::id::ResourceId, status: &str) -> Vec<Line> {
    let head = format!("Cluster {}: {status}", short_id(cluster));
    vec![Line::text(0, head).painted(Paint::Bold), Line::text(2, format!("id: {cluster}")).painted(Paint::Dim), Line::blank()]
}

fn header(plan: &Plan) -> Vec<Line> {
    header_lines(&plan.cluster, &crate::core::text::status_word(&plan.status))
}

/// The lines of one resource: `# … will be created`, `+ resource "type" "name" {`, attributes, `}`.
pub(super) fn resource_lines(change: &ResourceChange) -> Vec<Line> {
    let paint = op_paint(change.op);
    let kinds: Vec<&str> = change.kinds.iter().map(|k| k.as_str()).collect();
    let mut lines = vec![
        Line::text(2, format!("# {} will be {} ({})", change.what, change.op.verb(), kinds.join(", "))).painted(Paint::Bold),
        Line::marked(2, change.op.mark(), paint, format!("resource {:?} {:?} {{", change.resource_type, change.name)),
    ];
    let width = change.attributes.iter().filter(|a| a.value.starts_with('=')).map(|a| a.path.chars().count()).max().unwrap_or(0);
    for a in &change.attributes {
        let path = if a.value.starts_with('=') { format!("{:<width$}", a.path) } else { a.path.clone() };
        let sep = if a.value.starts_with('=') { " " } else { "" };
        let body = format!("{path}{sep}{}", a.value);
        lines.push(if a.changed { Line::marked(6, change.op.mark(), paint, body) } else { Line::text(8, body).painted(Paint::Dim) });
    }
    lines.push(Line::text(4, "}"));
    lines
}
