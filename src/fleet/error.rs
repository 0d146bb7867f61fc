//! [`FleetError`]: what stopped a fleet-wide command, on which resource, and what to do.

use crate::arm::ArmError;
use crate::queue::QueueError;

/// A fleet command that could not run (or could not finish).
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// `scope.subscriptions` is empty.
    #[error(
        "scope.subscriptions is empty, so no subscription is in scope; set it in the config file or with FLEETGATE__SCOPE__SUBSCRIPTIONS (comma-separated subscription IDs)"
    )]
    NoScope,
    /// A `--subscription` argument is not a subscription ID.
    #[error("--subscription {0:?} is not a subscription ID; pass a GUID such as 00000000-0000-0000-0000-000000000000")]
    InvalidSubscription(String),
    /// A `--subscription` argument is outside `scope.subscriptions`.
    #[error(
        "--subscription {0} is not in scope.subscriptions, and fleetgate never reads outside it; add it to scope.subscriptions (FLEETGATE__SCOPE__SUBSCRIPTIONS) or drop the flag"
    )]
    SubscriptionOutOfScope(String),
    /// A `--management-group` argument is empty or malformed.
    #[error(
        "--management-group {0:?} is not a management group ID; pass the group's ID (its name, e.g. `mg-platform`), not its display name"
    )]
    InvalidManagementGroup(String),
    /// A Resource Graph query failed.
    #[error("Resource Graph query for {what} failed: {error}. {hint}")]
    Graph {
        /// What was being queried.
        what: &'static str,
        /// What to do about it.
        hint: String,
        /// The ARM error (in the message, not repeated as a source).
        error: Box<ArmError>,
    },
    /// A per-subscription or per-identity read of the bulk observation failed.
    #[error("bulk observation: reading {what} failed: {error}")]
    Read {
        /// What was read (`the Containers pricing of subscription …`).
        what: String,
        /// The ARM error (in the message, not repeated as a source).
        error: Box<ArmError>,
    },
    /// A document read in bulk does not have the expected shape.
    #[error("bulk observation: {what} has an unexpected shape: {message}")]
    Shape {
        /// What was read.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// The queue could not be opened or a send failed.
    #[error("{0}")]
    Queue(Box<QueueError>),
    /// A batch send failed part-way through an enqueue run.
    #[error(
        "{error}; {sent} of {total} reconcile commands were sent before the failure. Run the same backfill again with --run-id {run_id}: the queue drops the commands already sent (within its duplicate-detection window)"
    )]
    Enqueue {
        /// Commands sent before the failure.
        sent: usize,
        /// Commands to send.
        total: usize,
        /// The run ID to repeat.
        run_id: String,
        /// The queue error.
        error: Box<QueueError>,
    },
    /// `[queue]` settings cannot be used for sending.
    #[error("queue settings: {0}")]
    QueueSettings(String),
}

impl From<QueueError> for FleetError {
    fn from(e: QueueError) -> Self {
        Self::Queue(Box::new(e))
    }
}

impl FleetError {
    /// True when the command line or configuration is at fault (exit code 2), not Azure.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::NoScope
                | Self::InvalidSubscription(_)
                | Self::SubscriptionOutOfScope(_)
                | Self::InvalidManagementGroup(_)
                | Self::QueueSettings(_)
        )
    }

    /// A Graph failure, with advice that depends on whether management groups were queried.
    pub(crate) fn graph(what: &'static str, management_groups: bool, source: ArmError) -> Self {
        let hint = if management_groups && source.status() == Some(400) {
            "The query named management groups (--management-group); check their IDs and that the identity can read them (Reader on each group). The embedded simulator does not support management groups: use --subscription there".to_string()
        } else {
            "Check that the identity has Reader on the subscriptions in scope and that azure.api_versions.resource_graph is valid"
                .to_string()
        };
        Self::Graph { what, hint, error: Box::new(source) }
    }
}
