//! [`Trigger`]: what an event asks fleetgate to do, and the stable labels of why it asks nothing.

use std::fmt;

use crate::id::ResourceId;

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Reconcile this cluster (a create and an update look the same: upsert).
    ReconcileCluster {
        /// The cluster.
        cluster: ResourceId,
        /// Why.
        reason: ReconcileReason,
    },
    /// A role assignment was written on a registry: look it up, and if it is AcrPull for a kubelet
    /// identity, reconcile the cluster(s) that identity belongs to.
    RoleAssignmentWritten {
        /// The role assignment (`{registry}/providers/Microsoft.Authorization/roleAssignments/{name}`).
        assignment: ResourceId,
        /// The registry it is scoped to.
        registry: ResourceId,
    },
    /// A cluster was deleted (the worker acts only when `gating.gc_on_delete` is set).
    ClusterDeleted {
        /// The deleted cluster.
        cluster: ResourceId,
    },
    /// Nothing to do.
    Ignored {
        /// Why.
        reason: IgnoreReason,
    },
    /// The event is about something fleetgate handles but is malformed or inconsistent: park it.
    Rejected {
        /// What is wrong, for the poison queue and the logs.
        reason: String,
    },
}

impl Trigger {
    /// A stable snake_case label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ReconcileCluster { .. } => "reconcile_cluster",
            Self::RoleAssignmentWritten { .. } => "role_assignment_written",
            Self::ClusterDeleted { .. } => "cluster_deleted",
            Self::Ignored { .. } => "ignored",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// Why a cluster is reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconcileReason {
    /// A `managedClusters/write` succeeded.
    ClusterWrite,
    /// fleetgate's own `io.fleetgate.reconcile` command.
    Command,
}

impl ReconcileReason {
    /// A stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClusterWrite => "cluster_write",
            Self::Command => "command",
        }
    }
}

impl fmt::Display for ReconcileReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why an event needs no work. [`Display`](fmt::Display) and [`serde::Serialize`] give the stable label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IgnoreReason {
    /// The resource's subscription is not in `scope.subscriptions`.
    OutOfScope,
    /// Not a resource write/delete event nor a fleetgate command (AKS system events, storage events, …).
    UnsupportedEventType,
    /// A `Microsoft.Resources` failure or cancel event.
    OperationNotSucceeded,
    /// A successful write of something other than a cluster or a role assignment.
    NotAClusterWrite,
    /// A successful delete of something other than a cluster.
    NotAClusterDelete,
    /// The operation names managed clusters but the ID is not exactly a cluster (e.g. an agent pool).
    NotAManagedCluster,
    /// The operation names role assignments but the ID is not a role assignment.
    NotARoleAssignment,
    /// A role assignment whose scope is not a container registry.
    NotARegistryScope,
}

impl IgnoreReason {
    /// Every reason, for exhaustive tests and metric registration.
    pub const ALL: [IgnoreReason; 8] = [
        Self::OutOfScope,
        Self::UnsupportedEventType,
        Self::OperationNotSucceeded,
        Self::NotAClusterWrite,
        Self::NotAClusterDelete,
        Self::NotAManagedCluster,
        Self::NotARoleAssignment,
        Self::NotARegistryScope,
    ];

    /// The stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            Self::OutOfScope => "out_of_scope",
            Self::UnsupportedEventType => "unsupported_event_type",
            Self::OperationNotSucceeded => "operation_not_succeeded",
            Self::NotAClusterWrite => "not_a_cluster_write",
            Self::NotAClusterDelete => "not_a_cluster_delete",
            Self::NotAManagedCluster => "not_a_managed_cluster",
            Self::NotARoleAssignment => "not_a_role_assignment",
            Self::NotARegistryScope => "not_a_registry_scope",
        }
    }

    /// A sentence for humans.
    pub fn description(self) -> &'static str {
        match self {
            Self::OutOfScope => "the resource's subscription is not in scope.subscriptions",
            Self::UnsupportedEventType => "event type is not one fleetgate acts on",
            Self::OperationNotSucceeded => "the operation failed or was cancelled",
            Self::NotAClusterWrite => "a write of something other than a managed cluster or a role assignment",
            Self::NotAClusterDelete => "a delete of something other than a managed cluster",
            Self::NotAManagedCluster => "the resource is not a managed cluster (e.g. an agent pool)",
            Self::NotARoleAssignment => "the resource is not a role assignment",
            Self::NotARegistryScope => "the role assignment is not scoped to a container registry",
        }
    }
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl serde::Serialize for IgnoreReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}
