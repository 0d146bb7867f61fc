//! `--output text`: reads like `terraform plan`. One line per action starting with `+`, blockers with
//! `!`, then a summary line.

use std::fmt::Write;

use crate::core::plan::{Plan, PlanStatus};
use crate::core::report::{ApplyReport, Outcome};

/// Renders a plan.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = format!("Cluster {}: {}\n", plan.cluster, status_word(plan.status));
    for action in &plan.actions {
        let _ = writeln!(out, "+ {} {} ({})", action.kind(), action.resource(), action.detail());
    }
    for blocker in &plan.blockers {
        let _ = writeln!(out, "! {}: {}", blocker.code, blocker.message);
    }
    match plan.status {
        PlanStatus::Compliant => out.push_str("No changes. The cluster is compliant.\n"),
        PlanStatus::Excluded => out.push_str("No changes. The cluster carries the exclude tag.\n"),
        PlanStatus::Blocked | PlanStatus::ChangesNeeded => {}
    }
    let _ = writeln!(out, "Plan: {} to add, {} blocked.", plan.actions.len(), plan.blockers.len());
    out
}

/// Renders an apply result: `+` applied, `=` already present, `x` failed.
pub fn render_apply(report: &ApplyReport) -> String {
    let mut out = format!("Cluster {}: {}\n", report.cluster, serde_plain(&report.status));
    let mut counts = [0usize; 3];
    for a in &report.actions {
        let (mark, slot) = match a.outcome {
            Outcome::Applied => ('+', 0),
            Outcome::AlreadyPresent => ('=', 1),
            Outcome::Failed => ('x', 2),
        };
        counts[slot] += 1;
        let plural = if a.attempts == 1 { "" } else { "s" };
        let _ = writeln!(out, "{mark} {} {} ({}, {} attempt{plural})", a.kind, a.resource, serde_plain(&a.outcome), a.attempts);
    }
    for blocker in &report.blockers {
        let _ = writeln!(out, "! {}: {}", blocker.code, blocker.message);
    }
    if let Some(error) = &report.error {
        let _ = writeln!(out, "Error: {error}");
    }
    let _ = writeln!(out, "Apply: {} applied, {} already present, {} failed.", counts[0], counts[1], counts[2]);
    out
}

fn status_word(status: PlanStatus) -> String {
    serde_plain(&status)
}

/// The snake_case name serde gives a unit enum variant.
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IdentityStrategy;
    use crate::core::action::Action;
    use crate::core::blocker::Blocker;
    use crate::core::plan::PlanIdentity;
    use crate::core::report::{AppliedAction, ApplyStatus};
    use crate::id::ResourceId;

    fn cluster() -> ResourceId {
        ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1").unwrap()
    }

    fn plan(status: PlanStatus, actions: Vec<Action>, blockers: Vec<Blocker>) -> Plan {
        let identity =
            PlanIdentity { strategy: IdentityStrategy::Dedicated, resource_id: None, principal_id: None, client_id: None, exists: false };
        Plan { cluster: cluster(), status, identity, registries: vec![], blockers, actions }
    }

    #[test]
    fn plan_lines_and_summary() {
        let actions = vec![
            Action::EnablePrerequisites { resource: cluster(), oidc_issuer: true, workload_identity: false },
            Action::UpdateSecurityGating { resource: cluster(), enable: true, add: vec![] },
        ];
        let text = render_plan(&plan(PlanStatus::ChangesNeeded, actions, vec![]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("Cluster {}: changes_needed", cluster()));
        assert_eq!(lines[1], format!("+ enable_prerequisites {} (enable OIDC issuer)", cluster()));
        assert!(lines[2].starts_with("+ update_security_gating ") && lines[2].ends_with("(enabled = true)"));
        assert_eq!(lines.last().unwrap(), &"Plan: 2 to add, 0 blocked.");
    }

    #[test]
    fn blocked_and_compliant_plans() {
        let blocked = render_plan(&plan(PlanStatus::Blocked, vec![], vec![Blocker::no_kubelet_identity(&cluster())]));
        assert!(blocked.lines().any(|l| l.starts_with("! no_kubelet_identity: cluster ")));
        assert!(blocked.ends_with("Plan: 0 to add, 1 blocked.\n"));
        let ok = render_plan(&plan(PlanStatus::Compliant, vec![], vec![]));
        assert!(ok.contains("compliant") && ok.ends_with("Plan: 0 to add, 0 blocked.\n"));
        assert!(!ok.lines().any(|l| l.starts_with('+')));
    }

    #[test]
    fn apply_lines_and_summary() {
        let a = Action::UpdateSecurityGating { resource: cluster(), enable: true, add: vec![] };
        let report = ApplyReport {
            cluster: cluster(),
            status: ApplyStatus::Failed,
            actions: vec![
                AppliedAction::new(&a, Outcome::Applied, 1),
                AppliedAction::new(&a, Outcome::AlreadyPresent, 3),
                AppliedAction::new(&a, Outcome::Failed, 8),
            ],
            blockers: vec![],
            error: Some("boom; do X".into()),
        };
        let text = render_apply(&report);
        assert!(text.contains(&format!("+ update_security_gating {} (applied, 1 attempt)", cluster())));
        assert!(text.contains("= update_security_gating") && text.contains("(already_present, 3 attempts)"));
        assert!(text.contains("x update_security_gating") && text.contains("Error: boom; do X"));
        assert!(text.ends_with("Apply: 1 applied, 1 already present, 1 failed.\n"));
    }
}
