//! What handling a message produced, and how the message is settled.

use serde::{Deserialize, Serialize};

use crate::defer::Scheduled;
use crate::id::ResourceId;
use crate::reconcile::ReconcileError;

/// The per-message outcome (`run --output json` `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageOutcome {
    /// Writes were made and the cluster is now compliant.
    Converged,
    /// Nothing was needed.
    Compliant,
    /// Blockers prevent any write.
    Blocked,
    /// The cluster carries the opt-out tag.
    Excluded,
    /// An AKS operation is running on the cluster: a re-check was scheduled (Service Bus worker only).
    Deferred,
    /// Not an event fleetgate acts on.
    Ignored,
    /// Malformed or hostile: parked.
    Rejected,
    /// Reconcile failed (retried later, or parked when permanent).
    Failed,
}

impl MessageOutcome {
    /// Every outcome, in the order summaries list them.
    pub const ALL: [MessageOutcome; 8] =
        [Self::Converged, Self::Compliant, Self::Blocked, Self::Excluded, Self::Deferred, Self::Ignored, Self::Rejected, Self::Failed];

    /// snake_case label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::Compliant => "compliant",
            Self::Blocked => "blocked",
            Self::Excluded => "excluded",
            Self::Deferred => "deferred",
            Self::Ignored => "ignored",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    /// How bad an outcome is, for aggregating several clusters into one message outcome.
    fn severity(self) -> u8 {
        match self {
            Self::Ignored => 0,
            Self::Compliant => 1,
            Self::Excluded => 2,
            Self::Converged => 3,
            Self::Deferred => 4,
            Self::Blocked => 5,
            Self::Rejected => 6,
            Self::Failed => 7,
        }
    }
}

/// What the worker does with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Handled: complete (delete) it.
    Complete,
    /// Transient failure: abandon so Service Bus redelivers it (and dead-letters after MaxDeliveryCount).
    Abandon,
    /// Permanent failure: send to the poison queue with this reason, then complete.
    Park(String),
    /// An AKS operation is running: send these scheduled re-checks, then (only after they were sent)
    /// complete. If a send fails the message is abandoned and delivered again.
    Defer(Vec<Scheduled>),
}

/// The result of handling one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Outcome.
    pub outcome: MessageOutcome,
    /// The cluster acted on (the first, when several).
    pub cluster: Option<ResourceId>,
    /// Why (ignored reason, blocker, error).
    pub reason: Option<String>,
    /// What to do with the message.
    pub settle: Settle,
}

impl Handled {
    /// A finished reconcile (converged, compliant, blocked, excluded): complete.
    pub fn done(outcome: MessageOutcome, cluster: &ResourceId, reason: Option<String>) -> Self {
        Self { outcome, cluster: Some(cluster.clone()), reason, settle: Settle::Complete }
    }

    /// Nothing to do: complete.
    pub fn ignored(cluster: Option<ResourceId>, reason: impl Into<String>) -> Self {
        Self { outcome: MessageOutcome::Ignored, cluster, reason: Some(reason.into()), settle: Settle::Complete }
    }

    /// Malformed or hostile: park with the reason.
    pub fn rejected(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self { outcome: MessageOutcome::Rejected, cluster: None, reason: Some(reason.clone()), settle: Settle::Park(reason) }
    }

    /// A failed reconcile.
    pub fn failed(cluster: &ResourceId, reason: String, settle: Settle) -> Self {
        Self { outcome: MessageOutcome::Failed, cluster: Some(cluster.clone()), reason: Some(reason), settle }
    }

    /// A reconcile that failed with `error`: abandoned (delivered again later) when the error is
    /// transient, else parked with the error as the reason.
    pub fn reconcile_failed(cluster: &ResourceId, error: &ReconcileError) -> Self {
        let reason = error.to_string();
        let settle = if error.is_transient() { Settle::Abandon } else { Settle::Park(reason.clone()) };
        Self::failed(cluster, reason, settle)
    }

