//! Dispatch: one message body → decode → trigger → the engine → an outcome, and what the worker must do
//! with the message (complete, abandon for redelivery, or park in the poison queue).
//!
//! Never trusts the payload beyond the resource ID it names: a role-assignment event is resolved by
//! reading the assignment from ARM, a delete is confirmed by a 404, and clusters are found by their
//! kubelet identity through Resource Graph.
//!
//! A cluster-write event for a cluster found compliant moments ago may be answered from the
//! unchanged-cluster memo with one cluster GET (see `memo`); everything else is observed fully.
//!
//! With a deferring engine (the Service Bus worker) a reconcile that stopped on a running AKS operation
//! is answered `deferred` with a scheduled re-check to send before completing (see `deferral`).

mod deferral;
mod gc;
mod memo;
mod outcome;
mod registry;

use std::sync::Arc;

use crate::config::Settings;
use crate::core::ApplyStatus;
use crate::events::{self, ReconcileReason, Trigger};
use crate::id::ResourceId;
use crate::reconcile::{Engine, KeyedLocks};
use deferral::Chain;

pub use memo::MEMO_CAPACITY;
use memo::SharedMemo;
pub use outcome::{Handled, MessageOutcome, Settle};

/// Turns messages into reconciles. Cheap to clone; shares the per-cluster locks and the memo.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    engine: Engine,
    settings: Arc<Settings>,
    cluster_locks: KeyedLocks,
    memo: Arc<SharedMemo>,
}

impl Dispatcher {
    /// A dispatcher over `engine`.
    pub fn new(engine: Engine, settings: Arc<Settings>) -> Self {
        let memo = Arc::new(SharedMemo::from_settings(&settings));
        Self { engine, settings, cluster_locks: KeyedLocks::new(), memo }
    }

    /// The engine (for statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Decodes and classifies a body without any IO; a body that does not decode is `Rejected`.
    pub fn triage(&self, body: &[u8]) -> Trigger {
        match events::decode(body) {
            Ok(event) => events::classify(&event, &self.settings.scope),
            Err(e) => Trigger::Rejected { reason: format!("{} ({})", e, e.label()) },
        }
    }

    /// Handles one message body end to end.
    pub async fn handle(&self, body: &[u8]) -> Handled {
        let (trigger, chain) = match events::decode(body) {
            Ok(event) => {
                let trigger = events::classify(&event, &self.settings.scope);
                let command = matches!(trigger, Trigger::ReconcileCluster { reason: ReconcileReason::Command, .. });
                let prior = if command && self.engine.is_deferring() { crate::defer::read_state(body) } else { None };
                (trigger, Chain { event_id: event.id, prior })
            }
            Err(e) => (Trigger::Rejected { reason: format!("{} ({})", e, e.label()) }, Chain::fresh()),
        };
        self.run(trigger, &chain).await
    }

    /// Acts on a classified trigger.
    pub async fn run_trigger(&self, trigger: Trigger) -> Handled {
        self.run(trigger, &Chain::fresh()).await
    }

    async fn run(&self, trigger: Trigger, chain: &Chain) -> Handled {
        match trigger {
            Trigger::ReconcileCluster { cluster, reason: ReconcileReason::ClusterWrite } => self.cluster_written_in(&cluster, chain).await,
            Trigger::ReconcileCluster { cluster, reason: ReconcileReason::Command } => self.reconcile_in(&cluster, chain).await,
            Trigger::RoleAssignmentWritten { assignment, registry } => self.registry_attached(&assignment, &registry, chain).await,
            Trigger::ClusterDeleted { cluster } => self.cluster_deleted(&cluster).await,
            Trigger::Ignored { reason } => Handled::ignored(None, reason.label()),
            Trigger::Rejected { reason } => Handled::rejected(reason),
        }
    }

    /// A cluster-write event: answered from the memo when the cluster is unchanged since a full check
    /// found it compliant, otherwise reconciled fully.
    pub async fn cluster_written(&self, cluster: &ResourceId) -> Handled {
        self.cluster_written_in(cluster, &Chain::fresh()).await
    }

    async fn cluster_written_in(&self, cluster: &ResourceId, chain: &Chain) -> Handled {
        let _guard = self.cluster_locks.lock(cluster.key()).await;
        if let Some(handled) = self.confirm_unchanged(cluster).await {
            return handled;
        }
        self.reconcile_locked(cluster, chain).await
    }

    /// Converges one cluster with a full observation (never the memo); never two at once for the same
    /// cluster (a second event waits and then finds the cluster compliant, so duplicates cost reads,
    /// not writes).
    pub async fn reconcile(&self, cluster: &ResourceId) -> Handled {
        self.reconcile_in(cluster, &Chain::fresh()).await
    }

    async fn reconcile_in(&self, cluster: &ResourceId, chain: &Chain) -> Handled {
        let _guard = self.cluster_locks.lock(cluster.key()).await;
        self.reconcile_locked(cluster, chain).await
    }

    /// [`Dispatcher::reconcile`] with the cluster's lock held; a due re-check of fleetgate's own cluster
    /// PUT polls its operation first.
    async fn reconcile_locked(&self, cluster: &ResourceId, chain: &Chain) -> Handled {
        self.forget(cluster);
        if let Some(handled) = self.resume_operation(cluster, chain).await {
            return handled;
        }
        let applied = self.engine.apply(cluster).await;
        if let Some(pending) = applied.pending {
            return self.defer(cluster, chain, pending);
        }
        self.remember(cluster, &applied);
        let report = &applied.report;
        let wrote = report.actions.iter().any(|a| a.outcome == crate::core::Outcome::Applied) || chain.resumes_operation();
        let first_blocker = report.blockers.first().map(|b| format!("{}: {}", b.code.as_str(), b.message));
        match (report.status, &applied.error) {
            (ApplyStatus::Converged, _) if wrote => Handled::done(MessageOutcome::Converged, cluster, None),
            (ApplyStatus::Converged, _) => Handled::done(MessageOutcome::Compliant, cluster, None),
            (ApplyStatus::Blocked, _) => Handled::done(MessageOutcome::Blocked, cluster, first_blocker),
            (ApplyStatus::Excluded, _) => Handled::done(MessageOutcome::Excluded, cluster, Some("excluded by tag".into())),
            (ApplyStatus::Failed, Some(e)) => Handled::reconcile_failed(cluster, e),
            (ApplyStatus::Failed, None) => {
                let reason = report.error.clone().unwrap_or_else(|| "failed".into());
                Handled::failed(cluster, reason.clone(), Settle::Park(reason))
            }
        }
    }
}
