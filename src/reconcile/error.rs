//! [`ReconcileError`]: why a reconcile failed, on which resource, what to do, and whether a later retry
//! can help (the worker abandons transient failures and parks permanent ones).

use crate::arm::{ArmError, Disposition};
use crate::core::model::ModelError;
use crate::id::{IdError, ResourceId};

use super::Pending;

// Cluster IDs are kept as display strings: a ResourceId would make every Result in the engine large.

/// A reconcile failure.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// An ARM call failed (its message names the call, the status and what to do).
    #[error(transparent)]
    Arm(#[from] ArmError),
    /// ARM returned a document fleetgate cannot read.
    #[error("{resource}: unexpected ARM document: {source}; check azure.api_versions and report this document shape")]
    Model {
        /// The resource read.
        resource: String,
        /// What was wrong.
        source: Box<ModelError>,
    },
    /// A resource ID could not be built.
    #[error("cannot build the {what} resource ID: {source}")]
    InvalidId {
        /// Which ID.
        what: &'static str,
        /// Why.
        source: Box<IdError>,
    },
    /// A read that precedes a write found the cluster carrying the opt-out tag: fleetgate stops there
    /// (reported `excluded`, not as a failure).
    #[error("{cluster}: the cluster now carries the opt-out tag {tag}; fleetgate stopped before writing it")]
    OptedOut {
        /// The cluster.
        cluster: String,
        /// The tag (`scope.exclude_tag`).
        tag: String,
    },
    /// The fresh read before the cluster PUT shows a change to something the plan was made from:
    /// observe and plan again instead of writing.
    #[error("{cluster}: {what} since it was planned; fleetgate plans it again")]
    ClusterChanged {
        /// The cluster.
        cluster: String,
        /// What changed.
        what: &'static str,
    },
    /// ARM answered a read of one cluster with the document of another resource.
    #[error(
        "{cluster}: ARM answered with the document of {got}; fleetgate writes nothing based on it — report this answer (check azure.resource_manager_endpoint)"
    )]
    ForeignDocument {
        /// The cluster asked for.
        cluster: String,
        /// The `id` in the answer.
        got: String,
    },
    /// An action needed the gating identity before it existed.
    #[error("{action} on {resource}: the gating identity is not known yet; this is a planning bug, please report it")]
    MissingIdentity {
        /// The action.
        action: &'static str,
        /// Its resource.
        resource: String,
    },
    /// The cluster stayed in a transitional state.
    #[error("{cluster}: an AKS operation is still in progress (provisioningState {state}); fleetgate will retry later")]
    ClusterBusy {
        /// The cluster.
        cluster: String,
        /// Its provisioning state.
        state: String,
    },
    /// The cluster was deleted while being reconciled.
    #[error("{cluster}: the managed cluster disappeared during the reconcile")]
    ClusterGone {
        /// The cluster.
        cluster: String,
    },
    /// `gating.manage_defender_plan = "extensions"` and the plan read just before writing is off (Free):
    /// the planner's `defender_plan_off` blocker, seen late (the plan changed since it was observed).
    #[error(
        "{pricing}: the Defender for Containers plan is off (Free) and gating.manage_defender_plan = \"extensions\" never switches it on (that starts billing); turn it on (`az security pricing create -n Containers --tier standard --subscription {subscription}`) or set gating.manage_defender_plan = \"full\", then run again"
    )]
    DefenderPlanOff {
        /// The pricing resource.
        pricing: String,
        /// Its subscription.
        subscription: String,
    },
    /// Deferring engines only ([`Engine::deferring`](super::Engine::deferring)): an AKS operation is
    /// running on the cluster, so the reconcile stops here instead of waiting on Azure's clock. Not a
    /// failure: the caller re-checks later (the worker schedules a reconcile command).
    #[error("{}: an AKS operation is in progress (provisioningState {}); re-check later", .0.cluster, .0.state)]
    Deferred(Box<Pending>),
    /// The plan kept coming back non-empty.
    #[error(
        "{cluster}: still not compliant after {rounds} observe/apply rounds (remaining: {remaining}); something else keeps changing it — check the activity log"
    )]
    NotConverging {
        /// The cluster.
        cluster: String,
        /// Rounds made.
        rounds: usize,
        /// Actions still planned.
        remaining: String,
    },
}

impl ReconcileError {
    pub(super) fn model(resource: &ResourceId, source: ModelError) -> Self {
        Self::Model { resource: resource.to_string(), source: Box::new(source) }
    }

    /// The ARM disposition, for ARM errors.
    pub fn disposition(&self) -> Option<Disposition> {
        match self {
            Self::Arm(e) => Some(e.disposition()),
            _ => None,
        }
    }

    /// True for 412 / 409-operation-in-progress / a cluster changed since planned: observe and plan again.
    pub fn needs_replan(&self) -> bool {
        matches!(self, Self::ClusterChanged { .. })
            || matches!(self.disposition(), Some(Disposition::Replan | Disposition::WaitForTerminalState))
    }

    /// The pending operation when a deferring engine stopped to wait for Azure.
    pub fn pending(&self) -> Option<&Pending> {
        match self {
            Self::Deferred(p) => Some(p),
            _ => None,
        }
    }

    /// True when the cluster was found opted out: the reconcile ends `excluded`, not failed.
    pub fn is_opt_out(&self) -> bool {
        matches!(self, Self::OptedOut { .. })
    }

    /// True when retrying later may succeed (the worker abandons the message instead of parking it).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Arm(e) => e.disposition() != Disposition::Fatal,
            Self::ClusterBusy { .. } | Self::NotConverging { .. } | Self::ClusterChanged { .. } | Self::Deferred(_) => true,
            _ => false,
        }
    }

    /// HTTP attempts behind this error, for the report.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Arm(e) => e.attempts(),
            _ => 1,
        }
    }

    /// A short stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Arm(e) => e.metric_label(),
            Self::Model { .. } => "model",
            Self::InvalidId { .. } => "invalid_id",
            Self::OptedOut { .. } => "opted_out",
            Self::ClusterChanged { .. } => "cluster_changed",
            Self::ForeignDocument { .. } => "foreign_document",
            Self::MissingIdentity { .. } => "missing_identity",
            Self::ClusterBusy { .. } => "cluster_busy",
            Self::ClusterGone { .. } => "cluster_gone",
            Self::NotConverging { .. } => "not_converging",
            Self::DefenderPlanOff { .. } => "defender_plan_off",
            Self::Deferred(_) => "deferred",
        }
    }
}
