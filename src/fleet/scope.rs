//! [`Selection`]: which subscriptions (and management groups) a fleet command covers —
//! `scope.subscriptions` ∩ `--subscription`, validated before any request is sent.

use super::FleetError;
use crate::id::is_guid;

/// What a fleet command enumerates and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Subscriptions whose clusters are processed: every `--subscription` (all in scope), or all of
    /// `scope.subscriptions` without the flag. Lower case, deduplicated, in the order given.
    pub subscriptions: Vec<String>,
    /// `--management-group` IDs: clusters are enumerated over these groups, then filtered to
    /// [`Selection::subscriptions`].
    pub management_groups: Vec<String>,
    /// All of `scope.subscriptions` (lower case): registries, role assignments and pricing may live in
    /// any of them.
    pub scope: Vec<String>,
}

impl Selection {
    /// Checks `--subscription` and `--management-group` arguments against `scope`.
    pub fn new(scope: &[String], subscriptions: &[String], management_groups: &[String]) -> Result<Self, FleetError> {
        let scope = dedup(scope.iter().map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()));
        if scope.is_empty() {
            return Err(FleetError::NoScope);
        }
        let mut picked = Vec::new();
        for raw in subscriptions {
            let sub = raw.trim().to_ascii_lowercase();
            if !is_guid(&sub) {
                return Err(FleetError::InvalidSubscription(raw.clone()));
            }
            if !scope.contains(&sub) {
                return Err(FleetError::SubscriptionOutOfScope(raw.trim().to_string()));
            }
            picked.push(sub);
        }
        let subscriptions = if picked.is_empty() { scope.clone() } else { dedup(picked.into_iter()) };
        let mut groups = Vec::new();
        for raw in management_groups {
            let g = raw.trim();
            let valid = !g.is_empty() && g.len() <= 90 && g.chars().all(|c| c.is_ascii_alphanumeric() || "-_().".contains(c));
            if !valid {
                return Err(FleetError::InvalidManagementGroup(raw.clone()));
            }
            groups.push(g.to_string());
        }
        Ok(Self { subscriptions, management_groups: dedup(groups.into_iter()), scope })
    }

    /// True when `subscription` is selected (case-insensitive).
    pub fn selects(&self, subscription: &str) -> bool {
        self.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(subscription))
    }
}

/// How a `--subscription` value given by name matched the in-scope subscriptions' display names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Exactly one subscription has that display name (case-insensitive): its ID.
    One(String),
    /// None has it; the in-scope subscriptions as `id (name)`.
    None(Vec<String>),
    /// Several have it: their IDs.
    Ambiguous(Vec<String>),
}

/// Matches `name` against `(id, display name)` pairs of the subscriptions in scope (case-insensitive,
/// surrounding blanks ignored).
pub fn match_subscription_name(name: &str, known: &[(String, String)]) -> NameMatch {
    let wanted = name.trim();
    let hits: Vec<String> = known.iter().filter(|(_, n)| n.trim().eq_ignore_ascii_case(wanted)).map(|(id, _)| id.clone()).collect();
    match hits.len() {
        1 => NameMatch::One(hits[0].clone()),
        0 => NameMatch::None(known.iter().map(|(id, n)| format!("{id} ({n})")).collect()),
        _ => NameMatch::Ambiguous(hits),
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";
    const C: &str = "00000000-0000-0000-0000-00000000000c";

    fn scope() -> Vec<String> {
        vec![A.into(), B.to_uppercase()]
    }

    #[test]
    fn no_flags_select_the_whole_scope() {
        let s = Selection::new(&scope(), &[], &[]).unwrap();
        assert_eq!(s.subscriptions, vec![A.to_string(), B.to_string()]);
        assert_eq!(s.scope, s.subscriptions);
        assert!(s.selects(&B.to_uppercase()) && !s.selects(C));
    }

    #[test]
    fn flags_narrow_the_scope_and_dedupe() {
        let s = Selection::new(&scope(), &[B.into(), B.to_uppercase()], &[]).unwrap();
        assert_eq!(s.subscriptions, vec![B.to_string()]);
        assert_eq!(s.scope.len(), 2);
    }

    #[test]
    fn out_of_scope_or_malformed_flags_are_usage_errors_naming_the_value() {
        let e = Selection::new(&scope(), &[A.into(), C.into()], &[]).unwrap_err();
        assert!(matches!(&e, FleetError::SubscriptionOutOfScope(s) if s == C), "{e}");
        assert!(e.is_usage() && e.to_string().contains(C));
        let e = Selection::new(&scope(), &["prod".into()], &[]).unwrap_err();
        assert!(matches!(e, FleetError::InvalidSubscription(_)) && e.to_string().contains("\"prod\""));
        assert!(matches!(Selection::new(&[], &[], &[]), Err(FleetError::NoScope)));
    }

    #[test]
    fn subscription_names_match_once_or_say_why_not() {
        let known = vec![(A.to_string(), "Prod".to_string()), (B.to_string(), "prod".to_string()), (C.to_string(), "Dev".to_string())];
        assert_eq!(match_subscription_name(" dev ", &known), NameMatch::One(C.into()));
        assert_eq!(match_subscription_name("PROD", &known), NameMatch::Ambiguous(vec![A.into(), B.into()]));
        assert!(
            matches!(match_subscription_name("test", &known), NameMatch::None(all) if all.len() == 3 && all[2] == format!("{C} (Dev)"))
        );
    }

    #[test]
    fn management_groups_are_checked_and_kept() {
        let s = Selection::new(&scope(), &[], &["mg-platform".into(), "mg-platform".into()]).unwrap();
        assert_eq!(s.management_groups, vec!["mg-platform".to_string()]);
        for bad in ["", "a/b", "has space"] {
            assert!(matches!(Selection::new(&scope(), &[], &[bad.into()]), Err(FleetError::InvalidManagementGroup(_))), "{bad}");
        }
    }
}
