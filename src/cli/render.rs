//! Text renderers for what a command is about to write (the data is `fleetgate::fleet::Changes`; the
//! JSON renderer is serde). The confirmation screen lists per-cluster changes, then — separately,
//! because each one affects a whole subscription and may change its bill — the subscription-wide
//! Defender plan changes.

use std::fmt::Write as _;

use super::output::Ui;
use fleetgate::fleet::{Changes, SubscriptionChange, action_summary};

/// The subscription-wide section (empty when there is none).
pub fn subscription_changes(changes: &[SubscriptionChange], ui: &Ui) -> String {
    if changes.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nSubscription-wide changes (each applies to every cluster of the subscription):\n");
    for c in changes {
        let mark = if c.starts_billing { ui.warn_style("! $") } else { "~".to_string() };
        let _ = writeln!(out, "  {mark} {}", c.describe());
    }
    if changes.iter().any(|c| c.starts_billing) {
        let _ = writeln!(
            out,
            "    {}",
            ui.warn_style("Switching a plan to Standard starts billing for the subscription (gating.manage_defender_plan = \"full\").")
        );
    }
    out
}

/// The fleet confirmation screen: clusters to write, subscription-wide changes, what is left alone.
/// `unplanned` describes a cluster whose actions are not known yet.
pub fn fleet_changes(changes: &Changes, left_alone: &[(&str, usize)], unplanned: &str, ui: &Ui) -> String {
    let mut out = format!("\nfleetgate will change {} clusters:\n", changes.clusters.len());
    for c in &changes.clusters {
        let what = if c.actions.is_empty() { format!("({unplanned})") } else { action_summary(&c.actions) };
        let _ = writeln!(out, "  ~ {}: {what}", c.cluster);
    }
    out.push_str(&subscription_changes(&changes.subscriptions, ui));
    let others: Vec<String> = left_alone.iter().filter(|(_, n)| *n > 0).map(|(what, n)| format!("{n} {what}")).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\nLeft alone: {}.", others.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetgate::core::{Action, ActionKind};
    use fleetgate::id::ResourceId;

    #[test]
    fn the_billing_change_is_listed_apart_from_the_clusters() {
        let sub = "00000000-0000-0000-0000-000000000002";
        let pricing = Action::EnableDefenderPlan {
            resource: ResourceId::parse(&format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers")).unwrap(),
            subscription: sub.into(),
            missing: vec!["pricingTier=Standard".into(), "ContainerSensor".into()],
        };
        let cluster =
            ResourceId::parse(&format!("/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a"))
                .unwrap();
        let mut changes = Changes::default();
        changes.add(
            &cluster,
            vec![ActionKind::EnableDefenderPlan, ActionKind::AssignAcrPull, ActionKind::AssignAcrPull],
            SubscriptionChange::from_action(&pricing),
        );
        let text = fleet_changes(&changes, &[("compliant", 2), ("blocked", 0)], "?", &Ui::default());
        assert!(text.contains("fleetgate will change 1 clusters:\n  ~ /subscriptions/"), "{text}");
        assert!(text.contains("enable_defender_plan, assign_acr_pull ×2"), "{text}");
        let section = text.split("Subscription-wide changes").nth(1).expect("a separate section");
        assert!(section.contains(&format!("Free → Standard on subscription {sub} (billed per vCore")), "{text}");
        assert!(text.contains("Left alone: 2 compliant.") && !text.contains("0 blocked"), "{text}");
    }
}