    /// A deferred reconcile: `reason` says why, `scheduled` is sent before the message is completed.
    pub fn deferred(cluster: &ResourceId, reason: String, scheduled: Scheduled) -> Self {
        Self {
            outcome: MessageOutcome::Deferred,
            cluster: Some(cluster.clone()),
            reason: Some(reason),
            settle: Settle::Defer(vec![scheduled]),
        }
    }

    /// Combines the results for several clusters (a registry shared by many): the worst outcome wins,
    /// and the message is abandoned if any part should be retried. Unless it is abandoned or parked, the
    /// re-checks of every deferred part are sent before it is completed.
    pub fn combine(results: Vec<Handled>) -> Option<Handled> {
        let retry = results.iter().any(|h| h.settle == Settle::Abandon);
        let deferrals: Vec<Scheduled> =
            results.iter().filter_map(|h| if let Settle::Defer(s) = &h.settle { Some(s.clone()) } else { None }).flatten().collect();
        let mut worst = results.into_iter().max_by_key(|h| h.outcome.severity())?;
        if retry {
            worst.settle = Settle::Abandon;
        } else if !deferrals.is_empty() && !matches!(worst.settle, Settle::Park(_)) {
            worst.settle = Settle::Defer(deferrals);
        }
        Some(worst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: &str) -> ResourceId {
        ResourceId::parse(&format!(
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{n}"
        ))
        .unwrap()
    }

    #[test]
    fn combine_keeps_the_worst_and_retries_if_any_part_must() {
        let a = Handled::done(MessageOutcome::Converged, &id("a"), None);
        let b = Handled::failed(&id("b"), "boom".into(), Settle::Abandon);
        let c = Handled::done(MessageOutcome::Compliant, &id("c"), None);
        let out = Handled::combine(vec![a.clone(), b, c.clone()]).unwrap();
        assert_eq!((out.outcome, out.settle), (MessageOutcome::Failed, Settle::Abandon));
        let out = Handled::combine(vec![c, a]).unwrap();
        assert_eq!((out.outcome, out.settle), (MessageOutcome::Converged, Settle::Complete));
        assert!(Handled::combine(vec![]).is_none());
    }

    fn deferral(name: &str) -> Handled {
        let pending = crate::reconcile::Pending { cluster: id(name), state: "Creating".into(), operation: None, retry_after: None };
        let settings = crate::config::DeferSettings {
            enabled: true,
            interval: std::time::Duration::from_secs(60),
            max_interval: std::time::Duration::from_secs(300),
            max_wait: std::time::Duration::from_secs(3600),
        };
        let scheduled = crate::defer::schedule(None, "e", &pending, &settings, time::OffsetDateTime::now_utc()).unwrap();
        Handled::deferred(&id(name), "busy".into(), scheduled)
    }

    #[test]
    fn combine_sends_every_deferral_unless_the_message_is_retried() {
        let out = Handled::combine(vec![deferral("a"), Handled::done(MessageOutcome::Converged, &id("b"), None), deferral("c")]).unwrap();
        assert_eq!(out.outcome, MessageOutcome::Deferred);
        let Settle::Defer(scheduled) = &out.settle else { panic!("{out:?}") };
        assert_eq!(scheduled.len(), 2, "both re-checks are sent before completing");
        let retried = Handled::combine(vec![deferral("a"), Handled::failed(&id("b"), "x".into(), Settle::Abandon)]).unwrap();
        assert_eq!((retried.outcome, retried.settle), (MessageOutcome::Failed, Settle::Abandon));
    }

    #[test]
    fn outcomes_serialize_as_documented() {
        for o in MessageOutcome::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), serde_json::json!(o.label()));
        }
    }

    #[test]
    fn rejected_is_parked_with_its_reason() {
        let h = Handled::rejected("bad json");
        assert_eq!(h.settle, Settle::Park("bad json".into()));
        assert_eq!(h.outcome, MessageOutcome::Rejected);
    }
}
